"""Email post-processing: mail the run's payload through an Airflow SMTP connection.

The mail server, its credentials and the default sender live in the SMTP connection (conn type
``smtp``: host, port, login, password; extras ``from_email``, ``disable_tls``, ``disable_ssl``,
``timeout``, ``retry_limit``), so the job spec names the connection and holds no secret.
The body is HTML: the default lists every payload field and links to the run's log; payload
values are HTML-escaped in the body, whatever template the job gives.
(Named ``mail`` rather than ``email`` so it can never shadow the standard library's package.)
"""

from __future__ import annotations

import smtplib
from typing import TYPE_CHECKING, Annotated, Any

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk.exceptions import AirflowException
from pydantic import ConfigDict, Field

from http_trigger.post_processing.base import (
    ConnectionId,
    PostProcessingOperator,
    PostProcessingParameters,
    PostProcessingType,
    Template,
)
from http_trigger.post_processing.templates import render_template, single_line

if TYPE_CHECKING:
    from airflow.sdk import Context

# Deliberately loose: mail servers decide what they accept; this only catches lists pasted as one
# address ("a@x, b@y") and things that are no address at all.
EmailAddress = Annotated[
    str,
    Field(
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+$",
        title="Email address",
        examples=["ops@example.com"],
    ),
]
SUBJECT_MAX_LENGTH = 250

DEFAULT_SUBJECT = "[{{ status }}] {{ name }}"
DEFAULT_BODY = """\
<p>Job <b>{{ name }}</b> (id {{ trigger_job_id }}) finished: <b>{{ status }}</b>.</p>
<table>
<tr><th align="left">DAG</th><td>{{ dag_id }}</td></tr>
<tr><th align="left">Run</th><td>{{ dag_run_id }}</td></tr>
<tr><th align="left">Started by</th><td>{{ trigger_source }}</td></tr>
<tr><th align="left">Started at</th><td>{{ started_at }}</td></tr>
<tr><th align="left">Finished at</th><td>{{ finished_at }}</td></tr>
{% if error %}<tr><th align="left">Error</th><td>{{ error }}</td></tr>
{% endif %}</table>
<p><a href="{{ log_url }}">Open the run's log</a></p>
"""


class EmailParameters(PostProcessingParameters):
    """Who receives the mail, what it says, and which Airflow SMTP connection sends it."""

    model_config = ConfigDict(title="Email", str_strip_whitespace=True)

    to: list[EmailAddress] = Field(min_length=1, max_length=100, title="Recipients")
    cc: list[EmailAddress] = Field(default_factory=list, max_length=100, title="Cc recipients")
    bcc: list[EmailAddress] = Field(default_factory=list, max_length=100, title="Bcc recipients")
    subject: Template = Field(
        default=DEFAULT_SUBJECT,
        title="Subject",
        description="Jinja template over the payload's fields, e.g. {{ name }} {{ status }}; one line.",
    )
    body: Template = Field(
        default=DEFAULT_BODY,
        title="Body (HTML)",
        description="Jinja template of the HTML body over the payload's fields; values are HTML-escaped.",
        json_schema_extra={"format": "textarea"},
    )
    from_email: EmailAddress | None = Field(
        default=None,
        title="From address",
        description="The sender; the SMTP connection's from_email extra if empty.",
    )
    smtp_conn_id: ConnectionId = Field(
        default="smtp_default",
        title="SMTP connection",
        description="The Airflow SMTP connection: mail server, credentials and default sender.",
    )


class EmailPostProcessingOperator(PostProcessingOperator[EmailParameters]):
    """Mail the job run's payload; a refused message or an unreachable server fails the task."""

    parameters_model = EmailParameters
    kind = "email"
    ui_color = "#f2e6c9"

    def send(self, parameters: EmailParameters, payload: dict[str, Any], context: Context) -> dict[str, Any]:
        subject = single_line(
            render_template(parameters.subject, payload, what="subject"), SUBJECT_MAX_LENGTH
        )
        body = render_template(parameters.body, payload, markup="html", what="body")
        recipients = [*parameters.to, *parameters.cc, *parameters.bcc]
        connection = parameters.smtp_conn_id

        self.log.info(
            "Mailing the %s payload to %d recipient(s) through SMTP connection %s",
            self.status,
            len(recipients),
            connection,
        )
        hook = SmtpHook(smtp_conn_id=connection)
        try:
            with hook:
                hook.send_email_smtp(
                    to=parameters.to,
                    cc=parameters.cc or None,
                    bcc=parameters.bcc or None,
                    subject=subject,
                    html_content=body,
                    from_email=parameters.from_email,
                )
        except (smtplib.SMTPException, OSError, AirflowException) as error:
            server = f"{hook.host}:{hook.port}" if hook.smtp_connection else "unknown server"
            raise AirflowException(
                f"Email through SMTP connection {connection!r} ({server}) failed for the {self.status} "
                f"payload to {', '.join(recipients)}: {type(error).__name__}: {error}"
            ) from error
        self.log.info("Mail server accepted the %s email: %s", self.status, subject)
        return {"recipients": len(recipients), "subject": subject}


POST_PROCESSING_TYPE = PostProcessingType(
    name="email",
    title="Email",
    description="Mail the payload through an Airflow SMTP connection, with subject and body templates.",
    parameters_model=EmailParameters,
    operator_class=EmailPostProcessingOperator,
)
