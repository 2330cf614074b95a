"""Wait for AWS resources with a boto waiter, in the worker or in Airflow's triggerer, naming them.

A :class:`Wait` says once what an action waits for (the waiter, its arguments, the resources and
their final state), so the same wait can run two ways: polled in the worker by the provider's
``wait`` function (:func:`wait_until`), or handed to the triggerer as a :class:`WaitTrigger`,
which polls with the provider's ``async_wait``. Both log every check and fail with the same words
when the resources never get there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.exceptions import WaiterMaxAttemptsError
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.triggers.base import AwsBaseWaiterTrigger
from airflow.providers.amazon.aws.utils.waiter_with_logging import async_wait, wait
from airflow.providers.amazon.aws.waiters.base_waiter import BaseBotoWaiter
from airflow.sdk.exceptions import AirflowException
from airflow.triggers.base import TriggerEvent

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook
    from botocore.waiter import Waiter

# Marks a trigger's error event that ran out of checks, so the task fails with the sync wording.
OUT_OF_CHECKS = "out_of_checks"


@dataclass(frozen=True)
class WaitLimits:
    """How a wait polls: seconds between two checks, and checks before giving up.

    One value travels from the operator (where the job's settings live) to the service helpers
    that wait, so no helper needs to know about operators.
    """

    delay: int
    max_attempts: int


@dataclass(frozen=True)
class Wait:
    """What one wait waits for: a waiter, its arguments, and the resources and state it names.

    ``waiter_name`` is a boto waiter, a provider waiter (``hook.get_waiter``), or, with ``model``,
    one of the action's own waiter models (for states neither has a waiter for). Everything is
    plain data, so a deferred task hands it to its trigger and gets it back when it resumes.
    """

    waiter_name: str
    args: dict[str, Any]
    resources: str
    final_state: str
    status_args: list[str]
    model: dict[str, Any] | None = None
    config_overrides: dict[str, Any] | None = field(default=None)

    @property
    def failure_message(self) -> str:
        return f"{self.resources} did not become {self.final_state}"

    @property
    def status_message(self) -> str:
        return f"Waiting for {self.resources} to be {self.final_state}"

    def out_of_checks(self, checks: int, error: object) -> str:
        """Return the error of a wait that gave up after ``checks`` checks."""
        return f"{self.resources} were not all {self.final_state} after {checks} checks: {error}"

    def waiter(self, hook: AwsGenericHook, *, client: Any = None) -> Waiter:
        """Return the waiter on the hook's client, or on ``client`` (an aiobotocore one) when given."""
        deferrable = client is not None
        if self.model is not None:
            model_client = client if deferrable else hook.conn
            return BaseBotoWaiter(client=model_client, model_config=self.model, deferrable=deferrable).waiter(
                self.waiter_name
            )
        if deferrable:
            return hook.get_waiter(
                self.waiter_name, deferrable=True, client=client, config_overrides=self.config_overrides
            )
        return hook.get_waiter(self.waiter_name, config_overrides=self.config_overrides)

    def serialize(self) -> dict[str, Any]:
        return asdict(self)


def wait_until(hook: AwsGenericHook, wait_for: Wait, *, limits: WaitLimits) -> None:
    """Poll in the worker until the resources are in their final state, or fail naming them."""
    try:
        wait(
            waiter=wait_for.waiter(hook),
            waiter_delay=limits.delay,
            waiter_max_attempts=limits.max_attempts,
            args=wait_for.args,
            failure_message=wait_for.failure_message,
            status_message=wait_for.status_message,
            status_args=wait_for.status_args,
        )
    except WaiterMaxAttemptsError as error:
        raise AirflowException(wait_for.out_of_checks(limits.max_attempts, error)) from error


def reached(hook: AwsGenericHook, wait_for: Wait) -> bool:
    """Check once whether the resources are in their final state; fail as :func:`wait_until` would.

    A deferring task checks first: resources already there need no trigger, and a trigger that
    fires at once is what Airflow 3.3 mishandles (see :mod:`http_trigger.actions.utility`).
    """
    try:
        wait(
            waiter=wait_for.waiter(hook),
            waiter_delay=0,
            waiter_max_attempts=1,
            args=wait_for.args,
            failure_message=wait_for.failure_message,
            status_message=wait_for.status_message,
            status_args=wait_for.status_args,
        )
    except WaiterMaxAttemptsError:
        return False
    return True


class WaitTrigger(AwsBaseWaiterTrigger):
    """Wait in the triggerer for a :class:`Wait`, with the waiter the worker's wait uses.

    Written here because each of the provider's triggers waits for one resource with a waiter
    fixed in its class (``RdsDbAvailableTrigger``: one DB instance, ``EC2StateSensorTrigger``: one
    instance), while an action waits for several at once (EC2 instances i-1, i-2), sometimes with
    a waiter model of its own. The provider's :class:`AwsBaseWaiterTrigger` does the polling, the
    logging and the events; this class names the AWS client, builds the waiter, waits one delay
    before its first check, and marks an error event that ran out of checks.
    """

    aws_hook_class = AwsBaseHook

    def __init__(
        self,
        *,
        wait: dict[str, Any],
        client_type: str,
        waiter_delay: int,
        waiter_max_attempts: int,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict | None = None,
    ) -> None:
        self.wait = Wait(**wait)
        self.client_type = client_type
        super().__init__(
            serialized_fields={"wait": wait, "client_type": client_type},
            waiter_name=self.wait.waiter_name,
            waiter_args=self.wait.args,
            failure_message=self.wait.failure_message,
            status_message=self.wait.status_message,
            status_queries=self.wait.status_args,
            return_key="resources",
            return_value=self.wait.resources,
            waiter_delay=waiter_delay,
            waiter_max_attempts=waiter_max_attempts,
            waiter_config_overrides=self.wait.config_overrides,
            aws_conn_id=aws_conn_id,
            region_name=region_name,
            verify=verify,
            botocore_config=botocore_config,
        )

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {**super()._hook_parameters, "client_type": self.client_type}

    def _event_from_exception(self, error: AirflowException) -> TriggerEvent:
        event = super()._event_from_exception(error)
        if isinstance(error, WaiterMaxAttemptsError):
            event.payload["reason"] = OUT_OF_CHECKS
        elif event.payload["message"].startswith(self.failure_message):
            # async_wait puts the last response between the two (the triggerer logs it): the
            # task fails with the worker's words, "<resources> did not become <state>: <error>".
            waiter_error = event.payload["message"].splitlines()[-1]
            event.payload["message"] = f"{self.failure_message}: {waiter_error}"
        return event

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # The worker checked just before deferring. Checking again at once would gain nothing,
        # and an event that fires before the scheduler has seen the deferral is what Airflow
        # 3.3.2 mishandles (apache/airflow#67287): the first check here waits one delay.
        await asyncio.sleep(self.waiter_delay)
        hook = self.hook()
        async with await hook.get_async_conn() as client:
            try:
                await async_wait(
                    self.wait.waiter(hook, client=client),
                    self.waiter_delay,
                    self.attempts,
                    self.waiter_args,
                    self.failure_message,
                    self.status_message,
                    self.status_queries,
                )
            except AirflowException as error:
                yield self._event_from_exception(error)
            else:
                yield TriggerEvent({"status": "success", self.return_key: self.return_value})
