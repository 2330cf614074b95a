"""The webhook step POSTs to a real local HTTP server; assertions are on what that server received."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from pydantic import ValidationError

from http_trigger import settings
from http_trigger.post_processing.payload import ERROR_XCOM_KEY, build_payload
from http_trigger.post_processing.webhook import WebhookParameters, WebhookPostProcessingOperator

STARTED_AT = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)


class Receiver:
    """A local HTTP server that records each POST and answers with a chosen status code."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status_code = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": self.headers, "body": body})
                self.send_response(receiver.status_code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def only_json(self) -> dict[str, Any]:
        assert len(self.requests) == 1
        return json.loads(self.requests[0]["body"])


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


class UpstreamTaskInstance:
    """Stands in for the task instance: answers XCom pulls from what the action task pushed."""

    def __init__(self, pushed: dict[tuple[str, str], Any]) -> None:
        self.pushed = pushed

    def xcom_pull(self, task_ids: str, key: str) -> Any:
        return self.pushed.get((task_ids, key))


def make_context(*, run_id: str = "http__2026-03-01T09:30:00+00:00", run_type: str = "manual", error=None):
    pushed = {("action", ERROR_XCOM_KEY): error} if error else {}
    return {
        "dag_run": SimpleNamespace(
            dag_id="http_trigger_job_7",
            run_id=run_id,
            run_type=run_type,
            start_date=STARTED_AT,
            conf={},
        ),
        "ti": UpstreamTaskInstance(pushed),
        "task": SimpleNamespace(upstream_task_ids={"action"}),
    }


def make_operator(parameters: dict[str, Any], *, status: str = "success") -> WebhookPostProcessingOperator:
    return WebhookPostProcessingOperator(
        task_id=f"on_{status}_1_webhook",
        parameters=parameters,
        job_id=7,
        job_name="Start test servers",
        status=status,
    )


class TestWebhookParameters:
    def test_defaults(self):
        parameters = WebhookParameters.model_validate({"url": "https://example.com/hook"})
        assert (parameters.authorization, parameters.timeout_seconds) == (None, 30)

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"url": "ftp://example.com/x"}, "url\n  Value error, 'ftp://example.com/x' is not an http"),
            ({"url": "https:///no-host"}, "url\n  Value error, 'https:///no-host' is not an http"),
            ({"url": "https://example.com/" + "a" * 2048}, "url\n  String should have at most 2048 char"),
            ({"url": "https://example.com", "timeout_seconds": 0}, "timeout_seconds\n  Input should be"),
            ({"url": "https://example.com", "headers": {}}, "headers\n  Extra inputs are not permitted"),
            ({}, "url\n  Field required"),
        ],
    )
    def test_refuses(self, data, message):
        with pytest.raises(ValidationError, match=message):
            WebhookParameters.model_validate(data)


class TestBuildPayload:
    def test_success_payload(self):
        before = datetime.now(timezone.utc)
        payload = build_payload(make_context(), job_id=7, job_name="Start test servers", status="success")

        finished_at = datetime.fromisoformat(payload.pop("finished_at"))
        assert before <= finished_at <= datetime.now(timezone.utc)
        assert payload == {
            "name": "Start test servers",
            "trigger_job_id": 7,
            "status": "success",
            "dag_id": "http_trigger_job_7",
            "dag_run_id": "http__2026-03-01T09:30:00+00:00",
            "trigger_source": "http",
            "started_at": "2026-03-01T09:30:00+00:00",
            "log_url": (
                f"{settings.base_url()}/dags/http_trigger_job_7/runs/http__2026-03-01T09%3A30%3A00%2B00%3A00"
            ),
        }

    @pytest.mark.parametrize(
        ("run_id", "run_type", "source"),
        [
            ("http__2026-03-01", "manual", "http"),
            ("scheduled__2026-03-01T00:00:00+00:00", "scheduled", "scheduled"),
            ("manual__2026-03-01T00:00:00+00:00", "manual", "manual"),
        ],
    )
    def test_trigger_source(self, run_id, run_type, source):
        context = make_context(run_id=run_id, run_type=run_type)
        payload = build_payload(context, job_id=7, job_name="j", status="success")
        assert payload["trigger_source"] == source

    def test_failure_payload_carries_the_action_error(self):
        context = make_context(error="AirflowException: No EC2 instance (not terminated) is tagged Env=x")
        payload = build_payload(context, job_id=7, job_name="j", status="failure")
        assert payload["error"] == "AirflowException: No EC2 instance (not terminated) is tagged Env=x"

    def test_failure_payload_without_a_known_error_has_no_error_key(self):
        payload = build_payload(make_context(), job_id=7, job_name="j", status="failure")
        assert "error" not in payload

    def test_success_payload_never_carries_an_error(self):
        payload = build_payload(make_context(error="stale"), job_id=7, job_name="j", status="success")
        assert "error" not in payload


class TestWebhookPostProcessingOperator:
    def test_posts_the_payload_with_the_authorization_header(self, receiver):
        operator = make_operator(
            {"url": f"{receiver.url}/hooks/ops?source=airflow", "authorization": "CAAuth s3cret-token"}
        )

        result = operator.execute(make_context())

        request = receiver.requests[0]
        assert request["path"] == "/hooks/ops?source=airflow"
        assert request["headers"]["Authorization"] == "CAAuth s3cret-token"
        assert request["headers"]["Content-Type"] == "application/json"
        body = receiver.only_json()
        assert {key: body[key] for key in ("name", "trigger_job_id", "status", "dag_id", "dag_run_id")} == {
            "name": "Start test servers",
            "trigger_job_id": 7,
            "status": "success",
            "dag_id": "http_trigger_job_7",
            "dag_run_id": "http__2026-03-01T09:30:00+00:00",
        }
        assert body["trigger_source"] == "http"
        assert body["started_at"] == "2026-03-01T09:30:00+00:00"
        assert datetime.now(timezone.utc) - datetime.fromisoformat(body["finished_at"]) < timedelta(minutes=1)
        assert body["log_url"] == (
            f"{settings.base_url()}/dags/http_trigger_job_7/runs/http__2026-03-01T09%3A30%3A00%2B00%3A00"
        )
        assert "error" not in body
        assert result == {"url": f"{receiver.url}/hooks/ops", "status_code": 200}

    def test_failure_payload_reaches_the_receiver_with_the_error(self, receiver):
        operator = make_operator({"url": receiver.url}, status="failure")

        operator.execute(make_context(error="AirflowException: Starting EC2 instances i-0123456789abcdef0"))

        body = receiver.only_json()
        assert body["status"] == "failure"
        assert body["error"] == "AirflowException: Starting EC2 instances i-0123456789abcdef0"
        assert "Authorization" not in receiver.requests[0]["headers"]

    @pytest.mark.parametrize("status_code", [500, 404, 302])
    def test_a_reply_other_than_2xx_fails_with_the_status_code(self, receiver, status_code):
        receiver.status_code = status_code
        operator = make_operator({"url": f"{receiver.url}/hook?token=abc"})

        with pytest.raises(AirflowException, match=f"Webhook {receiver.url}/hook answered {status_code} "):
            operator.execute(make_context())
        assert len(receiver.requests) == 1

    def test_does_not_log_the_authorization_header_or_the_query(self, receiver, capsys, caplog):
        operator = make_operator(
            {"url": f"{receiver.url}/hook?key=query-secret", "authorization": "CAAuth s3cret"}
        )

        operator.execute(make_context())

        # Airflow's task logger writes to stdout; other libraries log through the logging module.
        logged = capsys.readouterr().out + caplog.text
        assert f"Posting success payload to {receiver.url}/hook" in logged
        assert "s3cret" not in logged
        assert "query-secret" not in logged

    def test_invalid_parameters_fail_without_retry(self, receiver):
        operator = make_operator({"url": receiver.url, "timeout_seconds": "soon"})

        with pytest.raises(AirflowFailException, match="timeout_seconds: Input should be a valid integer"):
            operator.execute(make_context())
        assert receiver.requests == []
