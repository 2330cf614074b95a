"""Lambda actions: invoke a function with a JSON payload; the job fails when the function fails.

The provider's ``LambdaInvokeFunctionOperator`` takes its arguments when the DAG is built and
raises a bare ``ValueError`` holding the raw response on a function error; a job takes its
parameters at run time and its failure notification should carry the function's own error,
so this operator calls the provider's ``LambdaHook.invoke_lambda`` through
:mod:`http_trigger.actions.aws.lambda_function`, which reads the answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.hooks.lambda_function import LambdaHook
from pydantic import ConfigDict, Field

from http_trigger.actions.aws import SUMMARY_EXCERPT_CHARS, excerpt, lambda_function
from http_trigger.actions.aws_base import AwsActionOperator
from http_trigger.actions.base import ActionParameters, ActionType

if TYPE_CHECKING:
    from airflow.sdk import Context

# A name ("my-function"), a partial ARN ("123456789012:function:my-function") or a full ARN,
# optionally with ":version-or-alias", as Lambda's Invoke API accepts.
FUNCTION_NAME_PATTERN = r"^[A-Za-z0-9_:.$-]+$"


class LambdaInvokeParameters(ActionParameters):
    """Choose the function, what it receives, and whether to wait for its result."""

    model_config = ConfigDict(
        title="Lambda invocation",
        json_schema_extra={
            "examples": [{
                "function_name": "nightly-report",
                "payload": {"date": "2026-01-31"},
            }],
        },
    )

    function_name: str = Field(
        min_length=1,
        max_length=170,
        pattern=FUNCTION_NAME_PATTERN,
        title="Function",
        description="The function's name, ARN or partial ARN, e.g. nightly-cleanup.",
    )
    qualifier: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^(\$LATEST|[A-Za-z0-9_-]+)$",
        title="Version or alias",
        examples=["live"],
        description="Invoke this published version or alias instead of $LATEST.",
    )
    payload: dict[str, Any] = Field(
        default_factory=dict,
        title="Payload",
        description="The JSON object the function receives as its event.",
    )
    wait_until_final_state: bool = Field(
        default=True,
        title="Wait for the result",
        description=(
            "Invoke synchronously and fail the job when the function fails. "
            "If false, Lambda queues the event (asynchronous invocation) and the job finishes at once."
        ),
    )


class LambdaInvokeOperator(AwsActionOperator[LambdaHook]):
    """Invoke a Lambda function with a JSON payload; fail with the function's error when it fails."""

    aws_hook_class = LambdaHook
    ui_color = "#ff7300"
    parameters_model: ClassVar[type[LambdaInvokeParameters]] = LambdaInvokeParameters

    def run_action(self, context: Context, parameters: LambdaInvokeParameters) -> dict[str, Any]:
        answer = lambda_function.invoke(
            self.hook,
            function_name=parameters.function_name,
            qualifier=parameters.qualifier,
            payload=parameters.payload,
            wait=parameters.wait_until_final_state,
        )
        return {
            **answer,
            "payload": excerpt(answer["payload"], SUMMARY_EXCERPT_CHARS),
            "waited": parameters.wait_until_final_state,
        }


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="lambda_invoke_function",
        title="Lambda: Invoke function",
        description=(
            "Invoke a Lambda function with a JSON payload and wait for its result; "
            "the job fails when the function returns an error."
        ),
        operator_class=LambdaInvokeOperator,
        iam_actions=("lambda:InvokeFunction",),
    ),
)
