"""Lambda actions: invoke a function with a JSON payload; the job fails when the function fails.

The provider's ``LambdaInvokeFunctionOperator`` takes its arguments when the DAG is built and
raises a bare ``ValueError`` holding the raw response on a function error; a job takes its
parameters at run time and its failure notification should carry the function's own error,
so this operator calls the provider's ``LambdaHook.invoke_lambda`` and reads the answer itself.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.hooks.lambda_function import LambdaHook
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError
from pydantic import ConfigDict, Field

from http_trigger.actions.aws_base import SUMMARY_EXCERPT_CHARS, AwsActionOperator, excerpt
from http_trigger.actions.base import ActionParameters, ActionType

if TYPE_CHECKING:
    from airflow.sdk import Context

# A name ("my-function"), a partial ARN ("123456789012:function:my-function") or a full ARN,
# optionally with ":version-or-alias", as Lambda's Invoke API accepts.
FUNCTION_NAME_PATTERN = r"^[A-Za-z0-9_:.$-]+$"
_SUCCESS_STATUS_CODES = (200, 202, 204)


class LambdaInvokeParameters(ActionParameters):
    """Choose the function, what it receives, and whether to wait for its result."""

    model_config = ConfigDict(title="Lambda invocation")

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


def _function_error_details(payload: str) -> str:
    """Return ``errorType: errorMessage`` from a function's error answer, or the answer itself."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return excerpt(payload, SUMMARY_EXCERPT_CHARS)
    if isinstance(answer, dict) and ("errorMessage" in answer or "errorType" in answer):
        kind = answer.get("errorType", "Error")
        return excerpt(f"{kind}: {answer.get('errorMessage', '')}", SUMMARY_EXCERPT_CHARS)
    return excerpt(payload, SUMMARY_EXCERPT_CHARS)


class LambdaInvokeOperator(AwsActionOperator[LambdaHook]):
    """Invoke a Lambda function with a JSON payload; fail with the function's error when it fails."""

    aws_hook_class = LambdaHook
    ui_color = "#ff7300"
    parameters_model: ClassVar[type[LambdaInvokeParameters]] = LambdaInvokeParameters

    def run_action(self, context: Context, parameters: LambdaInvokeParameters) -> dict[str, Any]:
        name = parameters.function_name
        if parameters.qualifier:
            name = f"{name}:{parameters.qualifier}"
        invocation_type = "RequestResponse" if parameters.wait_until_final_state else "Event"
        self.log.info("Invoking Lambda function %s (%s)", name, invocation_type)
        try:
            response = self.hook.invoke_lambda(
                function_name=parameters.function_name,
                qualifier=parameters.qualifier,
                invocation_type=invocation_type,
                # The last 4 KB of the function's own log, for the task log.
                log_type="Tail" if parameters.wait_until_final_state else None,
                payload=json.dumps(parameters.payload),
            )
        except ClientError as error:
            raise AirflowException(f"Invoking Lambda function {name} failed: {error}") from error

        status_code = response.get("StatusCode")
        stream = response.get("Payload")
        answer = stream.read().decode(errors="replace") if stream is not None else ""
        for line in LambdaHook.encode_log_result(response.get("LogResult") or "") or []:
            self.log.info("Lambda function %s log: %s", name, line)
        if function_error := response.get("FunctionError"):
            raise AirflowException(
                f"Lambda function {name} failed ({function_error}): {_function_error_details(answer)}"
            )
        if status_code not in _SUCCESS_STATUS_CODES:
            raise AirflowException(f"Lambda function {name} was not invoked: status code {status_code}")
        self.log.info("Lambda function %s answered with status %s: %s", name, status_code, excerpt(answer))
        return {
            "function_name": name,
            "status_code": status_code,
            "executed_version": response.get("ExecutedVersion"),
            "payload": excerpt(answer, SUMMARY_EXCERPT_CHARS),
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
    ),
)
