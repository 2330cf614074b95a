"""What the SNS and SQS kinds share: send the run's payload, as JSON, through a provider hook.

Both kinds send the same document with the same message attributes, choose a FIFO target's
message group and deduplication id the same way, take the target's region from its ARN or URL
unless told, and fail naming the target and the AWS connection. A kind states only what differs:
how its target is named and found, and its hook call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import BotoCoreError, ClientError

from http_trigger.post_processing.base import (
    PostProcessingOperator,
    PostProcessingParameters,
    fifo_message_ids,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

MessageParametersT = TypeVar("MessageParametersT", bound=PostProcessingParameters)


class AwsMessageOperator(PostProcessingOperator[MessageParametersT]):
    """
    Send the job run's payload as JSON to one AWS messaging target; a refused message fails the task.

    Subclasses name their target and hook (``target_label``, ``result_key``, ``verb``,
    ``hook_class``) and implement :meth:`target`, :meth:`target_region` and :meth:`deliver`.
    Their parameters carry ``aws_conn_id`` and ``region``.
    """

    # How logs and errors name the target, e.g. "SNS topic".
    target_label: ClassVar[str]
    # The summary's key for the target, e.g. "topic_arn".
    result_key: ClassVar[str]
    # The log's verb for sending, e.g. "Publishing".
    verb: ClassVar[str]
    hook_class: ClassVar[type[AwsGenericHook]]

    def send(self, parameters: Any, payload: dict[str, Any], context: Context) -> dict[str, Any]:
        target = self.target(parameters)
        fifo: dict[str, str] = {}
        if target.endswith(".fifo"):
            group_id, deduplication_id = fifo_message_ids(payload, self.task_id)
            fifo = {"message_group_id": group_id, "message_deduplication_id": deduplication_id}
        region = parameters.region or self.target_region(target)

        self.log.info("%s the %s payload to %s %s", self.verb, self.status, self.target_label, target)
        hook = self.hook_class(aws_conn_id=parameters.aws_conn_id, region_name=region)
        try:
            message_id = self.deliver(hook, parameters, payload, fifo=fifo)
        except (ClientError, BotoCoreError) as error:
            raise AirflowException(
                f"{self.target_label} {target} refused the {self.status} payload "
                f"(AWS connection {parameters.aws_conn_id!r}): {error}"
            ) from error
        self.log.info(
            "%s %s accepted the %s payload as message %s", self.target_label, target, self.status, message_id
        )
        return {self.result_key: target, "message_id": message_id}

    def target(self, parameters: Any) -> str:
        """Return the target's ARN or URL; one ending in ``.fifo`` is a FIFO topic or queue."""
        raise NotImplementedError

    def target_region(self, target: str) -> str | None:
        """Return the region the target's ARN or URL names, or None for the connection's own."""
        raise NotImplementedError

    def deliver(self, hook: Any, parameters: Any, payload: dict[str, Any], *, fifo: dict[str, str]) -> str:
        """Send ``payload`` with ``hook``; return the message id AWS gave it.

        ``fifo`` holds ``message_group_id`` and ``message_deduplication_id`` for a FIFO target, as
        both provider hooks name them, and is empty otherwise.
        """
        raise NotImplementedError
