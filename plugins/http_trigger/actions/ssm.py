"""SSM actions: run shell or PowerShell commands on instances chosen by id or tag; the job follows them.

The provider's ``SsmRunCommandOperator`` waits per instance id taken from the ``SendCommand``
answer, which is empty when the command targets a tag, and does not show the commands' output.
This operator sends the command through the provider's ``SsmHook`` client, waits on the command's
overall status (a ``ListCommands`` waiter built with the provider's ``BaseBotoWaiter``; SSM has
no such boto waiter), then reads every instance's invocation with the hook to log its output and
to fail the job when any instance failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from airflow.providers.amazon.aws.hooks.ssm import SsmHook
from airflow.providers.amazon.aws.waiters.base_waiter import BaseBotoWaiter
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError
from pydantic import ConfigDict, Field

from http_trigger.actions.aws_base import AwsActionOperator, excerpt
from http_trigger.actions.base import ActionType
from http_trigger.actions.targets import (
    TargetedParameters,
    tag_key_field,
    tag_value_field,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

# EC2 instances (i-…) and hybrid managed nodes (mi-…).
MANAGED_NODE_ID_PATTERN = r"^(i|mi)-[0-9a-f]{8,17}$"
_COMMAND_FINISHED = "command_finished"
_FINAL_STATUSES = ("Success", "Failed", "Cancelled", "TimedOut")
_WAITER_MODEL = {
    "version": 2,
    "waiters": {
        _COMMAND_FINISHED: {
            "operation": "ListCommands",
            "delay": 5,
            "maxAttempts": 720,
            # Any final status ends the wait; the operator then tells success from failure
            # with every instance's details at hand.
            "acceptors": [
                {"matcher": "path", "argument": "Commands[0].Status", "expected": status, "state": "success"}
                for status in _FINAL_STATUSES
            ],
        }
    },
}


class SsmRunCommandParameters(TargetedParameters):
    """Choose the instances by id or one tag, the script and its commands, and whether to wait."""

    ids_field: ClassVar[str] = "instance_ids"
    resources: ClassVar[str] = "instances"

    model_config = ConfigDict(title="SSM Run Command")

    document_name: Literal["AWS-RunShellScript", "AWS-RunPowerShellScript"] = Field(
        default="AWS-RunShellScript",
        title="Document",
        description="AWS-RunShellScript for Linux, AWS-RunPowerShellScript for Windows.",
    )
    instance_ids: list[Annotated[str, Field(pattern=MANAGED_NODE_ID_PATTERN)]] = Field(
        default_factory=list,
        max_length=50,
        title="Instance ids",
        description=(
            "The managed instances to run on, e.g. i-0123456789abcdef0. Leave empty to choose by tag."
        ),
    )
    tag_key: str | None = tag_key_field("managed instance")
    tag_value: str | None = tag_value_field()
    commands: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1,
        title="Commands",
        description="The script, one command per item, run in order.",
    )
    working_directory: str | None = Field(
        default=None, min_length=1, max_length=4096, title="Working directory"
    )
    execution_timeout_seconds: int = Field(
        default=3600,
        ge=1,
        le=172800,
        title="Execution timeout (seconds)",
        description="SSM stops the commands on an instance after this time and marks them timed out.",
    )
    wait_until_final_state: bool = Field(
        default=True,
        title="Wait for the result",
        description=(
            "Finish only when the command has ended on every instance, logging each output; "
            "the job fails when it failed on any instance."
        ),
    )


def _failure(invocation: dict[str, Any]) -> str:
    detail = excerpt((invocation.get("StandardErrorContent") or "").strip(), 300)
    code = invocation.get("ResponseCode")
    text = f"{invocation['InstanceId']} {invocation.get('Status')} (exit code {code})"
    return f"{text}: {detail}" if detail else text


class SsmRunCommandsOperator(AwsActionOperator[SsmHook]):
    """Run a shell or PowerShell script with SSM Run Command; succeed only if it succeeded everywhere."""

    aws_hook_class = SsmHook
    ui_color = "#f7d0ad"
    parameters_model: ClassVar[type[SsmRunCommandParameters]] = SsmRunCommandParameters

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._running_command_id: str | None = None

    def run_action(self, context: Context, parameters: SsmRunCommandParameters) -> dict[str, Any]:
        if parameters.instance_ids:
            target = f"instances {', '.join(parameters.instance_ids)}"
            target_args: dict[str, Any] = {"InstanceIds": parameters.chosen_ids()}
        else:
            target = f"instances tagged {parameters.tag}"
            tag_target = {"Key": f"tag:{parameters.tag_key}", "Values": [parameters.tag_value]}
            target_args = {"Targets": [tag_target]}
        document_parameters = {
            "commands": parameters.commands,
            "executionTimeout": [str(parameters.execution_timeout_seconds)],
        }
        if parameters.working_directory:
            document_parameters["workingDirectory"] = [parameters.working_directory]
        self.log.info("Sending SSM command %s to %s", parameters.document_name, target)
        try:
            command = self.hook.conn.send_command(
                DocumentName=parameters.document_name,
                Parameters=document_parameters,
                Comment=f"{self.dag_id}.{self.task_id}"[:100],
                **target_args,
            )["Command"]
        except ClientError as error:
            raise AirflowException(
                f"Sending SSM command {parameters.document_name} to {target} failed: {error}"
            ) from error
        command_id = command["CommandId"]
        self.log.info("SSM command %s sent to %s", command_id, target)
        subject = f"SSM command {command_id} ({parameters.document_name} on {target})"
        if not parameters.wait_until_final_state:
            return {"command_id": command_id, "status": command["Status"], "waited": False}

        self._running_command_id = command_id
        self.wait_until(
            BaseBotoWaiter(client=self.hook.conn, model_config=_WAITER_MODEL).waiter(_COMMAND_FINISHED),
            args={"CommandId": command_id},
            subject=subject,
            state="finished",
            status_args=["Commands[0].Status", "Commands[0].CompletedCount", "Commands[0].TargetCount"],
        )
        self._running_command_id = None
        [command] = self.hook.conn.list_commands(CommandId=command_id)["Commands"]
        invocations = [
            self.hook.get_command_invocation(command_id, instance_id)
            for instance_id in self._instance_ids(parameters, command)
        ]
        for invocation in invocations:
            self._log_invocation(invocation)
        if not invocations:
            raise AirflowException(f"{subject} reached no instance (status {command['Status']})")
        failed = [invocation for invocation in invocations if invocation.get("Status") != "Success"]
        if failed or command["Status"] != "Success":
            failures = "; ".join(_failure(invocation) for invocation in failed) or "no instance details"
            raise AirflowException(
                f"{subject} ended {command['Status']}, failed on {len(failed)} of {len(invocations)} "
                f"instances: {failures}"
            )
        return {
            "command_id": command_id,
            "status": command["Status"],
            "instances": {
                invocation["InstanceId"]: {
                    "status": invocation.get("Status"),
                    "response_code": invocation.get("ResponseCode"),
                }
                for invocation in invocations
            },
            "waited": True,
        }

    def _instance_ids(self, parameters: SsmRunCommandParameters, command: dict[str, Any]) -> list[str]:
        """Return the instances the command ran on: the given ones, or those SSM chose by tag."""
        if parameters.instance_ids:
            return parameters.chosen_ids()
        if command.get("InstanceIds"):
            return command["InstanceIds"]
        if command.get("TargetCount") == 0:
            return []
        # SSM leaves InstanceIds empty for a command sent to Targets; its invocations name them.
        paginator = self.hook.conn.get_paginator("list_command_invocations")
        return [
            invocation["InstanceId"]
            for page in paginator.paginate(CommandId=command["CommandId"])
            for invocation in page["CommandInvocations"]
        ]

    def _log_invocation(self, invocation: dict[str, Any]) -> None:
        instance_id = invocation["InstanceId"]
        self.log.info(
            "SSM command on %s: %s (exit code %s)",
            instance_id,
            invocation.get("Status"),
            invocation.get("ResponseCode"),
        )
        if stdout := invocation.get("StandardOutputContent"):
            self.log.info("Output on %s:\n%s", instance_id, excerpt(stdout))
        if stderr := invocation.get("StandardErrorContent"):
            self.log.info("Error output on %s:\n%s", instance_id, excerpt(stderr))

    def on_kill(self) -> None:
        """Cancel the command this run was still waiting for."""
        if self._running_command_id is None:
            return
        try:
            self.hook.conn.cancel_command(CommandId=self._running_command_id)
        except ClientError:
            self.log.warning("Could not cancel SSM command %s", self._running_command_id, exc_info=True)


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="ssm_run_command",
        title="SSM: Run command",
        description=(
            "Run shell (AWS-RunShellScript) or PowerShell (AWS-RunPowerShellScript) commands on the "
            "instances given by id, or on every instance carrying a tag, and wait for the result; "
            "the job fails when the command failed on any instance."
        ),
        operator_class=SsmRunCommandsOperator,
    ),
)
