"""The SSM Run Command action against moto; assertions read the commands and invocations in moto.

moto records every command and one invocation per instance, always successful and without output;
the failure tests make moto's invocations fail (exit code 2) to exercise the failure path.
"""

from __future__ import annotations

import boto3
import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from moto.ec2.models.amis import AMIS
from moto.ssm import models as moto_ssm
from pydantic import ValidationError

from http_trigger.actions.ssm import SsmRunCommandParameters, SsmRunCommandsOperator
from http_trigger.run_contract import ERROR_XCOM_KEY

from .support import REGION, RecordingTaskInstance, moto_account, run

UNKNOWN_ID = "i-0123456789abcdef0"


class Account:
    """The moto account of a test: EC2 instances tagged by role."""

    def __init__(self) -> None:
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self.ssm = boto3.client("ssm", region_name=REGION)

    def instances(self, count: int, *, role: str) -> list[str]:
        reservation = self.ec2.run_instances(
            ImageId=AMIS[0]["ami_id"],
            MinCount=count,
            MaxCount=count,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Role", "Value": role}]}],
        )
        return [instance["InstanceId"] for instance in reservation["Instances"]]

    def only_command(self) -> dict:
        [command] = self.ssm.list_commands()["Commands"]
        return command

    def invocation(self, command_id: str, instance_id: str) -> dict:
        return self.ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)


@pytest.fixture
def account():
    with moto_account():
        yield Account()


@pytest.fixture
def failing_invocations(monkeypatch):
    """Make moto's command invocations fail with exit code 2 and an error output."""
    original = moto_ssm.Command.invocation_response

    def failing(self, instance_id, plugin_name):
        response = original(self, instance_id, plugin_name)
        response.update(
            Status="Failed", StatusDetails="Failed", ResponseCode=2, StandardErrorContent="disk full\nmore lines"
        )
        return response

    monkeypatch.setattr(moto_ssm.Command, "invocation_response", failing)


class TestSsmRunCommandParameters:
    def test_defaults(self):
        parameters = SsmRunCommandParameters.model_validate({"instance_ids": [UNKNOWN_ID], "commands": ["uptime"]})
        assert parameters.document_name == "AWS-RunShellScript"
        assert parameters.execution_timeout_seconds == 3600
        assert parameters.wait_until_final_state is True

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"instance_ids": [UNKNOWN_ID]}, r"commands\n  Field required"),
            ({"instance_ids": [UNKNOWN_ID], "commands": []}, r"commands\n  List should have at least 1 item"),
            ({"instance_ids": [UNKNOWN_ID], "commands": [""]}, r"commands\.0\n  String should have at least 1"),
            ({"commands": ["uptime"]}, "give instance_ids, or tag_key and tag_value, to choose the instances"),
            (
                {"instance_ids": [UNKNOWN_ID], "tag_key": "Role", "tag_value": "web", "commands": ["uptime"]},
                "give either instance_ids or tag_key and tag_value, not both",
            ),
            ({"instance_ids": ["web-1"], "commands": ["uptime"]}, r"instance_ids\.0\n  String should match pattern"),
            (
                {"instance_ids": [UNKNOWN_ID], "commands": ["uptime"], "document_name": "AWS-RunPatchBaseline"},
                r"document_name\n  Input should be 'AWS-RunShellScript' or 'AWS-RunPowerShellScript'",
            ),
        ],
    )
    def test_refuses(self, data, message):
        with pytest.raises(ValidationError, match=message):
            SsmRunCommandParameters.model_validate(data)


class TestSsmRunCommandsOperator:
    def test_runs_the_commands_on_the_instances_and_waits(self, account):
        instance_ids = account.instances(2, role="web")

        result = run(
            SsmRunCommandsOperator,
            {"instance_ids": instance_ids, "commands": ["df -h", "uptime"], "working_directory": "/tmp"},
        )

        command = account.only_command()
        assert command["DocumentName"] == "AWS-RunShellScript"
        assert command["Parameters"] == {
            "commands": ["df -h", "uptime"],
            "executionTimeout": ["3600"],
            "workingDirectory": ["/tmp"],
        }
        assert {account.invocation(command["CommandId"], i)["Status"] for i in instance_ids} == {"Success"}
        assert result == {
            "command_id": command["CommandId"],
            "status": "Success",
            "instances": {i: {"status": "Success", "response_code": 0} for i in instance_ids},
            "waited": True,
        }

    def test_runs_powershell_on_the_tagged_instances(self, account):
        web = account.instances(2, role="web")
        account.instances(1, role="db")

        result = run(
            SsmRunCommandsOperator,
            {
                "tag_key": "Role",
                "tag_value": "web",
                "commands": ["Get-Date"],
                "document_name": "AWS-RunPowerShellScript",
            },
        )

        command = account.only_command()
        assert command["DocumentName"] == "AWS-RunPowerShellScript"
        assert command["Targets"] == [{"Key": "tag:Role", "Values": ["web"]}]
        assert sorted(command["InstanceIds"]) == sorted(web)
        assert sorted(result["instances"]) == sorted(web)

    def test_a_failed_invocation_fails_the_job_naming_instance_and_error(self, account, failing_invocations):
        [instance_id] = account.instances(1, role="web")

        with pytest.raises(
            AirflowException,
            match=rf"SSM command [\w-]+ \(AWS-RunShellScript on instances {instance_id}\) ended Success, "
            rf"failed on 1 of 1 instances: {instance_id} Failed \(exit code 2\): disk full\nmore lines",
        ):
            run(SsmRunCommandsOperator, {"instance_ids": [instance_id], "commands": ["backup"]})
        assert account.only_command()["DocumentName"] == "AWS-RunShellScript"

    def test_reports_the_failure_for_the_failure_payload(self, account, failing_invocations):
        [instance_id] = account.instances(1, role="web")
        ti = RecordingTaskInstance()

        with pytest.raises(AirflowException):
            run(SsmRunCommandsOperator, {"instance_ids": [instance_id], "commands": ["backup"]}, ti=ti)
        assert ti.pushed[ERROR_XCOM_KEY].startswith("AirflowException: SSM command ")
        assert f"{instance_id} Failed (exit code 2)" in ti.pushed[ERROR_XCOM_KEY]

    def test_fails_naming_the_tag_when_no_instance_has_it(self, account):
        account.instances(1, role="web")

        message = r"\(AWS-RunShellScript on instances tagged Role=batch\) reached no instance"
        with pytest.raises(AirflowException, match=message):
            run(SsmRunCommandsOperator, {"tag_key": "Role", "tag_value": "batch", "commands": ["uptime"]})

    def test_does_not_wait_when_told_not_to(self, account, failing_invocations):
        [instance_id] = account.instances(1, role="web")

        result = run(
            SsmRunCommandsOperator,
            {"instance_ids": [instance_id], "commands": ["uptime"], "wait_until_final_state": False},
        )

        assert result == {"command_id": account.only_command()["CommandId"], "status": "Success", "waited": False}

    def test_reads_parameters_from_the_dag_run_conf(self, account):
        [instance_id] = account.instances(1, role="web")

        run(SsmRunCommandsOperator, None, conf={"instance_ids": [instance_id], "commands": ["hostname"]})

        assert account.only_command()["Parameters"]["commands"] == ["hostname"]

    def test_invalid_parameters_fail_without_retry_naming_the_field(self, account):
        message = r"Invalid parameters for task action: commands: Field required"
        with pytest.raises(AirflowFailException, match=message):
            run(SsmRunCommandsOperator, {"instance_ids": [UNKNOWN_ID]})
        assert account.ssm.list_commands()["Commands"] == []
