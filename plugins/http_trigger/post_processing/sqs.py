"""Amazon SQS post-processing: send the run's payload, as JSON, to an SQS queue.

The message body is the payload; ``status``, ``trigger_job_id``, ``dag_id`` and ``trigger_source``
are also sent as message attributes, so a consumer can route without parsing the body.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.providers.amazon.aws.hooks.sqs import SqsHook
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ConfigDict, Field

from http_trigger.post_processing.base import (
    AwsConnectionId,
    AwsRegion,
    HttpUrl,
    PostProcessingOperator,
    PostProcessingParameters,
    PostProcessingType,
    aws_message_attributes,
    fifo_message_ids,
)
from http_trigger.post_processing.payload import payload_json

if TYPE_CHECKING:
    from airflow.sdk import Context

# sqs.<region>.amazonaws.com[.cn] and the legacy <region>.queue.amazonaws.com[.cn]
_REGION_IN_HOST = re.compile(
    r"(?:^|\.)sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$|^([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?$"
)


class SqsParameters(PostProcessingParameters):
    """Which SQS queue receives the payload, through which AWS connection."""

    model_config = ConfigDict(title="Amazon SQS")

    queue_url: HttpUrl = Field(
        title="Queue URL",
        description="e.g. https://sqs.us-east-1.amazonaws.com/123456789012/ops-events (.fifo queues too).",
    )
    aws_conn_id: AwsConnectionId = "aws_default"
    region: AwsRegion = None


def queue_region(queue_url: str) -> str | None:
    """Return the region an AWS queue URL names, or None (e.g. a local endpoint's URL)."""
    match = _REGION_IN_HOST.search(urlsplit(queue_url).hostname or "")
    return (match.group(1) or match.group(2)) if match else None


def _sqs_attributes(values: dict[str, str | int]) -> dict[str, dict[str, str]]:
    return {
        name: {"DataType": "Number", "StringValue": str(value)}
        if isinstance(value, int)
        else {"DataType": "String", "StringValue": value}
        for name, value in values.items()
    }


class SqsPostProcessingOperator(PostProcessingOperator[SqsParameters]):
    """Send the job run's payload as JSON to an SQS queue; a refused message fails the task."""

    parameters_model = SqsParameters
    kind = "sqs"
    ui_color = "#f2c9d8"

    def send(self, parameters: SqsParameters, payload: dict[str, Any], context: Context) -> dict[str, Any]:
        queue = parameters.queue_url
        group_id = deduplication_id = None
        if queue.endswith(".fifo"):
            group_id, deduplication_id = fifo_message_ids(payload, self.task_id)
        region = parameters.region or queue_region(queue)

        self.log.info("Sending the %s payload to SQS queue %s", self.status, queue)
        hook = SqsHook(aws_conn_id=parameters.aws_conn_id, region_name=region)
        try:
            response = hook.send_message(
                queue_url=queue,
                message_body=payload_json(payload),
                message_attributes=_sqs_attributes(aws_message_attributes(payload)),
                message_group_id=group_id,
                message_deduplication_id=deduplication_id,
            )
        except (ClientError, BotoCoreError) as error:
            raise AirflowException(
                f"SQS queue {queue} refused the {self.status} payload "
                f"(AWS connection {parameters.aws_conn_id!r}): {error}"
            ) from error
        message_id = response["MessageId"]
        self.log.info("SQS queue %s accepted the %s payload as message %s", queue, self.status, message_id)
        return {"queue_url": queue, "message_id": message_id}


POST_PROCESSING_TYPE = PostProcessingType(
    name="sqs",
    title="Amazon SQS",
    description="Send the payload as JSON to an SQS queue through an Airflow AWS connection.",
    parameters_model=SqsParameters,
    operator_class=SqsPostProcessingOperator,
)
