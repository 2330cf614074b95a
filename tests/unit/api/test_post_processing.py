"""``/api/post-processing``: who may read and write shared definitions, their masked secrets, deletes refused in use.

The users are SimpleAuthManager's real roles: ``viewer`` may read DAGs, ``user`` may also edit them;
``alice`` is a user whose rights the auth manager narrows to one group's job, as a group's role has.
"""

from __future__ import annotations

import json
import re

import pytest
from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.models.log import Log
from airflow.utils.session import create_session
from fastapi.testclient import TestClient
from http_trigger.jobs_service import JobDetails
from sqlalchemy import select

from ..api_support import bearer, parse_jobs_into_db
from ..api_support import create as create_job
from ..jobs_support import EC2, job_body

SLACK_URL = "https://hooks.slack.com/services/T0/B0/slack-secret-1"
HOOK = {"name": "team-hook", "type": "webhook", "parameters": {"url": "https://hooks.example.com/ops", "authorization": "CAAuth token-1"}}
MASKED = "••••[0-9a-f]{8}"
FORBIDDEN = (403, {"detail": "You are not allowed to do this"})


def create(client: TestClient, body: dict = HOOK, role: str = "user") -> dict:
    response = client.post("/api/post-processing", json=body, headers=bearer(role))
    assert response.status_code == 201, response.text
    return response.json()


def create_job_using(client: TestClient, name: str, ref: str = "team-hook") -> dict:
    body = {"name": name, "action": EC2, "post_processing": {"on_failure": [{"ref": ref}]}}
    response = client.post("/api/jobs", json=body, headers=bearer("user"))
    assert response.status_code == 201, response.text
    return response.json()


def assert_every_write_refused(client: TestClient, headers: dict[str, str]) -> None:
    for method, path in (
        ("POST", "/api/post-processing"),
        ("PUT", "/api/post-processing/team-hook"),
        ("DELETE", "/api/post-processing/team-hook"),
    ):
        response = client.request(method, path, json=HOOK, headers=headers)
        assert (response.status_code, response.json()) == FORBIDDEN, (method, path)


class TestAccess:
    def test_without_login_every_route_answers_401(self, client):
        for method, path in (
            ("GET", "/api/post-processing"),
            ("POST", "/api/post-processing"),
            ("GET", "/api/post-processing/team-hook"),
            ("PUT", "/api/post-processing/team-hook"),
            ("DELETE", "/api/post-processing/team-hook"),
        ):
            assert client.request(method, path, json=HOOK).status_code == 401, (method, path)

    def test_a_viewer_reads_but_may_not_write(self, client):
        create(client)
        viewer = bearer("viewer")

        assert client.get("/api/post-processing", headers=viewer).json()["definitions"][0]["can_edit"] is False
        assert client.get("/api/post-processing/team-hook", headers=viewer).status_code == 200
        assert_every_write_refused(client, viewer)

    def test_an_unknown_definition_is_404_and_a_bad_name_422(self, client):
        response = client.get("/api/post-processing/nowhere", headers=bearer("viewer"))
        assert (response.status_code, response.json()) == (
            404, {"detail": "Post-processing definition 'nowhere' does not exist"}
        )
        assert client.get("/api/post-processing/Not_A_Slug", headers=bearer("viewer")).status_code == 422


def headers_of(user: SimpleAuthManagerUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {get_auth_manager().generate_jwt(user)}"}


@pytest.fixture
def group_jobs(client) -> dict[str, JobDetails]:
    """A job of group-a and one of group-b, both using the definition, with their DAGs in Airflow."""
    create(client)
    using = {"on_failure": [{"ref": "team-hook"}]}
    jobs = {
        group: create_job(job_body(f"{group} job", group=group, post_processing=using), parse=False)
        for group in ("group-a", "group-b")
    }
    parse_jobs_into_db()
    return jobs


@pytest.fixture
def alice(group_jobs, monkeypatch) -> dict[str, str]:
    """The headers of a user who may read and edit group-a's job and no other, as a group's role does.

    SimpleAuthManager has no per-DAG rights, so its answers are narrowed to that DAG, as those of an
    auth manager whose rules name DAGs one by one: asked about no DAG in particular, it says no
    (the FAB auth manager, which says whether the user may read some DAG, is checked end to end).
    """
    auth_manager = get_auth_manager()
    may = auth_manager.is_authorized_dag
    own = group_jobs["group-a"].job.dag_id

    def is_authorized_dag(*, user, details=None, **kwargs) -> bool:
        if user.get_name() != "alice":
            return may(user=user, details=details, **kwargs)
        return details is not None and details.id == own

    monkeypatch.setattr(auth_manager, "is_authorized_dag", is_authorized_dag)
    return headers_of(SimpleAuthManagerUser(username="alice", role="user"))


class TestGroupAccess:
    def test_a_group_user_reads_every_definition_masked_with_only_the_jobs_they_may_read(
        self, client, group_jobs, alice
    ):
        own = group_jobs["group-a"].job

        listed = client.get("/api/post-processing", headers=alice)
        shown = client.get("/api/post-processing/team-hook", headers=alice)

        assert listed.status_code == 200, listed.text
        [definition] = listed.json()["definitions"]
        assert shown.json() == definition
        assert definition["used_by"] == [{"id": own.id, "name": "group-a job"}]
        assert (definition["can_edit"], definition["masked_fields"]) == (False, ["parameters.authorization"])
        assert "token-1" not in listed.text
        everyone = client.get("/api/post-processing/team-hook", headers=bearer("viewer")).json()["used_by"]
        assert [job["id"] for job in everyone] == [job.job.id for job in group_jobs.values()]

    def test_a_group_user_may_not_write_definitions(self, client, alice):
        assert_every_write_refused(client, alice)

    def test_a_group_user_makes_the_groups_job_use_a_definition(self, client, group_jobs, alice):
        job = group_jobs["group-a"].job
        using = {"on_success": [{"ref": "team-hook"}]}
        body = {"name": job.name, "group": job.group, "action": EC2, "post_processing": using}

        response = client.put(f"/api/jobs/{job.id}", json=body, headers=alice)

        assert response.status_code == 200, response.text
        assert response.json()["post_processing"]["on_success"] == [{"ref": "team-hook"}]

    def test_a_user_who_may_neither_read_every_job_nor_change_one_is_refused(self, client, group_jobs):
        nobody = headers_of(SimpleAuthManagerUser(username="nobody", role=None))

        for path in ("/api/post-processing", "/api/post-processing/team-hook"):
            response = client.get(path, headers=nobody)
            assert (response.status_code, response.json()) == FORBIDDEN, path


class TestSecrets:
    @pytest.mark.parametrize("role", ["viewer", "user"])
    def test_secrets_read_masked_for_every_reader(self, client, role):
        create(client, {"name": "team-slack", "type": "slack", "parameters": {"webhook_url": SLACK_URL}})
        create(client)

        listed = client.get("/api/post-processing", headers=bearer(role)).json()["definitions"]

        assert "slack-secret-1" not in json.dumps(listed) and "token-1" not in json.dumps(listed)
        by_name = {definition["name"]: definition for definition in listed}
        assert re.fullmatch(f"https://hooks.slack.com/{MASKED}", by_name["team-slack"]["parameters"]["webhook_url"])
        assert re.fullmatch(MASKED, by_name["team-hook"]["parameters"]["authorization"])
        assert by_name["team-hook"]["masked_fields"] == ["parameters.authorization"]

    def test_the_answer_to_a_create_is_masked_too(self, client):
        created = create(client)

        assert "token-1" not in json.dumps(created)

    def test_an_update_sending_a_masked_value_back_keeps_the_secret(self, client, jobs_folder):
        created = create(client)
        body = {"type": "webhook", "parameters": {**created["parameters"], "timeout_seconds": 5}}

        response = client.put("/api/post-processing/team-hook", json=body, headers={**bearer("user"), "If-Match": created["version"]})

        assert response.status_code == 200, response.text
        stored = (jobs_folder / "post_processing" / "team-hook.yaml").read_text()
        assert "authorization: CAAuth token-1" in stored and "timeout_seconds: 5" in stored


class TestWrites:
    def test_create_update_delete(self, client, jobs_folder):
        created = create(client)
        assert (created["name"], created["type"], created["retries"], created["used_by"]) == ("team-hook", "webhook", 2, [])
        assert create_conflict(client).json() == {"detail": "Post-processing definition 'team-hook' already exists"}

        stale = client.put(
            "/api/post-processing/team-hook",
            json={"type": "webhook", "parameters": {"url": "https://hooks.example.com/v2"}},
            headers={**bearer("user"), "If-Match": "0000000000000000"},
        )
        assert stale.status_code == 409

        deleted = client.delete("/api/post-processing/team-hook", headers=bearer("user"))
        assert deleted.status_code == 204
        assert client.get("/api/post-processing/team-hook", headers=bearer("user")).status_code == 404
        with create_session(scoped=False) as session:
            events = [
                json.loads(row.extra)["channel"]
                for row in session.scalars(select(Log).where(Log.event == "http_trigger.post_processing.delete"))
            ]
        assert "api" in events

    def test_a_definition_in_use_is_not_deleted_and_the_answer_names_the_jobs(self, client):
        create(client)
        first = create_job_using(client, "Nightly stop")
        second = create_job_using(client, "Morning start")

        response = client.delete("/api/post-processing/team-hook", headers=bearer("user"))

        message = (
            f"Post-processing definition 'team-hook' is used by jobs {first['id']} (Nightly stop), "
            f"{second['id']} (Morning start); remove it from them first"
        )
        assert response.status_code == 409
        assert response.json() == {
            "message": message,
            "detail": message,
            "jobs": [{"id": first["id"], "name": "Nightly stop"}, {"id": second["id"], "name": "Morning start"}],
        }
        shown = client.get("/api/post-processing/team-hook", headers=bearer("viewer")).json()
        assert shown["used_by"] == [{"id": first["id"], "name": "Nightly stop"}, {"id": second["id"], "name": "Morning start"}]

    def test_a_job_referencing_no_definition_is_refused(self, client):
        body = {"name": "x", "action": EC2, "post_processing": {"on_failure": [{"ref": "nowhere"}]}}

        response = client.post("/api/jobs", json=body, headers=bearer("user"))

        assert (response.status_code, response.json()) == (
            422,
            {"detail": "new job: post_processing.on_failure.0.ref: Post-processing definition 'nowhere' does not exist"},
        )

    def test_a_broken_definition_file_is_listed_as_such(self, client, jobs_folder):
        create(client)
        (jobs_folder / "post_processing" / "broken.yaml").write_text("name: broken\ntype: carrier-pigeon\n")

        listed = client.get("/api/post-processing", headers=bearer("viewer")).json()

        assert [definition["name"] for definition in listed["definitions"]] == ["team-hook"]
        [error] = listed["spec_errors"]
        assert error["file"] == "post_processing/broken.yaml"
        assert error["problems"] == [
            {"field": "(spec)", "reason": "unknown post-processing type 'carrier-pigeon'; known types: email, slack, sns, sqs, webhook"}
        ]


def create_conflict(client: TestClient):
    response = client.post("/api/post-processing", json=HOOK, headers=bearer("user"))
    assert response.status_code == 409
    return response
