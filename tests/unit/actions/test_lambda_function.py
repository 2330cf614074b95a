"""The Lambda action against moto's Lambda without Docker (its "simple" backend, which answers with
the request's payload or with a queued result instead of running the code)."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from moto.moto_api._internal.models import moto_api_backend
from pydantic import ValidationError

from http_trigger.actions.lambda_function import LambdaInvokeOperator, LambdaInvokeParameters
from http_trigger.run_contract import ERROR_XCOM_KEY

from .support import REGION, RecordingTaskInstance, moto_account, run

ACCOUNT_ID = "123456789012"
NO_DOCKER = {"lambda": {"use_docker": False}}


def create_function(name: str) -> str:
    role = boto3.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    return boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handle",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]


def next_answer(answer: str) -> None:
    """Make moto's simple Lambda answer the next invocation with ``answer``."""
    moto_api_backend.set_lambda_simple_result(result=answer, account_id=ACCOUNT_ID, region=REGION)


@pytest.fixture
def simple_lambda():
    with moto_account(NO_DOCKER):
        create_function("nightly-cleanup")
        yield


class TestLambdaInvokeParameters:
    def test_defaults(self):
        parameters = LambdaInvokeParameters.model_validate({"function_name": "nightly-cleanup"})
        assert parameters.payload == {}
        assert parameters.qualifier is None
        assert parameters.wait_until_final_state is True

    def test_accepts_an_arn_with_a_payload(self):
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:nightly-cleanup"
        parameters = LambdaInvokeParameters.model_validate({"function_name": arn, "payload": {"days": 7}})
        assert (parameters.function_name, parameters.payload) == (arn, {"days": 7})

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({}, r"function_name\n  Field required"),
            ({"function_name": "has space"}, r"function_name\n  String should match pattern"),
            ({"function_name": "f", "payload": [1, 2]}, r"payload\n  Input should be a valid dictionary"),
            ({"function_name": "f", "qualifier": "v 1"}, r"qualifier\n  String should match pattern"),
            ({"function_name": "f", "timeout": 3}, r"timeout\n  Extra inputs are not permitted"),
        ],
    )
    def test_refuses(self, data, message):
        with pytest.raises(ValidationError, match=message):
            LambdaInvokeParameters.model_validate(data)


class TestLambdaInvokeOperator:
    def test_invokes_the_function_with_the_payload(self, simple_lambda):
        result = run(LambdaInvokeOperator, {"function_name": "nightly-cleanup", "payload": {"days": 7}})

        # The simple backend answers with what it received: the payload reached the function.
        assert result == {
            "function_name": "nightly-cleanup",
            "status_code": 200,
            "executed_version": None,
            "payload": '{"days": 7}',
            "waited": True,
        }

    def test_returns_the_functions_answer_truncated(self, simple_lambda):
        next_answer(json.dumps({"report": "x" * 5000}))

        result = run(LambdaInvokeOperator, {"function_name": "nightly-cleanup"})

        assert result["payload"].startswith('{"report": "xxx')
        assert result["payload"].endswith(f"… ({5014 - 1000} more characters)")

    def test_a_function_error_fails_with_the_functions_error(self, simple_lambda):
        # Lambda answers an oversized result with FunctionError "Unhandled", and so does moto.
        next_answer("x" * 6_000_001)
        message = (
            r"Lambda function nightly-cleanup failed \(Unhandled\): Function.ResponseSizeTooLarge: "
            r"Response payload size exceeded maximum allowed payload size"
        )
        with pytest.raises(AirflowException, match=message):
            run(LambdaInvokeOperator, {"function_name": "nightly-cleanup"})

    def test_reports_the_function_error_for_the_failure_payload(self, simple_lambda):
        next_answer("x" * 6_000_001)
        ti = RecordingTaskInstance()
        with pytest.raises(AirflowException):
            run(LambdaInvokeOperator, {"function_name": "nightly-cleanup"}, ti=ti)
        assert ti.pushed[ERROR_XCOM_KEY].startswith(
            "AirflowException: Lambda function nightly-cleanup failed (Unhandled): Function.ResponseSizeTooLarge"
        )

    def test_does_not_wait_when_told_not_to(self, simple_lambda):
        result = run(LambdaInvokeOperator, {"function_name": "nightly-cleanup", "wait_until_final_state": False})

        assert (result["status_code"], result["waited"]) == (202, False)

    def test_names_the_qualifier(self, simple_lambda):
        boto3.client("lambda", region_name=REGION).publish_version(FunctionName="nightly-cleanup")

        result = run(LambdaInvokeOperator, {"function_name": "nightly-cleanup", "qualifier": "1"})

        assert result["function_name"] == "nightly-cleanup:1"

    def test_an_unknown_function_fails_naming_it(self):
        # moto's default backend answers "not found" before it would need Docker to run anything.
        with moto_account():
            with pytest.raises(
                AirflowException, match=r"Invoking Lambda function missing-function failed: .*Function not found"
            ):
                run(LambdaInvokeOperator, {"function_name": "missing-function"})

    def test_reads_parameters_from_the_dag_run_conf(self, simple_lambda):
        result = run(LambdaInvokeOperator, None, conf={"function_name": "nightly-cleanup", "payload": {"a": 1}})

        assert result["payload"] == '{"a": 1}'

    def test_invalid_parameters_fail_without_retry_naming_the_field(self, simple_lambda):
        with pytest.raises(
            AirflowFailException, match=r"Invalid parameters for task action: payload: Input should be a valid dict"
        ):
            run(LambdaInvokeOperator, {"function_name": "nightly-cleanup", "payload": "days=7"})
