"""The audit of job changes: one entry in Airflow's audit log per change.

The users are SimpleAuthManager's real roles; the test client's address is ``testclient``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.models.log import Log
from airflow.utils.session import create_session
from fastapi.testclient import TestClient
from sqlalchemy import select

from http_trigger.api.app import create_app
from http_trigger.api.audit_actor import CHANNEL_HEADER
from http_trigger.job_audit import JobEvent, changed_fields

from .jobs_support import EC2
from .test_jobs_secrets_routes import bearer
from .test_trigger_route import parse_jobs_into_db


def webhook(authorization: str) -> dict[str, Any]:
    return {"type": "webhook", "parameters": {"url": "https://ops.example.com/in", "authorization": authorization}}


BODY = {"name": "Audited", "action": EC2, "post_processing": {"on_failure": [webhook("Bearer audit-secret-1")]}}
PAGE = {CHANNEL_HEADER: "page"}
WEBHOOK_AUTHORIZATION = "post_processing.on_failure.0.parameters.authorization"


@pytest.fixture
def client(airflow_db, jobs_folder) -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://trigger.example") as test_client:
        yield test_client


@pytest.fixture
def job(client) -> dict[str, Any]:
    """A job an admin created through the API, as its creator got it (its URL and token in clear)."""
    response = client.post("/api/jobs", json=BODY, headers=bearer("admin"))
    assert response.status_code == 201, response.text
    return response.json()


def audit_rows(dag_id: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every audit entry of the job's DAG, oldest first: event, owner, display name and extra."""
    with create_session() as session:
        rows = session.scalars(
            select(Log).where(Log.dag_id == dag_id, Log.event.startswith("http_trigger.")).order_by(Log.id)
        )
        return [(row.event, row.owner, row.owner_display_name, json.loads(row.extra)) for row in rows]


def extra(job_id: int, channel: str = "api", **details: Any) -> dict[str, Any]:
    return {**details, "job_id": job_id, "channel": channel, "source_address": "testclient"}


class TestEveryChangeIsRecorded:
    def test_each_change_adds_one_entry_naming_who_how_from_where_and_what_never_a_value(self, client, job):
        job_id, dag_id = job["id"], job["dag_id"]
        parse_jobs_into_db()  # enabling and Run now need the job's DAG in Airflow
        user, page_user = bearer("user"), {**bearer("user"), **PAGE}
        renamed = {**BODY, "name": "Renamed", "post_processing": {"on_failure": [webhook("Bearer audit-secret-2")]}}

        def change(method: str, path: str, headers: dict[str, str], **kwargs: Any) -> dict[str, Any] | None:
            """Make the change, check that it added exactly one entry, and return its answer."""
            before = len(audit_rows(dag_id))
            response = client.request(method, f"/api/jobs/{job_id}{path}", headers=headers, **kwargs)
            assert response.status_code in (200, 201, 204), response.text
            assert len(audit_rows(dag_id)) == before + 1
            return response.json() if response.content else None

        change("PUT", "", page_user, json=renamed)
        change("PATCH", "/enabled", user, json={"enabled": False})
        change("PATCH", "/enabled", page_user, json={"enabled": True})
        run = change("POST", "/runs", page_user)
        rotated = change("POST", "/rotate", user)
        revealed = change("POST", "/secrets/reveal", page_user)
        change("DELETE", "", user)

        assert audit_rows(dag_id) == [
            (JobEvent.CREATE, "admin", "admin", extra(job_id)),
            (JobEvent.UPDATE, "user", "user", extra(job_id, "page", fields=["name", WEBHOOK_AUTHORIZATION])),
            (JobEvent.DISABLE, "user", "user", extra(job_id)),
            (JobEvent.ENABLE, "user", "user", extra(job_id, "page")),
            (JobEvent.RUN_NOW, "user", "user", extra(job_id, "page", dag_run_id=run["dag_run_id"])),
            (JobEvent.ROTATE, "user", "user", extra(job_id)),
            (
                JobEvent.REVEAL,
                "user",
                "user",
                extra(job_id, "page", fields=["trigger_url", "token", "signing_secret", WEBHOOK_AUTHORIZATION]),
            ),
            (JobEvent.DELETE, "user", "user", extra(job_id)),
        ]
        recorded = json.dumps(audit_rows(dag_id))
        secrets = (
            job["token"], job["trigger_url"].rsplit("/", 1)[1], rotated["token"], revealed["token"],
            rotated["trigger_url"].rsplit("/", 1)[1], job["signing_secret"], rotated["signing_secret"],
            "audit-secret-1", "audit-secret-2",
        )
        assert [secret for secret in secrets if secret in recorded] == []

    def test_a_refused_or_failed_change_records_nothing(self, client, job):
        forbidden = client.put(f"/api/jobs/{job['id']}", json=BODY, headers=bearer("viewer"))
        stale = client.put(
            f"/api/jobs/{job['id']}", json=BODY, headers={**bearer("user"), "If-Match": "stale-version"}
        )

        assert (forbidden.status_code, stale.status_code) == (403, 409)
        assert [row[0] for row in audit_rows(job["dag_id"])] == [JobEvent.CREATE]

    def test_a_channel_other_than_page_or_api_is_refused(self, client, job):
        response = client.post(
            f"/api/jobs/{job['id']}/rotate", headers={**bearer("user"), CHANNEL_HEADER: "cli"}
        )

        assert response.status_code == 422
        assert response.json()["detail"] == [
            {"loc": ["header", CHANNEL_HEADER], "msg": "Input should be 'page' or 'api'", "type": "literal_error"}
        ]
        assert [row[0] for row in audit_rows(job["dag_id"])] == [JobEvent.CREATE]


class TestRecords:
    def test_changed_fields_names_each_changed_leaf_and_a_list_that_changed_length(self):
        before = {"name": "a", "action": {"parameters": {"tag": "x", "ids": [1]}}, "steps": [{"url": "u"}], "gone": 1}
        after = {"name": "a", "action": {"parameters": {"tag": "y", "ids": [1, 2]}}, "steps": [{"url": "v"}]}

        assert changed_fields(before, after) == ["action.parameters.tag", "action.parameters.ids", "steps.0.url", "gone"]
