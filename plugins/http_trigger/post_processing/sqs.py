"""Amazon SQS post-processing: send the run's payload, as JSON, to an SQS queue.

The message body is the payload; ``status``, ``trigger_job_id``, ``dag_id`` and ``trigger_source``
are also sent as message attributes, so a consumer can route without parsing the body.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from airflow.providers.amazon.aws.hooks.sqs import SqsHook
from pydantic import ConfigDict, Field

from http_trigger.post_processing.aws_message import AwsMessageOperator
from http_trigger.post_processing.base import (
    AwsConnectionId,
    AwsRegion,
    HttpUrl,
    PostProcessingParameters,
    PostProcessingType,
    aws_message_attributes,
)
from http_trigger.post_processing.payload import payload_json

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


class SqsPostProcessingOperator(AwsMessageOperator[SqsParameters]):
    """Send the job run's payload as JSON to an SQS queue; a refused message fails the task."""

    parameters_model = SqsParameters
    kind = "sqs"
    ui_color = "#f2c9d8"
    target_label = "SQS queue"
    result_key = "queue_url"
    verb = "Sending"
    hook_class = SqsHook

    def target(self, parameters: SqsParameters) -> str:
        return parameters.queue_url

    def target_region(self, target: str) -> str | None:
        return queue_region(target)

    def deliver(
        self, hook: SqsHook, parameters: SqsParameters, payload: dict[str, Any], *, fifo: dict[str, str]
    ) -> str:
        response = hook.send_message(
            queue_url=parameters.queue_url,
            message_body=payload_json(payload),
            message_attributes=_sqs_attributes(aws_message_attributes(payload)),
            **fifo,
        )
        return response["MessageId"]


POST_PROCESSING_TYPE = PostProcessingType(
    name="sqs",
    title="Amazon SQS",
    description="Send the payload as JSON to an SQS queue through an Airflow AWS connection.",
    parameters_model=SqsParameters,
    operator_class=SqsPostProcessingOperator,
)
