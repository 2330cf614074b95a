"""Step Functions executions over the provider's ``StepFunctionHook``, for the Step Functions action.

The provider's ``step_function_succeeded`` waiter keeps polling an execution that TIMED_OUT, so
the wait here uses that same custom waiter with its acceptors overridden so every final status
ends it, then fails with the execution's own error and cause.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError

from http_trigger.actions.aws import SUMMARY_EXCERPT_CHARS, excerpt
from http_trigger.actions.waiting import Wait

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.step_function import StepFunctionHook

log = logging.getLogger(__name__)

_FINAL_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
_FINAL_STATUS_ACCEPTORS = [
    {"matcher": "path", "argument": "status", "expected": status, "state": "success"}
    for status in _FINAL_STATUSES
]


def start_execution(
    hook: StepFunctionHook, state_machine_arn: str, *, name: str, state_machine_input: dict[str, Any]
) -> str:
    """Start an execution called ``name`` with the input; return its ARN."""
    log.info("Starting an execution of state machine %s", state_machine_arn)
    try:
        execution_arn = hook.start_execution(
            state_machine_arn=state_machine_arn, name=name, state_machine_input=state_machine_input
        )
    except ClientError as error:
        raise AirflowException(
            f"Starting an execution of state machine {state_machine_arn} failed: {error}"
        ) from error
    log.info("Started Step Functions execution %s", execution_arn)
    return execution_arn


def execution_wait(execution_arn: str) -> Wait:
    """Describe a wait with the provider's ``step_function_succeeded`` waiter until the execution ends."""
    return Wait(
        waiter_name="step_function_succeeded",
        args={"executionArn": execution_arn},
        resources=f"Step Functions execution {execution_arn}",
        final_state="ended",
        status_args=["status"],
        config_overrides={"acceptors": _FINAL_STATUS_ACCEPTORS},
    )


def succeeded_output(hook: StepFunctionHook, execution_arn: str) -> str:
    """Return the ended execution's output if it SUCCEEDED, else fail with its error and cause."""
    subject = f"Step Functions execution {execution_arn}"
    execution = hook.describe_execution(execution_arn)
    status = execution["status"]
    if status != "SUCCEEDED":
        error = execution.get("error") or "no error given"
        cause = excerpt(execution.get("cause") or "no cause given", SUMMARY_EXCERPT_CHARS // 2)
        raise AirflowException(f"{subject} ended {status}: {error}: {cause}")
    output = execution.get("output") or ""
    log.info("%s SUCCEEDED with output: %s", subject, excerpt(output))
    return output
