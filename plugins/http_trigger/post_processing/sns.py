"""Amazon SNS post-processing: publish the run's payload, as JSON, to an SNS topic.

Subscribers get the payload as the message and the subject template as its subject (used by
email subscriptions). ``status``, ``trigger_job_id``, ``dag_id`` and ``trigger_source`` are also
sent as message attributes, so a subscription's filter policy can take, say, failures only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.sns import SnsHook
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ConfigDict, Field

from http_trigger.post_processing.base import (
    AwsConnectionId,
    AwsRegion,
    PostProcessingOperator,
    PostProcessingParameters,
    PostProcessingType,
    Template,
    aws_message_attributes,
    fifo_message_ids,
)
from http_trigger.post_processing.payload import payload_json
from http_trigger.post_processing.templates import render_template

if TYPE_CHECKING:
    from airflow.sdk import Context

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


class SnsPostProcessingOperator(PostProcessingOperator[SnsParameters]):
    """Publish the job run's payload as JSON to an SNS topic; a refused publish fails the task."""

    parameters_model = SnsParameters
    kind = "sns"
    ui_color = "#f2d4c9"

    def send(self, parameters: SnsParameters, payload: dict[str, Any], context: Context) -> dict[str, Any]:
        topic = parameters.topic_arn
        subject = sns_subject(render_template(parameters.subject, payload, what="subject"))
        group_id = deduplication_id = None
        if topic.endswith(".fifo"):
            group_id, deduplication_id = fifo_message_ids(payload, self.task_id)
        # A topic is published to in its own region, which its ARN names.
        region = parameters.region or topic.split(":")[3]

        self.log.info("Publishing the %s payload to SNS topic %s", self.status, topic)
        hook = SnsHook(aws_conn_id=parameters.aws_conn_id, region_name=region)
        try:
            response = hook.publish_to_target(
                target_arn=topic,
                message=payload_json(payload),
                subject=subject,
                message_attributes=aws_message_attributes(payload),
                message_group_id=group_id,
                message_deduplication_id=deduplication_id,
            )
        except (ClientError, BotoCoreError) as error:
            raise AirflowException(
                f"SNS topic {topic} refused the {self.status} payload "
                f"(AWS connection {parameters.aws_conn_id!r}): {error}"
            ) from error
        message_id = response["MessageId"]
        self.log.info("SNS topic %s accepted the %s payload as message %s", topic, self.status, message_id)
        return {"topic_arn": topic, "message_id": message_id}


POST_PROCESSING_TYPE = PostProcessingType(
    name="sns",
    title="Amazon SNS",
    description="Publish the payload as JSON to an SNS topic through an Airflow AWS connection.",
    parameters_model=SnsParameters,
    operator_class=SnsPostProcessingOperator,
)
