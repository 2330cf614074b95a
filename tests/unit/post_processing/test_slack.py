"""The Slack step posts to a real local HTTP server standing in for Slack's incoming webhook."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from airflow.sdk._shared.secrets_masker import redact
from airflow.sdk.exceptions import AirflowException
from http_trigger.post_processing.slack import DEFAULT_TEXT, SlackParameters, SlackPostProcessingOperator
from pydantic import ValidationError

from ..post_processing_support import LOG_URL, RUN_ID, make_context, receiver  # noqa: F401 - fixture

WEBHOOK_PATH = "/services/T0001/B0001/slack-path-secret"


def make_operator(parameters: dict[str, Any], *, status: str = "success") -> SlackPostProcessingOperator:
    return SlackPostProcessingOperator(
        task_id=f"on_{status}_1_slack",
        parameters=parameters,
        job_id=7,
        job_name="Start test servers",
        status=status,
    )


class TestSlackParameters:
    def test_defaults(self):
        parameters = SlackParameters.model_validate({"slack_webhook_conn_id": "slack_ops"})
        assert (parameters.webhook_url, parameters.channel, parameters.text) == (None, None, DEFAULT_TEXT)
        assert parameters.timeout_seconds == 30

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({}, "Value error, give either slack_webhook_conn_id or webhook_url"),
            (
                {"slack_webhook_conn_id": "slack_ops", "webhook_url": "https://hooks.slack.com/services/x"},
                "Value error, give either slack_webhook_conn_id or webhook_url",
            ),
            ({"webhook_url": "hooks.slack.com/services/x"}, "webhook_url\n  Value error, .* is not an http"),
            ({"slack_webhook_conn_id": "s", "text": "{{ status }"}, "text\n  Value error, template syntax"),
            ({"slack_webhook_conn_id": "s", "text": "{{ job }}"}, "text\n  Value error, unknown template"),
            ({"slack_webhook_conn_id": "s", "icon": ":x:"}, "icon\n  Extra inputs are not permitted"),
        ],
    )
    def test_refuses(self, data, message):
        with pytest.raises(ValidationError, match=message):
            SlackParameters.model_validate(data)


class TestSlackPostProcessingOperator:
    def test_posts_the_default_message_to_a_webhook_url(self, receiver):
        operator = make_operator({"webhook_url": f"{receiver.url}{WEBHOOK_PATH}"})

        result = operator.execute(make_context())

        assert receiver.requests[0]["path"] == WEBHOOK_PATH
        body = receiver.only_json()
        assert list(body) == ["text"]
        first, second, third = body["text"].split("\n")
        assert first == "*Start test servers*: success (job 7, started by http)"
        started, finished = second.removeprefix(f"Run {RUN_ID} of http_trigger_job_7, ").split(" → ")
        assert started == "2026-03-01T09:30:00+00:00"
        assert datetime.fromisoformat(finished) > datetime.fromisoformat(started)
        assert third == f"<{LOG_URL}|Open the run's log>"
        assert result == {"target": f"Slack webhook at {receiver.url}"}
        # The URL's path is the credential: it is registered with Airflow's log masker.
        assert "slack-path-secret" not in redact(f"posting to {receiver.url}{WEBHOOK_PATH}")

    def test_posts_through_a_slackwebhook_connection_with_channel_and_template(self, receiver, monkeypatch):
        monkeypatch.setenv(
            "AIRFLOW_CONN_SLACK_OPS",
            json.dumps({"conn_type": "slackwebhook", "password": f"{receiver.url}{WEBHOOK_PATH}"}),
        )
        operator = make_operator(
            {"slack_webhook_conn_id": "slack_ops", "channel": "#ops", "text": "{{ name }} {{ status }}"}
        )

        result = operator.execute(make_context())

        assert receiver.requests[0]["path"] == WEBHOOK_PATH
        assert receiver.only_json() == {"text": "Start test servers success", "channel": "#ops"}
        assert result == {"target": "Slack webhook connection 'slack_ops'"}

    def test_failure_message_escapes_the_error_for_slack(self, receiver):
        parameters = {"webhook_url": receiver.url, "text": "{{ status }}: {{ error }}"}
        operator = make_operator(parameters, status="failure")

        operator.execute(make_context(error="ClientError: <InvalidInstanceID> & more"))

        assert receiver.only_json()["text"] == "failure: ClientError: &lt;InvalidInstanceID&gt; &amp; more"

    def test_the_whole_payload_is_available_as_json(self, receiver):
        operator = make_operator({"webhook_url": receiver.url, "text": "{{ payload | tojson }}"})

        operator.execute(make_context())

        sent = json.loads(receiver.only_json()["text"])
        assert (sent["name"], sent["trigger_job_id"], sent["dag_run_id"]) == ("Start test servers", 7, RUN_ID)

    @pytest.mark.parametrize("status_code", [500, 404])
    def test_an_answer_other_than_200_fails_with_a_clear_message(self, receiver, status_code):
        receiver.status_code = status_code
        operator = make_operator({"webhook_url": f"{receiver.url}{WEBHOOK_PATH}"})

        message = f"Slack webhook at {receiver.url} refused the success message: "
        message += f"AirflowException: .*{status_code}"
        with pytest.raises(AirflowException, match=message):
            operator.execute(make_context())

    def test_an_unknown_connection_fails_naming_it(self):
        operator = make_operator({"slack_webhook_conn_id": "slack_nowhere"})

        with pytest.raises(AirflowException, match="Slack webhook connection 'slack_nowhere' refused the"):
            operator.execute(make_context())
