"""The Step Functions action against moto, which really runs the state machines (Pass, Fail, Wait
states) when configured to; assertions read the executions in moto."""

from __future__ import annotations

import json
import re

import boto3
import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, TaskDeferred
from pydantic import ValidationError

from http_trigger.actions.stepfunctions import (
    StepFunctionsStartExecutionOperator,
    StepFunctionsStartExecutionParameters,
)
from http_trigger.run_contract import ERROR_XCOM_KEY

from .support import (
    REGION,
    RecordingTaskInstance,
    finish_deferred,
    make_operator,
    moto_account,
    run,
    task_context,
)

EXECUTE = {"stepfunctions": {"execute_state_machine": True}}
DONE = {"Type": "Pass", "Result": {"exported": True}, "ResultPath": "$.result", "End": True}
PASS = {"StartAt": "Done", "States": {"Done": DONE}}
FAIL = {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "ExportFailed", "Cause": "bucket is gone"}}}
SLOW = {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 30, "End": True}}}
TIMING_OUT = {"TimeoutSeconds": 1, **SLOW}


class Account:
    """The moto account of a test: state machines that succeed, fail, or take their time."""

    def __init__(self) -> None:
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        role = boto3.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        self.arns = {
            name: self.sfn.create_state_machine(name=name, roleArn=role, definition=json.dumps(definition))[
                "stateMachineArn"
            ]
            for name, definition in (("export", PASS), ("broken", FAIL), ("slow", SLOW), ("timing-out", TIMING_OUT))
        }

    def executions(self, name: str) -> list[dict]:
        listed = self.sfn.list_executions(stateMachineArn=self.arns[name])["executions"]
        return [self.sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]


@pytest.fixture
def account():
    with moto_account(EXECUTE):
        yield Account()


class TestStepFunctionsStartExecutionParameters:
    ARN = f"arn:aws:states:{REGION}:123456789012:stateMachine:export"

    def test_defaults(self):
        parameters = StepFunctionsStartExecutionParameters.model_validate({"state_machine_arn": self.ARN})
        assert (parameters.input, parameters.execution_name, parameters.wait_until_final_state) == ({}, None, True)

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({}, r"state_machine_arn\n  Field required"),
            ({"state_machine_arn": "export"}, r"state_machine_arn\n  String should match pattern"),
            ({"state_machine_arn": ARN, "input": "[]"}, r"input\n  Input should be a valid dictionary"),
            ({"state_machine_arn": ARN, "execution_name": "run 1"}, r"execution_name\n  String should match pattern"),
        ],
    )
    def test_refuses(self, data, message):
        with pytest.raises(ValidationError, match=message):
            StepFunctionsStartExecutionParameters.model_validate(data)


class TestStepFunctionsStartExecutionOperator:
    def test_starts_an_execution_with_the_input_and_waits_for_success(self, account):
        result = run(
            StepFunctionsStartExecutionOperator,
            {
                "state_machine_arn": account.arns["export"],
                "input": {"day": "2026-03-01"},
                "execution_name": "march-1",
            },
        )

        [execution] = account.executions("export")
        assert execution["name"] == "march-1"
        assert execution["status"] == "SUCCEEDED"
        assert json.loads(execution["input"]) == {"day": "2026-03-01"}
        assert result == {
            "execution_arn": execution["executionArn"],
            "status": "SUCCEEDED",
            "output": execution["output"],
            "waited": True,
        }
        assert json.loads(result["output"]) == {"day": "2026-03-01", "result": {"exported": True}}

    def test_each_run_without_a_name_is_a_new_execution(self, account):
        for _ in range(2):
            run(StepFunctionsStartExecutionOperator, {"state_machine_arn": account.arns["export"]})

        assert [e["status"] for e in account.executions("export")] == ["SUCCEEDED", "SUCCEEDED"]

    def test_a_failed_execution_fails_with_its_error_and_cause(self, account):
        ti = RecordingTaskInstance()
        with pytest.raises(
            AirflowException,
            match=r"Step Functions execution arn:aws:states:.*:execution:broken:[\w-]+ ended FAILED: "
            r"ExportFailed: .*bucket is gone",
        ):
            run(StepFunctionsStartExecutionOperator, {"state_machine_arn": account.arns["broken"]}, ti=ti)
        [execution] = account.executions("broken")
        assert execution["status"] == "FAILED"
        assert ti.pushed[ERROR_XCOM_KEY].startswith("AirflowException: Step Functions execution arn:aws:states:")

    def test_a_timed_out_execution_fails(self, account):
        with pytest.raises(AirflowException, match=r"execution:timing-out:[\w-]+ ended TIMED_OUT"):
            parameters = {"state_machine_arn": account.arns["timing-out"]}
            run(StepFunctionsStartExecutionOperator, parameters, waiter_delay=1)
        assert [e["status"] for e in account.executions("timing-out")] == ["TIMED_OUT"]

    def test_an_execution_aborted_meanwhile_fails(self, account):
        operator = make_operator(StepFunctionsStartExecutionOperator, {"state_machine_arn": account.arns["slow"]})
        context = task_context()
        with pytest.raises(TaskDeferred) as deferred:
            operator.execute(context)
        # Someone stops the execution while the job waits for it.
        [execution] = account.executions("slow")
        account.sfn.stop_execution(executionArn=execution["executionArn"], error="Manual", cause="ops")

        with pytest.raises(AirflowException, match=r"execution:slow:[\w-]+ ended ABORTED"):
            finish_deferred(operator, deferred.value, context)
        assert [e["status"] for e in account.executions("slow")] == ["ABORTED"]

    def test_does_not_wait_when_told_not_to(self, account):
        result = run(
            StepFunctionsStartExecutionOperator,
            {"state_machine_arn": account.arns["slow"], "wait_until_final_state": False},
        )

        [execution] = account.executions("slow")
        assert execution["status"] == "RUNNING"
        # Named after the DAG (here the ad-hoc one of a task without a DAG), unique.
        assert re.fullmatch(r"adhoc_airflow-[0-9a-f]{32}", execution["name"])
        assert result == {"execution_arn": execution["executionArn"], "status": "RUNNING", "waited": False}

    def test_an_unknown_state_machine_fails_naming_it(self, account):
        arn = account.arns["export"].replace(":export", ":import")
        message = f"Starting an execution of state machine {arn} failed: .*StateMachineDoesNotExist"
        with pytest.raises(AirflowException, match=message):
            run(StepFunctionsStartExecutionOperator, {"state_machine_arn": arn})

    def test_a_used_execution_name_fails_naming_the_state_machine(self, account):
        parameters = {"state_machine_arn": account.arns["export"], "execution_name": "once"}
        run(StepFunctionsStartExecutionOperator, parameters)

        with pytest.raises(AirflowException, match="ExecutionAlreadyExists"):
            run(StepFunctionsStartExecutionOperator, {**parameters, "input": {"again": True}})

    def test_reads_parameters_from_the_dag_run_conf(self, account):
        conf = {"state_machine_arn": account.arns["export"], "input": {"a": 1}}
        run(StepFunctionsStartExecutionOperator, None, conf=conf)

        [execution] = account.executions("export")
        assert json.loads(execution["input"]) == {"a": 1}

    def test_invalid_conf_fails_without_retry_naming_the_field(self, account):
        with pytest.raises(AirflowFailException, match="state_machine_arn: String should match pattern"):
            run(StepFunctionsStartExecutionOperator, None, conf={"state_machine_arn": "export"})
