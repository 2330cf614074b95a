"""Shared parts of the action tests: moto in-process with fake credentials, and running an operator.

An operator that defers is run to its end as its task would be: the wait its trigger was given is
polled with the trigger's own waiter and limits, the event is the one the trigger would send,
and the task resumes with it. Only the polling is the worker's (moto in-process answers botocore,
not the triggerer's aiobotocore); the real triggerer runs in the integration tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.sdk.exceptions import AirflowException, TaskDeferred
from airflow.triggers.base import TriggerEvent
from moto import mock_aws

from http_trigger.actions.waiting import WaitLimits, WaitTrigger, wait_until

REGION = "us-east-1"


class RecordingTaskInstance:
    """Stands in for the task instance: keeps what the operator pushes to XCom."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@contextmanager
def moto_account(config: dict[str, Any] | None = None) -> Iterator[None]:
    """Run the block on moto in-process, with fake credentials so nothing can reach AWS."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            patch.setenv(name, value)
        with mock_aws(config=config):
            yield


def make_operator(operator_class: type, parameters: dict[str, Any] | None, **kwargs: Any) -> Any:
    """Build the operator as the DAG builder does, checking state without pauses."""
    arguments = {"task_id": "action", "aws_conn_id": None, "region_name": REGION, "waiter_delay": 0, **kwargs}
    return operator_class(parameters=parameters, **arguments)


def run(
    operator_class: type,
    parameters: dict[str, Any] | None,
    *,
    conf: dict[str, Any] | None = None,
    ti: RecordingTaskInstance | None = None,
    **kwargs: Any,
) -> Any:
    """Run the action the way its task does, through every deferral, and return the task's result."""
    operator = make_operator(operator_class, parameters, **kwargs)
    context = task_context(conf=conf, ti=ti)
    try:
        return operator.execute(context)
    except TaskDeferred as deferred:
        return finish_deferred(operator, deferred, context)


def task_context(*, conf: dict[str, Any] | None = None, ti: RecordingTaskInstance | None = None) -> Any:
    context: dict[str, Any] = {"dag_run": SimpleNamespace(conf=conf)}
    if ti is not None:
        context["ti"] = ti
    return context


def finish_deferred(operator: Any, deferred: TaskDeferred, context: Any) -> Any:
    """Wait as the deferral's trigger would, then resume the task with its event, until it ends."""
    while True:
        event = trigger_event(deferred.trigger)
        try:
            return resume(operator, deferred, event.payload, context)
        except TaskDeferred as again:
            deferred = again


def resume(operator: Any, deferred: TaskDeferred, event: Any, context: Any) -> Any:
    """Resume the task after ``deferred`` with ``event``, as Airflow's task runner does."""
    return operator.resume_execution(
        deferred.method_name, {**(deferred.kwargs or {}), "event": event}, context
    )


def trigger_event(trigger: WaitTrigger) -> TriggerEvent:
    """Return the event ``trigger`` would send, polling its wait with its waiter and limits."""
    assert isinstance(trigger, WaitTrigger)
    hook = AwsBaseHook(client_type=trigger.client_type, aws_conn_id=None, region_name=trigger.region_name)
    limits = WaitLimits(delay=trigger.waiter_delay, max_attempts=trigger.attempts)
    try:
        wait_until(hook, trigger.wait, limits=limits)
    except AirflowException as error:
        # wait_until words running out as the task does; the trigger sends the provider's error.
        return trigger._event_from_exception(error.__cause__ or error)
    return TriggerEvent({"status": "success", trigger.return_key: trigger.return_value})
