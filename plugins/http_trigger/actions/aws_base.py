"""What the AWS action operators share: constructor, templating, and the limits of their waits.

An :class:`AwsActionOperator` runs over one provider hook, so connection, region and retries come
from the provider; it hands that hook and its :class:`~http_trigger.actions.waiting.WaitLimits` to
the service helpers of :mod:`http_trigger.actions.aws`, which make the calls and the waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from http_trigger.actions.base import ActionOperatorMixin
from http_trigger.actions.waiting import WaitLimits

AwsHookType = TypeVar("AwsHookType", bound=AwsGenericHook)


class AwsActionOperator(ActionOperatorMixin, AwsBaseOperator[AwsHookType]):
    """
    Base of the AWS action operators: parameters in, a provider hook, and waits with a limit.

    :param parameters: the action's parameters, or None to read them from the DAG run's ``conf``
        when the task runs.
    :param waiter_delay: seconds between two state checks while waiting. A few seconds keeps the
        task short without flooding the service.
    :param waiter_max_attempts: state checks before giving up; the task's ``execution_timeout``
        usually ends a stuck wait first.
    """

    template_fields: Sequence[str] = aws_template_fields("parameters")
    template_fields_renderers = {"parameters": "json"}

    def __init__(
        self,
        *,
        parameters: dict[str, Any] | None = None,
        waiter_delay: int = 5,
        waiter_max_attempts: int = 720,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.parameters = parameters
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts

    @property
    def wait_limits(self) -> WaitLimits:
        """The polling this operator was built with, for the service helpers that wait."""
        return WaitLimits(delay=self.waiter_delay, max_attempts=self.waiter_max_attempts)
