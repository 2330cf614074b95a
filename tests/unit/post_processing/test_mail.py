"""The email step mails through a real local SMTP server (aiosmtpd); assertions are on what it received."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from http_trigger.post_processing.mail import (
    DEFAULT_BODY,
    DEFAULT_SUBJECT,
    EmailParameters,
    EmailPostProcessingOperator,
)
from pydantic import ValidationError

from ..post_processing_support import LOG_URL, RUN_ID, free_port, make_context

SMTP_CONN_ID = "smtp_test"


class MailServer:
    """Record every message accepted; refuse recipients when told to."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.refuse_recipients = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd
        if self.refuse_recipients:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def only_message(self) -> tuple[Any, EmailMessage]:
        assert len(self.envelopes) == 1
        envelope = self.envelopes[0]
        return envelope, message_from_bytes(envelope.content, policy=policy.default)


@pytest.fixture
def mail_server(monkeypatch):
    """A real SMTP server on a free local port, and the Airflow SMTP connection ``smtp_test`` to it."""
    handler = MailServer()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_TEST",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": port,
                "extra": {
                    "from_email": "airflow@ops.example.com",
                    "disable_tls": True,
                    "disable_ssl": True,
                    "retry_limit": 0,
                    "timeout": 5,
                },
            }
        ),
    )
    handler.port = port
    yield handler
    controller.stop()


def make_operator(parameters: dict[str, Any], *, status: str = "success") -> EmailPostProcessingOperator:
    return EmailPostProcessingOperator(
        task_id=f"on_{status}_1_email",
        parameters={"smtp_conn_id": SMTP_CONN_ID, **parameters},
        job_id=7,
        job_name="Start test servers",
        status=status,
    )


def html_body(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


class TestEmailParameters:
    def test_defaults(self):
        parameters = EmailParameters.model_validate({"to": ["ops@example.com"]})
        assert (parameters.cc, parameters.bcc, parameters.from_email) == ([], [], None)
        assert (parameters.subject, parameters.body) == (DEFAULT_SUBJECT, DEFAULT_BODY)
        assert parameters.smtp_conn_id == "smtp_default"

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({}, "to\n  Field required"),
            ({"to": []}, "to\n  List should have at least 1 item"),
            ({"to": ["a@x.example, b@x.example"]}, "to.0\n  String should match pattern"),
            ({"to": ["not-an-address"]}, "to.0\n  String should match pattern"),
            ({"to": ["a@x.example"], "subject": "{{ nmae }}"}, "subject\n  Value error, unknown template"),
            ({"to": ["a@x.example"], "body": "{% if %}"}, "body\n  Value error, template syntax error"),
            ({"to": ["a@x.example"], "smtp_conn_id": "has space"}, "smtp_conn_id\n  String should match"),
            ({"to": ["a@x.example"], "reply_to": "x@y"}, "reply_to\n  Extra inputs are not permitted"),
        ],
    )
    def test_refuses(self, data, message):
        with pytest.raises(ValidationError, match=message):
            EmailParameters.model_validate(data)


class TestEmailPostProcessingOperator:
    def test_mails_the_payload_to_every_recipient(self, mail_server):
        operator = make_operator(
            {
                "to": ["ops@example.com", "lead@example.com"],
                "cc": ["audit@example.com"],
                "bcc": ["archive@example.com"],
                "subject": "{{ name }} {{ status }} ({{ trigger_source }})",
            }
        )

        result = operator.execute(make_context())

        envelope, message = mail_server.only_message()
        assert envelope.mail_from == "airflow@ops.example.com"
        assert envelope.rcpt_tos == [
            "ops@example.com", "lead@example.com", "audit@example.com", "archive@example.com"
        ]
        assert message["Subject"] == "Start test servers success (http)"
        assert message["To"] == "ops@example.com, lead@example.com"
        assert message["Cc"] == "audit@example.com"
        assert "Bcc" not in message
        body = html_body(message)
        for value in ("Start test servers", "(id 7)", "<b>success</b>", "http_trigger_job_7", RUN_ID, "http",
                      "2026-03-01T09:30:00+00:00", f'href="{LOG_URL}"'):
            assert value in body
        assert "Error" not in body
        assert result == {"recipients": 4, "subject": "Start test servers success (http)"}

    def test_failure_mail_carries_the_error_html_escaped(self, mail_server):
        parameters = {"to": ["ops@example.com"], "from_email": "jobs@ops.example.com"}
        operator = make_operator(parameters, status="failure")

        operator.execute(make_context(error="ClientError: <InvalidInstanceID> i-0dead & more"))

        envelope, message = mail_server.only_message()
        assert envelope.mail_from == "jobs@ops.example.com"
        assert message["Subject"] == "[failure] Start test servers"
        body = html_body(message)
        error = "ClientError: &lt;InvalidInstanceID&gt; i-0dead &amp; more"
        assert f'<th align="left">Error</th><td>{error}</td>' in body

    def test_a_subject_on_several_lines_is_sent_as_one(self, mail_server):
        operator = make_operator({"to": ["ops@example.com"], "subject": "{{ name }}\n{{ status }}"})

        operator.execute(make_context())


        assert mail_server.only_message()[1]["Subject"] == "Start test servers success"

    def test_non_ascii_job_names_arrive_intact(self, mail_server):
        operator = EmailPostProcessingOperator(
            task_id="on_success_1_email",
            parameters={"smtp_conn_id": SMTP_CONN_ID, "to": ["ops@example.com"]},
            job_id=7,
            job_name="テストサーバー起動",
            status="success",
        )

        operator.execute(make_context())

        message = mail_server.only_message()[1]
        assert message["Subject"] == "[success] テストサーバー起動"
        assert "テストサーバー起動" in html_body(message)

    def test_refused_recipients_fail_with_a_clear_message(self, mail_server):
        mail_server.refuse_recipients = True
        operator = make_operator({"to": ["gone@example.com"]})

        message = (
            rf"Email through SMTP connection 'smtp_test' \(127.0.0.1:{mail_server.port}\) failed for the "
            r"success payload to gone@example.com: SMTPRecipientsRefused: .*Mailbox unavailable"
        )
        with pytest.raises(AirflowException, match=message):
            operator.execute(make_context())
        assert mail_server.envelopes == []

    def test_an_unreachable_server_fails_with_a_clear_message(self, monkeypatch):
        port = free_port()
        monkeypatch.setenv(
            "AIRFLOW_CONN_SMTP_TEST",
            json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                        "extra": {"from_email": "a@ops.example.com", "disable_tls": True,
                                  "disable_ssl": True}}),
        )

        with pytest.raises(AirflowException, match=rf"\(127.0.0.1:{port}\) failed .*ConnectionRefusedError"):
            make_operator({"to": ["ops@example.com"]}).execute(make_context())

    def test_an_unknown_connection_fails_naming_it(self):
        operator = make_operator({"to": ["ops@example.com"], "smtp_conn_id": "smtp_nowhere"})

        message = "SMTP connection 'smtp_nowhere' .*SMTP connection is not found"
        with pytest.raises(AirflowException, match=message):
            operator.execute(make_context())

    def test_a_template_failing_at_render_time_fails_without_retry(self, mail_server):
        operator = make_operator({"to": ["ops@example.com"], "subject": "{{ payload.clear() }}"})

        message = "on_success_1_email: The subject template failed: Security"
        with pytest.raises(AirflowFailException, match=message):
            operator.execute(make_context())
        assert mail_server.envelopes == []
