"""What the AWS action operators share: constructor, templating, bounded waits, output excerpts.

An :class:`AwsActionOperator` runs over one provider hook, so connection, region and retries come
from the provider; its waits go through :func:`http_trigger.actions.waiting.wait_until` with boto
waiters (the service's own, the provider's custom ones, or a small model built with the
provider's ``BaseBotoWaiter`` where neither has one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from http_trigger.actions.base import ActionOperatorMixin
from http_trigger.actions.waiting import WaitLimits, wait_until

if TYPE_CHECKING:
    from botocore.waiter import Waiter

AwsHookType = TypeVar("AwsHookType", bound=AwsGenericHook)

# How much of a command's output or a function's answer goes to the task log and the summary.
LOG_EXCERPT_CHARS = 4000
SUMMARY_EXCERPT_CHARS = 1000


def excerpt(text: str | None, limit: int = LOG_EXCERPT_CHARS) -> str:
    """Return ``text`` cut to ``limit`` characters, saying how much was left out."""
    text = text or ""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


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

    def wait_until(
        self,
        waiter: Waiter,
        *,
        args: dict[str, Any],
        subject: str,
        state: str,
        status_args: list[str],
    ) -> None:
        """Wait until ``subject`` is ``state``; a failure state or the attempt limit fails naming it."""
        wait_until(
            waiter,
            args=args,
            resources=subject,
            final_state=state,
            status_args=status_args,
            limits=self.wait_limits,
        )
