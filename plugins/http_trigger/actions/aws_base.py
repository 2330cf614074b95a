"""What the AWS action operators share: constructor, templating, and their waits.

An :class:`AwsActionOperator` runs over one provider hook, so connection, region and retries come
from the provider; it hands that hook to the service helpers of :mod:`http_trigger.actions.aws`,
which make the calls and describe the waits (a :class:`~http_trigger.actions.waiting.Wait`).

The operator runs each wait with :meth:`AwsActionOperator.wait_then`: in the worker, or, when
deferrable (the default, ``[http_trigger] deferrable_waits``), in Airflow's triggerer, so a wait of
an hour holds no worker slot. What comes after a wait is a method of the operator, named in the
deferral, so the task resumes there with the same state and ends exactly as the worker's wait would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils import validate_execute_complete_event
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.sdk.exceptions import AirflowException

from http_trigger import settings
from http_trigger.actions.base import ActionOperatorMixin
from http_trigger.actions.waiting import OUT_OF_CHECKS, Wait, WaitLimits, WaitTrigger, reached, wait_until

if TYPE_CHECKING:
    from airflow.sdk import Context

# Added to a deferral's timeout when the task has no execution timeout, so a stopped triggerer
# fails the task instead of leaving it deferred for ever; the trigger's own checks end first.
DEFERRAL_GRACE = timedelta(minutes=10)

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
    :param deferrable: wait in Airflow's triggerer instead of the worker. Default: the
        ``[http_trigger] deferrable_waits`` option (True). A deferred wait makes at most as many
        checks as fit in the task's ``execution_timeout``, counted from the deferral, as Airflow
        does not run that clock while a task is deferred.
    """

    template_fields: Sequence[str] = aws_template_fields("parameters")
    template_fields_renderers = {"parameters": "json"}

    def __init__(
        self,
        *,
        parameters: dict[str, Any] | None = None,
        waiter_delay: int = 5,
        waiter_max_attempts: int = 720,
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.parameters = parameters
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts
        self.deferrable = settings.deferrable_waits() if deferrable is None else deferrable

    @property
    def wait_limits(self) -> WaitLimits:
        """The polling this operator was built with, for the service helpers that wait."""
        return WaitLimits(delay=self.waiter_delay, max_attempts=self.waiter_max_attempts)

    def wait_then(
        self,
        context: Context,
        parameters: Any,
        wait: Wait,
        *,
        then: str,
        hook: AwsGenericHook | None = None,
        **state: Any,
    ) -> Any:
        """Wait for ``wait`` (on ``hook``, by default the operator's), then return ``self.<then>(...)``.

        ``then`` is called as ``then(context, parameters, **state)``, at once or when the task
        resumes, so ``state`` must be JSON-able. A deferrable operator checks once in the worker
        first: resources already in their final state need no trigger (and a trigger firing at once
        is what apache/airflow#67287 fails in Airflow 3.3.2).
        """
        hook = hook or self.hook
        if not self.deferrable:
            wait_until(hook, wait, limits=self.wait_limits)
        elif not reached(hook, wait):
            checks = self._deferred_checks()
            self.log.info(
                "%s; waiting in the triggerer (a check every %s s, %s more at most)",
                wait.status_message,
                self.waiter_delay,
                checks,
            )
            self.defer(
                trigger=WaitTrigger(
                    wait=wait.serialize(),
                    client_type=hook.client_type,
                    waiter_delay=self.waiter_delay,
                    waiter_max_attempts=checks,
                    aws_conn_id=self.aws_conn_id,
                    region_name=hook.conn_region_name,
                    verify=self.verify,
                    botocore_config=self.botocore_config,
                ),
                method_name="resume_after_wait",
                kwargs={"wait": wait.serialize(), "checks": checks + 1, "then": then, "state": state},
                # Only a triggerer that is down lets this pass: the trigger gives up first.
                timeout=timedelta(seconds=self.waiter_delay * checks) + DEFERRAL_GRACE,
            )
        self.log.info("%s are %s", wait.resources, wait.final_state)
        return getattr(self, then)(context, parameters, **state)

    def wait_each_then(
        self, context: Context, parameters: Any, waits: list[Wait], *, then: str, **state: Any
    ) -> Any:
        """Wait for each of ``waits`` in turn (each may defer), then return ``self.<then>(...)``."""
        if not waits:
            return getattr(self, then)(context, parameters, **state)
        first, *rest = waits
        rest_state = {"waits": [wait.serialize() for wait in rest], "after": then}
        return self.wait_then(context, parameters, first, then="_wait_next", **rest_state, **state)

    def _wait_next(
        self, context: Context, parameters: Any, *, waits: list[dict[str, Any]], after: str, **state: Any
    ) -> Any:
        return self.wait_each_then(context, parameters, [Wait(**wait) for wait in waits], then=after, **state)

    def _deferred_checks(self) -> int:
        """Return the checks left to the trigger: the operator's, bounded by its execution timeout.

        Airflow does not run ``execution_timeout`` while a task is deferred, so the trigger's own
        limit plays its part, and the task fails with the same words as a wait that ran out.
        """
        checks = self.waiter_max_attempts - 1
        if self.execution_timeout is not None:
            checks = min(checks, int(self.execution_timeout.total_seconds() // max(self.waiter_delay, 1)))
        return max(checks, 1)

    def resume_after_wait(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        *,
        wait: dict[str, Any],
        checks: int,
        then: str,
        state: dict[str, Any],
    ) -> Any:
        """Go on after the triggerer's wait ended, or fail as the worker's wait would have.

        The event is read as the provider's ``execute_complete`` methods read theirs; what follows
        is the step the operator named when it deferred.
        """
        event = validate_execute_complete_event(event)
        waited = Wait(**wait)
        if event.get("status") != "success":
            message = event.get("message", "no message")
            if event.get("reason") == OUT_OF_CHECKS:
                message = waited.out_of_checks(checks, message)
            self.after_failed_wait(then=then, state=state)
            raise AirflowException(message)
        self.log.info("%s are %s", waited.resources, waited.final_state)
        return getattr(self, then)(context, self.validated_parameters(context), **state)

    def after_failed_wait(self, *, then: str, state: dict[str, Any]) -> None:
        """Clean up after a wait in the triggerer failed or ran out; the worker's wait uses ``on_kill``."""
