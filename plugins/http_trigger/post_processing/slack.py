"""Slack post-processing: post a message about the run through a Slack incoming webhook.

An incoming webhook's URL is itself the credential (whoever has it can post to the channel), so
the preferred form is ``slack_webhook_conn_id``: an Airflow connection of type ``slackwebhook``
(the Slack provider's "Slack Incoming Webhook", the URL or its token as password) kept in Airflow's
connections or secrets backend. ``webhook_url`` is accepted for convenience; it is then stored in
the job's spec file, write-only for readers of the job and masked in task logs.

The message is ``text``, a Jinja template over the payload's fields; payload values are escaped
for Slack's mrkdwn (``&``, ``<``, ``>``), and ``<{{ log_url }}|...>`` makes a link.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Annotated, Any

from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
from airflow.sdk import Connection
from airflow.sdk.exceptions import AirflowException
from pydantic import ConfigDict, Field, model_validator
from slack_sdk.errors import SlackClientError

from http_trigger.post_processing.base import (
    ConnectionId,
    HttpUrl,
    PostProcessingOperator,
    PostProcessingParameters,
    PostProcessingType,
    Secret,
    Template,
    url_origin,
)
from http_trigger.post_processing.templates import render_template
from http_trigger.field_messages import Rule

if TYPE_CHECKING:
    from airflow.sdk import Context

DEFAULT_TEXT = """\
*{{ name }}*: {{ status }} (job {{ trigger_job_id }}, started by {{ trigger_source }})
Run {{ dag_run_id }} of {{ dag_id }}, {{ started_at }} → {{ finished_at }}
{% if error %}Error: {{ error }}
{% endif %}<{{ log_url }}|Open the run's log>"""


_ONE_TARGET = Rule("slack.one_target", "give either slack_webhook_conn_id or webhook_url")


class SlackParameters(PostProcessingParameters):
    """Which Slack incoming webhook receives the message, and what the message says."""

    model_config = ConfigDict(title="Slack")

    slack_webhook_conn_id: ConnectionId | None = Field(
        default=None,
        title="Slack webhook connection",
        examples=["slack_ops"],
        description="An Airflow connection of type slackwebhook; keeps the webhook URL out of the spec.",
    )
    webhook_url: Annotated[HttpUrl | None, Secret()] = Field(
        default=None,
        title="Webhook URL",
        description="The incoming webhook's URL. It is a secret stored in the job's spec file: "
        "prefer the connection.",
    )
    channel: str | None = Field(
        default=None,
        min_length=1,
        max_length=80,
        title="Channel",
        description="Only legacy Slack webhooks honour it; a Slack app's webhook posts to its own channel.",
    )
    text: Template = Field(
        default=DEFAULT_TEXT,
        title="Text",
        description="Jinja template of the message over the payload's fields, e.g. {{ name }} {{ status }}.",
        json_schema_extra={"format": "textarea"},
    )
    timeout_seconds: int = Field(default=30, ge=1, le=300, title="Timeout (seconds)")

    @model_validator(mode="after")
    def _one_target(self) -> SlackParameters:
        if (self.slack_webhook_conn_id is None) == (self.webhook_url is None):
            raise _ONE_TARGET.error()
        return self


class _UrlSlackWebhookHook(SlackWebhookHook):
    """A ``SlackWebhookHook`` posting to a URL from the spec rather than from an Airflow connection."""

    def __init__(self, *, url: str, **kwargs: Any) -> None:
        super().__init__(slack_webhook_conn_id="http_trigger_slack_webhook", **kwargs)
        self.url = url

    def get_connection(self, conn_id: str) -> Connection:  # type: ignore[override]
        # The hook uses a password containing "://" as the whole webhook URL.
        return Connection(conn_id=conn_id, conn_type="slackwebhook", password=self.url)


class SlackPostProcessingOperator(PostProcessingOperator[SlackParameters]):
    """Post a message about the job run to Slack; any answer but 200 fails the task."""

    parameters_model = SlackParameters
    kind = "slack"
    ui_color = "#e3d4f2"

    def send(self, parameters: SlackParameters, payload: dict[str, Any], context: Context) -> dict[str, Any]:
        text = render_template(parameters.text, payload, markup="slack", what="text")
        if parameters.webhook_url:
            # The URL's path is the credential: name only its host.
            target = f"Slack webhook at {url_origin(parameters.webhook_url)}"
            hook: SlackWebhookHook = _UrlSlackWebhookHook(
                url=parameters.webhook_url, timeout=parameters.timeout_seconds
            )
        else:
            target = f"Slack webhook connection {parameters.slack_webhook_conn_id!r}"
            hook = SlackWebhookHook(
                slack_webhook_conn_id=parameters.slack_webhook_conn_id, timeout=parameters.timeout_seconds
            )

        self.log.info("Posting the %s message to %s", self.status, target)
        try:
            with warnings.catch_warnings():
                # The field's description already says that Slack apps ignore the channel.
                warnings.filterwarnings("ignore", message="You cannot override the default channel")
                hook.send(text=text, channel=parameters.channel)
        except (AirflowException, OSError, SlackClientError) as error:
            raise AirflowException(
                f"{target} refused the {self.status} message: {type(error).__name__}: {error}"
            ) from error
        self.log.info("%s accepted the %s message", target, self.status)
        return {"target": target}


POST_PROCESSING_TYPE = PostProcessingType(
    name="slack",
    title="Slack",
    description="Post a message (a template over the payload) through a Slack incoming webhook.",
    parameters_model=SlackParameters,
    operator_class=SlackPostProcessingOperator,
)
