"""The webhook step POSTs to a real local HTTP server; assertions are on what that server received."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.sdk._shared.secrets_masker import redact
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from http_trigger import settings
from http_trigger.post_processing.payload import build_payload
from http_trigger.post_processing.webhook import WebhookParameters, WebhookPostProcessingOperator
from pydantic import ValidationError

from ..post_processing_support import free_port, make_context, receiver  # noqa: F401 - fixture


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
            ("scheduled__2026-03-01T00:00:00+00:00", "scheduled", "schedule"),
            ("manual__2026-03-01T00:00:00+00:00", "manual", "manual"),
            ("cli__2026-03-01T00:00:00+00:00_0a1b2c3d", "manual", "cli"),
            ("backfill__2026-03-01T00:00:00+00:00", "backfill", "backfill"),
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
        assert result == {"target": f"webhook at {receiver.url}", "status_code": 200}

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

        with pytest.raises(AirflowException, match=f"^The webhook at {receiver.url} answered {status_code} "):
            operator.execute(make_context())
        assert len(receiver.requests) == 1

    def test_logs_neither_the_url_nor_the_authorization(self, receiver, capsys, caplog):
        operator = make_operator(
            {"url": f"{receiver.url}/hook?key=query-secret", "authorization": "CAAuth s3cret"}
        )

        operator.execute(make_context())

        # Airflow's task logger writes to stdout; other libraries log through the logging module.
        logged = capsys.readouterr().out + caplog.text
        assert f"Posting the success payload to the webhook at {receiver.url} " in logged
        assert f"{receiver.url}/hook" not in logged
        assert "s3cret" not in logged
        assert "query-secret" not in logged

    def test_a_trigger_url_starts_its_job_with_an_empty_body_as_the_trigger_expects(self, receiver):
        url = f"{receiver.url}/http-trigger/trigger/chained-url-id-6"
        assert redact(url) == url

        result = make_operator({"url": url, "authorization": "CAAuth chained-token-6"}).execute(make_context())

        [request] = receiver.requests
        assert (request["body"], request["headers"]["Content-Length"]) == (b"", "0")
        assert request["headers"]["Authorization"] == "CAAuth chained-token-6"
        assert result == {"target": f"job trigger at {receiver.url}", "status_code": 200, "chained_run_id": None}
        assert redact(f"posted to {url}") == "posted to ***"
        assert "chained-url-id-6" not in redact("route /http-trigger/trigger/chained-url-id-6 answered")
        assert "chained-token-6" not in redact("token chained-token-6")

    def test_secrets_are_masked_before_the_parameters_are_even_validated(self, receiver):
        operator = make_operator(
            {"url": f"{receiver.url}/hook?key=early-query-7", "authorization": "CAAuth early-7", "timeout_seconds": 0}
        )

        with pytest.raises(AirflowFailException, match="timeout_seconds"):
            operator.execute(make_context())

        assert "early-7" not in redact("header CAAuth early-7")
        assert "early-query-7" not in redact("query key=early-query-7")
        assert receiver.requests == []

    def test_invalid_parameters_fail_without_retry(self, receiver):
        operator = make_operator({"url": receiver.url, "timeout_seconds": "soon"})

        with pytest.raises(AirflowFailException, match="timeout_seconds: Input should be a valid integer"):
            operator.execute(make_context())
        assert receiver.requests == []


class TestWebhookAuthorizationFromAConnection:
    """The header value may live in an Airflow connection's password instead of the job's spec."""

    def test_the_connection_password_is_the_header_value(self, receiver, monkeypatch, capsys, caplog):
        monkeypatch.setenv(
            "AIRFLOW_CONN_OPS_HOOK_AUTH",
            json.dumps({"conn_type": "http", "password": "Bearer conn-secret-1"}),
        )
        operator = make_operator({"url": f"{receiver.url}/hook", "authorization_conn_id": "ops_hook_auth"})

        assert redact("Bearer conn-secret-1") == "Bearer conn-secret-1"

        operator.execute(make_context())

        assert receiver.requests[0]["headers"]["Authorization"] == "Bearer conn-secret-1"
        assert receiver.only_json()["trigger_job_id"] == 7
        assert "conn-secret-1" not in capsys.readouterr().out + caplog.text
        # A task process passes every log line through Airflow's masker: the value is registered.
        assert "conn-secret-1" not in redact("sent Authorization: Bearer conn-secret-1")

    def test_a_missing_connection_fails_naming_it(self, receiver):
        operator = make_operator({"url": receiver.url, "authorization_conn_id": "no_such_auth"})

        with pytest.raises(AirflowException, match="Authorization connection 'no_such_auth' is not defined"):
            operator.execute(make_context())
        assert receiver.requests == []

    def test_a_connection_without_password_fails_naming_it(self, receiver, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_EMPTY_AUTH", json.dumps({"conn_type": "http", "host": "x"}))
        operator = make_operator({"url": receiver.url, "authorization_conn_id": "empty_auth"})

        with pytest.raises(AirflowException, match="connection 'empty_auth' has no password"):
            operator.execute(make_context())

    def test_literal_and_connection_together_are_refused(self):
        with pytest.raises(ValidationError, match="give authorization or authorization_conn_id, not both"):
            WebhookParameters.model_validate(
                {"url": "https://example.com", "authorization": "CAAuth x", "authorization_conn_id": "a"}
            )

    def test_a_header_value_on_two_lines_is_refused(self):
        with pytest.raises(ValidationError, match="authorization must be a single line"):
            WebhookParameters.model_validate(
                {"url": "https://example.com", "authorization": "CAAuth x\r\nX: y"}
            )


def test_an_unreachable_webhook_fails_without_showing_the_query(capsys, caplog):
    url = f"http://127.0.0.1:{free_port()}/hook"
    operator = make_operator({"url": f"{url}?token=query-secret-2", "timeout_seconds": 2})

    message = f"^The webhook at {url.removesuffix('/hook')} could not be reached with the success payload: "
    with pytest.raises(AirflowException, match=message) as error:
        operator.execute(make_context())
    assert "query-secret-2" not in str(error.value) and "/hook" not in str(error.value)
    # Not even masked: the LocalExecutor copies task logs to the scheduler's output unmasked.
    logged = capsys.readouterr().out + caplog.text
    assert "/hook" not in logged and "***" not in logged


def test_the_literal_authorization_and_its_token_are_masked(receiver):
    assert redact("lit-token-3") == "lit-token-3"

    make_operator({"url": receiver.url, "authorization": "CAAuth lit-token-3"}).execute(make_context())

    assert "lit-token-3" not in redact("header CAAuth lit-token-3, token lit-token-3")


class TestChainingIntoAnotherJob:
    URL_ID = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"

    def chained(self, receiver, **parameters) -> WebhookPostProcessingOperator:
        url = f"{receiver.url}/http-trigger/trigger/{self.URL_ID}"
        return make_operator({"url": url, "authorization": "CAAuth next-job-token", **parameters})

    def test_a_trigger_url_gets_an_empty_body_and_a_key_that_is_the_same_on_every_try(self, receiver):
        operator = self.chained(receiver)

        first = operator.execute(make_context())
        operator.execute(make_context())  # a retry of the same step of the same run

        [try_1, try_2] = receiver.requests
        assert try_1["body"] == b"" and try_2["body"] == b""
        assert try_1["headers"]["Authorization"] == "CAAuth next-job-token"
        key = try_1["headers"]["Idempotency-Key"]
        assert key == try_2["headers"]["Idempotency-Key"] and len(key) <= 128
        operator.execute(make_context(run_id="http__another-run"))
        assert receiver.requests[2]["headers"]["Idempotency-Key"] != key
        assert first["target"] == f"job trigger at {receiver.url}"

    def test_trigger_parameters_are_the_chained_jobs_body(self, receiver):
        self.chained(receiver, trigger_parameters={"tag_key": "Env", "tag_value": "test"}).execute(make_context())
        assert receiver.only_json() == {"tag_key": "Env", "tag_value": "test"}

    def test_trigger_parameters_for_a_url_that_is_no_trigger_are_refused(self):
        with pytest.raises(ValidationError, match="trigger_parameters are sent only to another job's trigger URL"):
            WebhookParameters.model_validate({"url": "https://hooks.example.com/x", "trigger_parameters": {}})

    def test_the_url_id_and_the_token_never_reach_the_log(self, receiver, capsys, caplog):
        self.chained(receiver).execute(make_context())

        logged = capsys.readouterr().out + caplog.text
        assert f"Posting an empty body to the job trigger at {receiver.url}" in logged
        assert self.URL_ID not in logged
        assert "next-job-token" not in logged
