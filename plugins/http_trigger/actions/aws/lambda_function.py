"""Lambda invocations over the provider's ``LambdaHook``, for the Lambda action.

The provider's ``LambdaInvokeFunctionOperator`` raises a bare ``ValueError`` holding the raw
response on a function error; a job's failure notification should carry the function's own
error, so the answer is read here: the function's log goes to the task log and an error becomes
an AirflowException naming the function with the function's ``errorType: errorMessage``.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.lambda_function import LambdaHook
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError

from http_trigger.actions.aws import SUMMARY_EXCERPT_CHARS, excerpt

if TYPE_CHECKING:
    from collections.abc import Mapping

log = logging.getLogger(__name__)

_SUCCESS_STATUS_CODES = (200, 202, 204)


def function_error_details(payload: str) -> str:
    """Return ``errorType: errorMessage`` from a function's error answer, or the answer itself."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return excerpt(payload, SUMMARY_EXCERPT_CHARS)
    if isinstance(answer, dict) and ("errorMessage" in answer or "errorType" in answer):
        kind = answer.get("errorType", "Error")
        return excerpt(f"{kind}: {answer.get('errorMessage', '')}", SUMMARY_EXCERPT_CHARS)
    return excerpt(payload, SUMMARY_EXCERPT_CHARS)


def invoke(
    hook: LambdaHook,
    *,
    function_name: str,
    qualifier: str | None,
    payload: Mapping[str, Any],
    wait: bool,
) -> dict[str, Any]:
    """Invoke the function, synchronously if ``wait`` (else Lambda queues the event); fail if it failed.

    Return the ``function_name`` invoked (with its qualifier), the answer's ``status_code`` and
    ``executed_version``, and ``payload``: the function's answer as text, empty for a queued event.
    """
    name = f"{function_name}:{qualifier}" if qualifier else function_name
    invocation_type = "RequestResponse" if wait else "Event"
    log.info("Invoking Lambda function %s (%s)", name, invocation_type)
    try:
        response = hook.invoke_lambda(
            function_name=function_name,
            qualifier=qualifier,
            invocation_type=invocation_type,
            # The last 4 KB of the function's own log, for the task log.
            log_type="Tail" if wait else None,
            payload=json.dumps(payload),
        )
    except ClientError as error:
        raise AirflowException(f"Invoking Lambda function {name} failed: {error}") from error

    status_code = response.get("StatusCode")
    stream = response.get("Payload")
    answer = stream.read().decode(errors="replace") if stream is not None else ""
    for line in LambdaHook.encode_log_result(response.get("LogResult") or "") or []:
        log.info("Lambda function %s log: %s", name, line)
    if function_error := response.get("FunctionError"):
        raise AirflowException(
            f"Lambda function {name} failed ({function_error}): {function_error_details(answer)}"
        )
    if status_code not in _SUCCESS_STATUS_CODES:
        raise AirflowException(f"Lambda function {name} was not invoked: status code {status_code}")
    log.info("Lambda function %s answered with status %s: %s", name, status_code, excerpt(answer))
    return {
        "function_name": name,
        "status_code": status_code,
        "executed_version": response.get("ExecutedVersion"),
        "payload": answer,
    }
