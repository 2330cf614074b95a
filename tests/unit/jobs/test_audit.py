"""The audit of job changes: one entry in Airflow's audit log per change, read back as JSON and as CSV.

The users are SimpleAuthManager's real roles; the test client's address is ``testclient``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from airflow.models.log import Log
from airflow.utils.session import create_session
from http_trigger.api.audit_actor import CHANNEL_HEADER
from http_trigger.jobs.audit import AuditEntry, JobEvent, changed_fields, write_csv
from sqlalchemy import select

from ..api_support import bearer, parse_jobs_into_db
from ..jobs_support import EC2


def webhook(authorization: str) -> dict[str, Any]:
    return {"type": "webhook", "parameters": {"url": "https://ops.example.com/in", "authorization": authorization}}


BODY = {"name": "Audited", "action": EC2, "post_processing": {"on_failure": [webhook("Bearer audit-secret-1")]}}
PAGE = {CHANNEL_HEADER: "page"}
WEBHOOK_AUTHORIZATION = "post_processing.on_failure.0.parameters.authorization"


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

    def test_repairing_a_broken_spec_names_the_whole_file(self, client, job, jobs_folder):
        (jobs_folder / f"job_{job['id']}.yaml").write_text("name: [unclosed\n")

        response = client.put(f"/api/jobs/{job['id']}", json=BODY, headers=bearer("user"))

        assert response.status_code == 200, response.text
        assert audit_rows(job["dag_id"])[-1] == (JobEvent.UPDATE, "user", "user", extra(job["id"], fields=["(file)"]))

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


class TestAuditRoutes:
    @pytest.fixture
    def changed(self, client, job) -> dict[str, Any]:
        """The job, renamed on its page, then given a new URL and token through the API."""
        renamed = client.put(f"/api/jobs/{job['id']}", json={**BODY, "name": "Renamed"}, headers={**bearer("user"), **PAGE})
        rotated = client.post(f"/api/jobs/{job['id']}/rotate", headers=bearer("admin"))
        assert (renamed.status_code, rotated.status_code) == (200, 200)
        return job

    def test_the_entries_come_newest_first_a_page_at_a_time(self, client, changed):
        job_id, dag_id = changed["id"], changed["dag_id"]

        listed = client.get(f"/api/jobs/{job_id}/audit", headers=bearer("viewer"))
        paged = client.get(f"/api/jobs/{job_id}/audit?limit=1&offset=1", headers=bearer("viewer"))

        assert listed.status_code == 200, listed.text
        entries = listed.json()["entries"]
        whens = [datetime.fromisoformat(entry.pop("when")) for entry in entries]
        assert whens == sorted(whens, reverse=True)
        common = {"job_id": job_id, "dag_id": dag_id, "source_address": "testclient"}
        assert entries == [
            {**common, "event": "http_trigger.rotate", "user": "admin", "channel": "api", "details": {}},
            {**common, "event": "http_trigger.update", "user": "user", "channel": "page", "details": {"fields": ["name"]}},
            {**common, "event": "http_trigger.create", "user": "admin", "channel": "api", "details": {}},
        ]
        assert listed.json()["total_entries"] == 3
        assert [entry["event"] for entry in paged.json()["entries"]] == ["http_trigger.update"]
        assert paged.json()["total_entries"] == 3

    def test_the_csv_has_a_header_and_one_row_per_entry(self, client, changed):
        job_id, dag_id = changed["id"], changed["dag_id"]

        response = client.get(f"/api/jobs/{job_id}/audit.csv", headers=bearer("viewer"))

        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == f'attachment; filename="job-{job_id}-audit.csv"'
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [datetime.fromisoformat(row.pop("when")).tzinfo for row in rows] == [UTC] * 3
        common = {"job_id": str(job_id), "dag_id": dag_id, "source_address": "testclient"}
        assert rows == [
            {**common, "event": "http_trigger.rotate", "user": "admin", "channel": "api", "details": ""},
            {**common, "event": "http_trigger.update", "user": "user", "channel": "page", "details": '{"fields": ["name"]}'},
            {**common, "event": "http_trigger.create", "user": "admin", "channel": "api", "details": ""},
        ]

    def test_a_deleted_job_keeps_its_audit(self, client, job):
        assert client.delete(f"/api/jobs/{job['id']}", headers=bearer("admin")).status_code == 204

        response = client.get(f"/api/jobs/{job['id']}/audit", headers=bearer("viewer"))

        assert response.status_code == 200
        assert [entry["event"] for entry in response.json()["entries"]] == ["http_trigger.delete", "http_trigger.create"]

    @pytest.mark.parametrize("path", ["audit", "audit.csv"])
    def test_401_without_login_404_for_a_job_that_never_was_422_out_of_bounds(self, client, job, path):
        unknown = client.get(f"/api/jobs/999999/{path}", headers=bearer("admin"))

        assert client.get(f"/api/jobs/{job['id']}/{path}").status_code == 401
        assert (unknown.status_code, unknown.json()) == (404, {"detail": "Job 999999 does not exist"})
        assert client.get(f"/api/jobs/{job['id']}/{path}?limit=0", headers=bearer("admin")).status_code == 422

    def test_403_for_a_user_who_may_not_read_the_jobs_audit_log(self, client, job, monkeypatch):
        from airflow.api_fastapi.app import get_auth_manager

        auth_manager = get_auth_manager()
        may_read = auth_manager.is_authorized_dag

        def audit_log_refused(*, access_entity=None, **kwargs) -> bool:
            return access_entity is None and may_read(access_entity=access_entity, **kwargs)

        monkeypatch.setattr(auth_manager, "is_authorized_dag", audit_log_refused)
        response = client.get(f"/api/jobs/{job['id']}/audit", headers=bearer("viewer"))

        assert (response.status_code, response.json()) == (403, {"detail": "You are not allowed to do this"})


class TestRecords:
    def test_changed_fields_names_each_changed_leaf_and_a_list_that_changed_length(self):
        before = {"name": "a", "action": {"parameters": {"tag": "x", "ids": [1]}}, "steps": [{"url": "u"}], "gone": 1}
        after = {"name": "a", "action": {"parameters": {"tag": "y", "ids": [1, 2]}}, "steps": [{"url": "v"}]}

        assert changed_fields(before, after) == ["action.parameters.tag", "action.parameters.ids", "steps.0.url", "gone"]

    def test_a_csv_cell_a_spreadsheet_would_run_as_a_formula_is_quoted(self):
        entry = AuditEntry(
            when=datetime(2026, 1, 31, 9, 0, tzinfo=UTC), event=JobEvent.UPDATE, user="=HYPERLINK(1)", job_id=3,
            dag_id="http_trigger_job_3", channel="api", source_address=None, details={"fields": ["name"]},
        )
        out = io.StringIO()

        write_csv([entry], out)

        assert list(csv.DictReader(io.StringIO(out.getvalue()))) == [
            {
                "when": "2026-01-31T09:00:00+00:00", "event": "http_trigger.update", "user": "'=HYPERLINK(1)",
                "job_id": "3", "dag_id": "http_trigger_job_3", "channel": "api", "source_address": "",
                "details": '{"fields": ["name"]}',
            }
        ]
