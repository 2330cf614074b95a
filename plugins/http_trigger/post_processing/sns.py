"""Amazon SNS post-processing: publish the run's payload, as JSON, to an SNS topic.

Subscribers get the payload as the message and the subject template as its subject (used by
email subscriptions). ``status``, ``trigger_job_id``, ``dag_id`` and ``trigger_source`` are also
sent as message attributes, so a subscription's filter policy can take, say, failures only.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.hooks.sns import SnsHook
from pydantic import ConfigDict, Field

from http_trigger.post_processing.aws_message import AwsMessageOperator
from http_trigger.post_processing.base import (
    AwsConnectionId,
    AwsRegion,
    PostProcessingParameters,
    PostProcessingType,
    Template,
    aws_message_attributes,
)
from http_trigger.post_processing.payload import payload_json
from http_trigger.post_processing.templates import render_template

TOPIC_ARN_PATTERN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"
# SNS: a subject is ASCII, one line, shorter than 100 characters.
SUBJECT_MAX_LENGTH = 99
DEFAULT_SUBJECT = "[{{ status }}] {{ name }}"


class SnsParameters(PostProcessingParameters):
    """Which SNS topic receives the payload, with which subject, through which AWS connection."""

    model_config = ConfigDict(title="Amazon SNS")

    topic_arn: str = Field(
        pattern=TOPIC_ARN_PATTERN,
        title="Topic ARN",
        description="e.g. arn:aws:sns:us-east-1:123456789012:ops-notifications (a .fifo topic works too).",
    )
    subject: Template = Field(
        default=DEFAULT_SUBJECT,
        title="Subject",
        description="Jinja template over the payload's fields; sent as one ASCII line of at most 99 chars.",
    )
    aws_conn_id: AwsConnectionId = "aws_default"
    region: AwsRegion = None


def sns_subject(text: str) -> str:
    """Fit ``text`` to SNS's subject rules: one line, printable ASCII (others become ?), < 100 chars."""
    line = "".join(c if " " <= c <= "~" else "?" for c in " ".join(text.split())) or "-"
    return line if len(line) <= SUBJECT_MAX_LENGTH else line[: SUBJECT_MAX_LENGTH - 3] + "..."


class SnsPostProcessingOperator(AwsMessageOperator[SnsParameters]):
    """Publish the job run's payload as JSON to an SNS topic; a refused publish fails the task."""

    parameters_model = SnsParameters
    kind = "sns"
    ui_color = "#f2d4c9"
    target_label = "SNS topic"
    result_key = "topic_arn"
    verb = "Publishing"
    hook_class = SnsHook

    def target(self, parameters: SnsParameters) -> str:
        return parameters.topic_arn

    def target_region(self, target: str) -> str:
        # A topic is published to in its own region, which its ARN names.
        return target.split(":")[3]

    def deliver(
        self, hook: SnsHook, parameters: SnsParameters, payload: dict[str, Any], *, fifo: dict[str, str]
    ) -> str:
        subject = sns_subject(render_template(parameters.subject, payload, what="subject"))
        response = hook.publish_to_target(
            target_arn=parameters.topic_arn,
            message=payload_json(payload),
            subject=subject,
            message_attributes=aws_message_attributes(payload),
            **fifo,
        )
        return response["MessageId"]


POST_PROCESSING_TYPE = PostProcessingType(
    name="sns",
    title="Amazon SNS",
    description="Publish the payload as JSON to an SNS topic through an Airflow AWS connection.",
    parameters_model=SnsParameters,
    operator_class=SnsPostProcessingOperator,
)
