"""A job's secrets through ``/api/jobs``: masked for every reader, revealed to editors only, and recorded.

The users are SimpleAuthManager's real roles: ``viewer`` may read DAGs, ``user`` may also edit
them (the least role that does), ``admin`` may do anything.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from airflow.models.log import Log
from airflow.utils.session import create_session
from fastapi.testclient import TestClient
from http_trigger.jobs.audit import JobEvent
from sqlalchemy import select

from ..api_support import bearer
from ..jobs_support import EC2


def webhook(url: str, authorization: str) -> dict[str, Any]:
    return {"type": "webhook", "parameters": {"url": url, "authorization": authorization}}


OTHER_TRIGGER_URL = "http://trigger.example:8080/http-trigger/trigger/other-url-id-1"
POST_PROCESSING = {
    "on_success": [
        webhook(OTHER_TRIGGER_URL, "CAAuth other-token-1"),
        {"type": "slack", "parameters": {"webhook_url": "https://hooks.slack.com/services/T0/B0/slack-secret-1"}},
        {"type": "webhook", "parameters": {"url": "https://ops:password-1@hooks.example.com/in?key=query-1"}},
        {"type": "webhook", "parameters": {"url": "https://hooks.example.com/plain"}},
    ],
    "on_failure": [webhook("https://alerts.example.com/x", "Bearer failure-1")],
}
SPEC_SECRETS = ("other-url-id-1", "other-token-1", "slack-secret-1", "password-1", "query-1", "failure-1")
MASKED = "••••[0-9a-f]{8}"
MASKED_FIELDS = [
    "trigger_url",
    "token",
    "signing_secret",
    "post_processing.on_success.0.parameters.url",
    "post_processing.on_success.0.parameters.authorization",
    "post_processing.on_success.1.parameters.webhook_url",
    "post_processing.on_success.2.parameters.url",
    "post_processing.on_failure.0.parameters.authorization",
]
# What a JobResponse has besides the body that created it.
RESPONSE_ONLY = {
    "id", "dag_id", "version", "is_paused", "trigger_url", "token", "signing_secret", "curl", "can_edit",
    "masked_fields", "previous_secret_valid_until", "last_run", "next_run_after",
}


@pytest.fixture
def job(client) -> dict[str, Any]:
    """A job with every kind of secret, as its creator got it: the trigger URL and token in clear."""
    body = {"name": "Chained", "action": EC2, "post_processing": POST_PROCESSING}
    response = client.post("/api/jobs", json=body, headers=bearer("admin"))
    assert response.status_code == 201, response.text
    return response.json()


def secrets_of(job: dict[str, Any]) -> tuple[str, ...]:
    """Every secret string of the job: its spec's, its token and its URL id."""
    return (*SPEC_SECRETS, job["token"], job["trigger_url"].rsplit("/", 1)[1])


def body_of(shown: dict[str, Any]) -> dict[str, Any]:
    """The job body of a shown job, to send back in an update."""
    return {key: value for key, value in shown.items() if key not in RESPONSE_ONLY}


def reveal_rows(dag_id: str) -> list[Log]:
    with create_session() as session:
        return list(session.scalars(select(Log).where(Log.event == JobEvent.REVEAL, Log.dag_id == dag_id)))


class TestReadersSeeSecretsMasked:
    @pytest.mark.parametrize(("role", "can_edit"), [("viewer", False), ("user", True), ("admin", True)])
    def test_get_and_list_show_that_each_secret_is_set_never_its_value(self, client, job, role, can_edit):
        shown = client.get(f"/api/jobs/{job['id']}", headers=bearer(role))
        listed = client.get("/api/jobs", headers=bearer(role))

        assert (shown.status_code, listed.status_code) == (200, 200)
        for raw in (shown.text, listed.text):
            assert [secret for secret in secrets_of(job) if secret in raw] == []
        data = shown.json()
        assert listed.json()["jobs"] == [{**data, "last_run": None, "next_run_after": None}]
        assert (data["can_edit"], data["masked_fields"]) == (can_edit, MASKED_FIELDS)
        assert (data["trigger_url"], data["token"], data["curl"]) == (
            "http://trigger.example:8080/http-trigger/trigger/••••", "••••", None
        )
        on_success, on_failure = data["post_processing"]["on_success"], data["post_processing"]["on_failure"]
        assert re.fullmatch(f"http://trigger.example:8080/{MASKED}", on_success[0]["parameters"]["url"])
        assert re.fullmatch(MASKED, on_success[0]["parameters"]["authorization"])
        assert re.fullmatch(f"https://hooks.slack.com/{MASKED}", on_success[1]["parameters"]["webhook_url"])
        assert re.fullmatch(f"https://hooks.example.com/{MASKED}", on_success[2]["parameters"]["url"])
        assert on_success[3]["parameters"]["url"] == "https://hooks.example.com/plain"
        assert on_failure[0]["parameters"]["url"] == "https://alerts.example.com/x"
        assert re.fullmatch(MASKED, on_failure[0]["parameters"]["authorization"])

    def test_only_the_creator_and_a_rotation_get_the_url_and_token_they_issued(self, client, job):
        assert job["token"] != "••••" and job["curl"].startswith('curl -X POST -H "Authorization: CAAuth ')
        assert re.fullmatch(MASKED, job["post_processing"]["on_success"][0]["parameters"]["authorization"])

        rotated = client.post(f"/api/jobs/{job['id']}/rotate", headers=bearer("user")).json()

        assert rotated["token"] not in ("••••", job["token"])
        assert rotated["masked_fields"] == MASKED_FIELDS[3:]

    def test_the_openapi_document_states_the_masked_shape(self, client):
        schema = client.get("/openapi.json").json()
        job_response = schema["components"]["schemas"]["JobResponse"]["properties"]

        assert "contains ••••" in job_response["masked_fields"]["description"]
        assert "/api/jobs/{job_id}/secrets/reveal" in schema["paths"]


class TestReveal:
    def test_an_editor_gets_every_secret_and_the_audit_log_records_who_and_which_fields(self, client, job):
        response = client.post(f"/api/jobs/{job['id']}/secrets/reveal", headers=bearer("user"))

        assert response.status_code == 200, response.text
        assert response.json() == {
            "id": job["id"],
            "trigger_url": job["trigger_url"],
            "token": job["token"],
            "signing_secret": job["signing_secret"],
            "curl": job["curl"],
            "fields": [
                {"field": "post_processing.on_success.0.parameters.url", "value": OTHER_TRIGGER_URL},
                {"field": "post_processing.on_success.0.parameters.authorization", "value": "CAAuth other-token-1"},
                {
                    "field": "post_processing.on_success.1.parameters.webhook_url",
                    "value": "https://hooks.slack.com/services/T0/B0/slack-secret-1",
                },
                {
                    "field": "post_processing.on_success.2.parameters.url",
                    "value": "https://ops:password-1@hooks.example.com/in?key=query-1",
                },
                {"field": "post_processing.on_failure.0.parameters.authorization", "value": "Bearer failure-1"},
            ],
        }
        [row] = reveal_rows(job["dag_id"])
        assert (row.owner, row.owner_display_name) == ("user", "user")
        assert json.loads(row.extra) == {
            "fields": MASKED_FIELDS, "job_id": job["id"], "channel": "api", "source_address": "testclient"
        }
        assert [secret for secret in secrets_of(job) if secret in row.extra] == []

    def test_a_viewer_may_not_reveal_and_nothing_is_recorded(self, client, job):
        response = client.post(f"/api/jobs/{job['id']}/secrets/reveal", headers=bearer("viewer"))

        assert (response.status_code, response.json()) == (403, {"detail": "You are not allowed to do this"})
        assert reveal_rows(job["dag_id"]) == []

    def test_401_without_login_and_404_for_an_unknown_job(self, client, job):
        assert client.post(f"/api/jobs/{job['id']}/secrets/reveal").status_code == 401
        unknown = client.post("/api/jobs/999999/secrets/reveal", headers=bearer("admin"))
        assert (unknown.status_code, unknown.json()) == (404, {"detail": "Job 999999 does not exist"})


class TestUpdatesKeepMaskedSecrets:
    def reveal(self, client: TestClient, job_id: int) -> dict[str, str]:
        revealed = client.post(f"/api/jobs/{job_id}/secrets/reveal", headers=bearer("user")).json()
        return {item["field"]: item["value"] for item in revealed["fields"]}

    def test_an_update_sending_the_masked_values_back_keeps_every_secret(self, client, job):
        before = self.reveal(client, job["id"])
        shown = client.get(f"/api/jobs/{job['id']}", headers=bearer("user")).json()

        response = client.put(
            f"/api/jobs/{job['id']}", json={**body_of(shown), "name": "Renamed"}, headers=bearer("user")
        )

        assert response.status_code == 200, response.text
        assert response.json()["post_processing"] == shown["post_processing"]
        assert self.reveal(client, job["id"]) == before

    def test_a_masked_value_keeps_its_own_secret_when_its_step_moves(self, client, job):
        shown = client.get(f"/api/jobs/{job['id']}", headers=bearer("user")).json()
        body = body_of(shown)
        # The first step removed, and the failure step's authorization moved to a new success step.
        failure_authorization = body["post_processing"]["on_failure"][0]["parameters"]["authorization"]
        body["post_processing"]["on_success"] = [
            *body["post_processing"]["on_success"][1:],
            webhook("https://moved.example.com/", failure_authorization),
        ]

        response = client.put(f"/api/jobs/{job['id']}", json=body, headers=bearer("user"))

        assert response.status_code == 200, response.text
        assert self.reveal(client, job["id"]) == {
            "post_processing.on_success.0.parameters.webhook_url": POST_PROCESSING["on_success"][1]["parameters"][
                "webhook_url"
            ],
            "post_processing.on_success.1.parameters.url": POST_PROCESSING["on_success"][2]["parameters"]["url"],
            "post_processing.on_success.3.parameters.authorization": "Bearer failure-1",
            "post_processing.on_failure.0.parameters.authorization": "Bearer failure-1",
        }

    def test_a_new_value_replaces_the_secret(self, client, job):
        shown = client.get(f"/api/jobs/{job['id']}", headers=bearer("user")).json()
        body = body_of(shown)
        body["post_processing"]["on_failure"][0]["parameters"]["authorization"] = "Bearer new-failure-2"

        assert client.put(f"/api/jobs/{job['id']}", json=body, headers=bearer("user")).status_code == 200

        revealed = self.reveal(client, job["id"])
        assert revealed["post_processing.on_failure.0.parameters.authorization"] == "Bearer new-failure-2"
        assert revealed["post_processing.on_success.0.parameters.authorization"] == "CAAuth other-token-1"

    def test_a_mask_of_another_job_or_field_is_refused_naming_the_field(self, client, job):
        other = client.post("/api/jobs", json={"name": "other", "action": EC2}, headers=bearer("admin")).json()
        shown = client.get(f"/api/jobs/{job['id']}", headers=bearer("user")).json()
        body = body_of(shown)
        slack_mask = body["post_processing"]["on_success"][1]["parameters"]["webhook_url"]
        body["post_processing"]["on_failure"][0]["parameters"]["url"] = slack_mask

        elsewhere = client.put(f"/api/jobs/{other['id']}", json=body, headers=bearer("user"))
        misplaced = client.put(f"/api/jobs/{job['id']}", json=body, headers=bearer("user"))

        reason = "a masked value that stands for no current value of this field; give the value itself"
        assert elsewhere.status_code == 422
        assert elsewhere.json()["detail"].startswith(
            f"job {other['id']}: post_processing.on_success.0.parameters.url: {reason}; "
        )
        assert (misplaced.status_code, misplaced.json()) == (
            422, {"detail": f"job {job['id']}: post_processing.on_failure.0.parameters.url: {reason}"}
        )
        assert self.reveal(client, job["id"])["post_processing.on_success.0.parameters.authorization"] == (
            "CAAuth other-token-1"
        )

    def test_a_new_job_cannot_be_created_with_a_masked_value(self, client, job):
        shown = client.get(f"/api/jobs/{job['id']}", headers=bearer("user")).json()

        response = client.post("/api/jobs", json={**body_of(shown), "name": "copy"}, headers=bearer("admin"))

        assert response.status_code == 422
        assert response.json()["detail"].startswith(
            "new job: post_processing.on_success.0.parameters.url: a masked value cannot be saved in a new job; "
            "give the value itself; post_processing.on_success.0.parameters.authorization: "
        )

    def test_a_viewer_may_not_update(self, client, job):
        shown = client.get(f"/api/jobs/{job['id']}", headers=bearer("viewer")).json()

        response = client.put(f"/api/jobs/{job['id']}", json=body_of(shown), headers=bearer("viewer"))

        assert (response.status_code, response.json()) == (403, {"detail": "You are not allowed to do this"})
