"""Step Functions actions: start a state machine execution with JSON input, optionally wait for its end.

The provider's ``StepFunctionStartExecutionOperator`` takes its arguments when the DAG is built
and, when waiting, uses the provider's ``step_function_succeeded`` waiter, which keeps polling an
execution that TIMED_OUT. This operator starts the execution with the provider's
``StepFunctionHook`` and waits with that same custom waiter, its acceptors overridden so every
final status ends the wait, then fails with the execution's own error and cause
(:mod:`http_trigger.actions.aws.stepfunctions`).
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.hooks.step_function import StepFunctionHook
from pydantic import ConfigDict, Field

from http_trigger.actions.aws import SUMMARY_EXCERPT_CHARS, excerpt, stepfunctions
from http_trigger.actions.aws_base import AwsActionOperator
from http_trigger.actions.base import ActionParameters, ActionType

if TYPE_CHECKING:
    from airflow.sdk import Context

STATE_MACHINE_ARN_PATTERN = r"^arn:[\w-]+:states:[a-z0-9-]+:\d{12}:stateMachine:[\w-]{1,80}(:[\w-]+)?$"
EXECUTION_NAME_PATTERN = r"^[0-9A-Za-z_-]{1,80}$"


class StepFunctionsStartExecutionParameters(ActionParameters):
    """Choose the state machine, the execution's input and name, and whether to wait for its end."""

    model_config = ConfigDict(
        title="Step Functions execution",
        json_schema_extra={
            "examples": [{
                "state_machine_arn": "arn:aws:states:eu-west-1:123456789012:stateMachine:nightly-etl",
                "input": {"date": "2026-01-31"},
            }],
        },
    )

    state_machine_arn: str = Field(
        pattern=STATE_MACHINE_ARN_PATTERN,
        title="State machine ARN",
        description="e.g. arn:aws:states:eu-west-1:123456789012:stateMachine:nightly-export",
    )
    input: dict[str, Any] = Field(
        default_factory=dict, title="Input", description="The JSON object the execution starts with."
    )
    execution_name: str | None = Field(
        default=None,
        pattern=EXECUTION_NAME_PATTERN,
        title="Execution name",
        examples=["nightly-etl-20260131"],
        description=(
            "Leave empty for <the job's DAG id>-<random hex>, which tells where an execution came from. "
            "A name can be used once per state machine (for 90 days), so a fixed name only suits "
            "parameters given at execution."
        ),
    )
    wait_until_final_state: bool = Field(
        default=True,
        title="Wait for the end",
        description="Finish only when the execution has ended; the job fails unless it SUCCEEDED.",
    )


class StepFunctionsStartExecutionOperator(AwsActionOperator[StepFunctionHook]):
    """Start a Step Functions execution and, optionally, wait until it ends; fail unless it succeeded."""

    aws_hook_class = StepFunctionHook
    ui_color = "#f4a6c7"
    parameters_model: ClassVar[type[StepFunctionsStartExecutionParameters]] = (
        StepFunctionsStartExecutionParameters
    )

    def run_action(
        self, context: Context, parameters: StepFunctionsStartExecutionParameters
    ) -> dict[str, Any]:
        execution_arn = stepfunctions.start_execution(
            self.hook,
            parameters.state_machine_arn,
            name=parameters.execution_name or self._execution_name(),
            state_machine_input=parameters.input,
        )
        if not parameters.wait_until_final_state:
            return {"execution_arn": execution_arn, "status": "RUNNING", "waited": False}
        wait = stepfunctions.execution_wait(execution_arn)
        return self.wait_then(context, parameters, wait, then="summarize", execution_arn=execution_arn)

    def summarize(
        self, context: Context, parameters: StepFunctionsStartExecutionParameters, *, execution_arn: str
    ) -> dict[str, Any]:
        """Fail unless the ended execution SUCCEEDED; else return its output."""
        output = stepfunctions.succeeded_output(self.hook, execution_arn)
        return {
            "execution_arn": execution_arn,
            "status": "SUCCEEDED",
            "output": excerpt(output, SUMMARY_EXCERPT_CHARS),
            "waited": True,
        }

    def _execution_name(self) -> str:
        """Name an execution after the job's DAG, unique, within Step Functions' 80 characters."""
        prefix = re.sub(r"[^0-9A-Za-z_-]", "-", self.dag_id)[:47]
        return f"{prefix}-{uuid.uuid4().hex}"


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="stepfunctions_start_execution",
        title="Step Functions: Start execution",
        description=(
            "Start an execution of a Step Functions state machine with a JSON input and wait for its "
            "end; the job fails when the execution FAILED, TIMED_OUT or was ABORTED."
        ),
        operator_class=StepFunctionsStartExecutionOperator,
        iam_actions=("states:StartExecution", "states:DescribeExecution"),
    ),
)
