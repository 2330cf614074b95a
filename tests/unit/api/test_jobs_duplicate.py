"""``POST /api/jobs/{id}/duplicate``: a new job with the definition of another, its own URL and token.

The users are SimpleAuthManager's real roles: ``viewer`` may read DAGs, ``user`` may also edit
them, and so create jobs, ``admin`` may do anything.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.models.log import Log
from airflow.utils.session import create_session
from fastapi.testclient import TestClient
from http_trigger.jobs.audit import JobEvent
from http_trigger.jobs.files import spec_path
from sqlalchemy import select

from ..api_support import bearer, parse_jobs_into_db
from ..jobs_support import EC2, visible_files

POST_PROCESSING = {
    "on_failure": [
        {"type": "webhook", "parameters": {"url": "https://ops.example.com/in", "authorization": "Bearer copy-1"}}
    ]
}
BODY = {
    "name": "Start test EC2",
    "group": "ops",
    "description": "Weekday mornings",
    "schedule": "0 9 * * 1-5",
    "tags": ["team:ops"],
    "action": EC2,
    "post_processing": POST_PROCESSING,
    "trigger": {"rate_limit": "10/minute", "allowed_sources": ["10.0.0.0/8"]},
}
# What the copy has of its original: everything its author wrote but the name and the switch.
COPIED = ("group", "description", "schedule", "tags", "action", "trigger")
FORBIDDEN = {"detail": "You are not allowed to do this"}


@pytest.fixture
def client(client: TestClient) -> TestClient:
    """The app of ``conftest.py``, called by the admin, logged in."""
    client.headers.update(bearer("admin"))
    return client


@pytest.fixture
def original(client: TestClient) -> dict[str, Any]:
    response = client.post("/api/jobs", json=BODY)
    assert response.status_code == 201, response.text
    return response.json()


def create_entries(dag_id: str) -> list[Log]:
    with create_session() as session:
        return list(session.scalars(select(Log).where(Log.event == JobEvent.CREATE, Log.dag_id == dag_id)))


def revealed(client: TestClient, job_id: int) -> dict[str, Any]:
    return client.post(f"/api/jobs/{job_id}/secrets/reveal").json()


class TestDuplicate:
    def test_the_copy_is_a_new_job_with_the_same_definition(self, client, original):
        response = client.post(f"/api/jobs/{original['id']}/duplicate")

        assert response.status_code == 201, response.text
        copy = response.json()
        assert copy["id"] != original["id"] and copy["dag_id"] == f"http_trigger_job_{copy['id']}"
        assert (copy["name"], copy["enabled"]) == ("Start test EC2 (copy)", False)
        assert {key: copy[key] for key in COPIED} == {key: original[key] for key in COPIED}
        shown = client.get(f"/api/jobs/{copy['id']}").json()
        assert {key: shown[key] for key in (*COPIED, "name")} == {key: copy[key] for key in (*COPIED, "name")}
        secret = "post_processing.on_failure.0.parameters.authorization"
        assert [field for field in revealed(client, copy["id"])["fields"] if field["field"] == secret] == [
            {"field": secret, "value": "Bearer copy-1"}
        ]

    def test_the_copy_has_its_own_url_token_and_signing_secret(self, client, original):
        copy = client.post(f"/api/jobs/{original['id']}/duplicate").json()

        # Issued in clear to the one who copied, as to a creator; never the original's.
        assert "••••" not in copy["token"] + copy["trigger_url"] + copy["signing_secret"]
        for key in ("token", "trigger_url", "signing_secret", "curl"):
            assert copy[key] != original[key], key
        assert revealed(client, original["id"])["token"] == original["token"]  # the original keeps its own

    def test_the_copys_url_takes_its_token_only(self, client):
        open_to_all = {key: value for key, value in BODY.items() if key != "trigger"}
        original = client.post("/api/jobs", json=open_to_all).json()
        copy = client.post(f"/api/jobs/{original['id']}/duplicate", json={"enabled": True}).json()
        parse_jobs_into_db()

        url = f"/trigger/{copy['trigger_url'].rsplit('/', 1)[1]}"
        own = client.post(url, headers={"Authorization": f"CAAuth {copy['token']}"})
        other = client.post(url, headers={"Authorization": f"CAAuth {original['token']}"})

        assert (own.status_code, own.json()["trigger_job_id"]) == (200, copy["id"])
        assert other.status_code == 404

    def test_a_name_and_enabled_may_be_given(self, client, original):
        response = client.post(f"/api/jobs/{original['id']}/duplicate", json={"name": "  Evening copy ", "enabled": True})

        assert response.status_code == 201, response.text
        assert (response.json()["name"], response.json()["enabled"]) == ("Evening copy", True)

    def test_the_default_name_keeps_to_the_length_limit(self, client):
        long = client.post("/api/jobs", json={**BODY, "name": "n" * 200}).json()

        copy = client.post(f"/api/jobs/{long['id']}/duplicate").json()

        assert copy["name"] == "n" * 193 + " (copy)"

    @pytest.mark.parametrize(
        ("body", "problem"),
        [
            (
                {"name": ""},
                {"loc": ["body", "name"], "msg": "String should have at least 1 character", "type": "string_too_short"},
            ),
            (
                {"name": "n" * 201},
                {"loc": ["body", "name"], "msg": "String should have at most 200 characters", "type": "string_too_long"},
            ),
            (
                {"group": "other"},
                {"loc": ["body", "group"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"},
            ),
            (
                {"enabled": "yes"},
                {"loc": ["body", "enabled"], "msg": "Input should be a valid boolean", "type": "bool_type"},
            ),
        ],
    )
    def test_a_wrong_body_is_refused_and_nothing_is_created(self, client, original, jobs_folder, body, problem):
        response = client.post(f"/api/jobs/{original['id']}/duplicate", json=body)

        assert response.status_code == 422
        assert response.json()["detail"] == [problem]
        assert visible_files(jobs_folder) == [f"job_{original['id']}.yaml"]

    def test_a_name_the_job_model_refuses_is_named(self, client, original):
        response = client.post(f"/api/jobs/{original['id']}/duplicate", json={"name": "a\u0000b"})

        assert response.status_code == 422
        assert response.json() == {
            "detail": f"copy of job {original['id']}: name: the NUL character (\\x00) is not allowed: "
            "Airflow's metadata database cannot store it"
        }

    def test_the_copy_is_audited_as_a_create_naming_its_original(self, client, original):
        copy = client.post(f"/api/jobs/{original['id']}/duplicate").json()

        [entry] = create_entries(copy["dag_id"])
        extra = json.loads(entry.extra)
        assert (entry.owner, extra["duplicated_from"], extra["job_id"], extra["channel"]) == (
            "admin", original["id"], copy["id"], "api"
        )
        audit = client.get(f"/api/jobs/{copy['id']}/audit").json()["entries"]
        assert [(item["event"], item["details"]) for item in audit] == [
            ("http_trigger.create", {"duplicated_from": original["id"]})
        ]
        assert len(create_entries(original["dag_id"])) == 1  # the original's own create, nothing more

    def test_a_user_who_may_create_jobs_may_copy(self, client, original):
        response = client.post(f"/api/jobs/{original['id']}/duplicate", headers=bearer("user"))

        assert response.status_code == 201, response.text
        [entry] = create_entries(response.json()["dag_id"])
        assert entry.owner == "user"

    def test_a_viewer_gets_403_and_nothing_is_created_or_audited(self, client, original, jobs_folder):
        response = client.post(f"/api/jobs/{original['id']}/duplicate", headers=bearer("viewer"))
        unknown = client.post("/api/jobs/999999/duplicate", headers=bearer("viewer"))

        assert (response.status_code, response.json()) == (403, FORBIDDEN)
        assert (unknown.status_code, unknown.json()) == (403, FORBIDDEN)  # refused before any lookup
        assert visible_files(jobs_folder) == [f"job_{original['id']}.yaml"]
        with create_session() as session:
            assert session.scalar(select(Log.id).where(Log.event == JobEvent.CREATE, Log.owner == "viewer")) is None

    def test_without_login_it_is_401(self, client, original):
        response = client.post(f"/api/jobs/{original['id']}/duplicate", headers={"Authorization": ""})

        assert response.status_code == 401

    def test_an_unknown_or_deleted_job_is_404(self, client, original):
        client.delete(f"/api/jobs/{original['id']}")

        for job_id in (999999, original["id"]):
            response = client.post(f"/api/jobs/{job_id}/duplicate")
            assert (response.status_code, response.json()) == (404, {"detail": f"Job {job_id} does not exist"})

    def test_a_job_whose_spec_does_not_load_is_409(self, client, original, jobs_folder):
        spec_path(jobs_folder, original["id"]).write_text("name: [unclosed\n")

        response = client.post(f"/api/jobs/{original['id']}/duplicate")

        assert response.status_code == 409
        assert response.json()["detail"].startswith(f"Job {original['id']} cannot run: its spec is invalid")
        assert visible_files(jobs_folder) == [f"job_{original['id']}.yaml"]

    def test_the_openapi_document_has_the_route_and_its_answers(self, client):
        operation = client.get("/openapi.json").json()["paths"]["/api/jobs/{job_id}/duplicate"]["post"]

        assert operation["operationId"] == "duplicate_job"
        assert {"201", "401", "403", "404", "409", "422", "503", "507"} <= set(operation["responses"])
        assert "update_job" in operation["responses"]["201"]["links"]
