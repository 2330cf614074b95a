"""SSM actions: run shell or PowerShell commands on instances chosen by id or tag; the job follows them.

The provider's ``SsmRunCommandOperator`` waits per instance id taken from the ``SendCommand``
answer, which is empty when the command targets a tag, and does not show the commands' output.
This operator sends the command through the provider's ``SsmHook`` client and waits on the
command's overall status, then reads every instance's invocation with the hook to log its output
and to fail the job when any instance failed (:mod:`http_trigger.actions.aws.ssm`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from airflow.providers.amazon.aws.hooks.ssm import SsmHook
from pydantic import ConfigDict, Field

from http_trigger.actions.aws import ssm
from http_trigger.actions.aws_base import AwsActionOperator
from http_trigger.actions.base import ActionType
from http_trigger.actions.targets import (
    TargetedParameters,
    tag_key_field,
    tag_value_field,
)
from http_trigger.field_messages import Rule

if TYPE_CHECKING:
    from airflow.sdk import Context

# EC2 instances (i-…) and hybrid managed nodes (mi-…).
MANAGED_NODE_ID_PATTERN = r"^(i|mi)-[0-9a-f]{8,17}$"


class SsmRunCommandParameters(TargetedParameters):
    """Choose the instances by id or one tag, the script and its commands, and whether to wait."""

    ids_field: ClassVar[str] = "instance_ids"
    resources: ClassVar[Rule] = Rule("ssm.instances", "instances")

    model_config = ConfigDict(
        title="SSM Run Command",
        json_schema_extra={
            "examples": [{
                "instance_ids": ["i-0123456789abcdef0"],
                "commands": ["systemctl restart nginx"],
            }],
        },
    )

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


class SsmRunCommandsOperator(AwsActionOperator[SsmHook]):
    """Run a shell or PowerShell script with SSM Run Command; succeed only if it succeeded everywhere."""

    aws_hook_class = SsmHook
    ui_color = "#f7d0ad"
    parameters_model: ClassVar[type[SsmRunCommandParameters]] = SsmRunCommandParameters

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._running_command_id: str | None = None

    def run_action(self, context: Context, parameters: SsmRunCommandParameters) -> dict[str, Any]:
        targets = parameters.choose(by_ids=ssm.instances, by_tag=ssm.instances_tagged)
        document_parameters = {
            "commands": parameters.commands,
            "executionTimeout": [str(parameters.execution_timeout_seconds)],
        }
        if parameters.working_directory:
            document_parameters["workingDirectory"] = [parameters.working_directory]
        command = ssm.send_command(
            self.hook,
            document_name=parameters.document_name,
            parameters=document_parameters,
            comment=f"{self.dag_id}.{self.task_id}",
            targets=targets,
        )
        command_id = command["CommandId"]
        if not parameters.wait_until_final_state:
            return {"command_id": command_id, "status": command["Status"], "waited": False}

        self._running_command_id = command_id
        subject = f"SSM command {command_id} ({parameters.document_name} on {targets.name})"
        wait = ssm.command_wait(command_id, subject=subject)
        state = {"command_id": command_id, "targets": asdict(targets), "subject": subject}
        return self.wait_then(context, parameters, wait, then="summarize", **state)

    def summarize(
        self,
        context: Context,
        parameters: SsmRunCommandParameters,
        *,
        command_id: str,
        targets: dict[str, Any],
        subject: str,
    ) -> dict[str, Any]:
        """Log each instance's output of the ended command; fail if it failed on any, else sum it up."""
        self._running_command_id = None
        command, invocations = ssm.command_results(
            self.hook, command_id, targets=ssm.CommandTargets(**targets), subject=subject
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

    def after_failed_wait(self, *, then: str, state: dict[str, Any]) -> None:
        """Cancel the command when the triggerer gave up on it, as :meth:`on_kill` does in the worker."""
        ssm.cancel_command(self.hook, state["command_id"])

    def on_kill(self) -> None:
        """Cancel the command this run was still waiting for in the worker.

        Airflow runs no ``on_kill`` for a deferred task: a command of a run stopped while it waits
        in the triggerer runs on until its own execution timeout.
        """
        if self._running_command_id is not None:
            ssm.cancel_command(self.hook, self._running_command_id)


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
        iam_actions=(
            "ssm:SendCommand",
            "ssm:ListCommands",
            "ssm:ListCommandInvocations",
            "ssm:GetCommandInvocation",
            "ssm:CancelCommand",
        ),
    ),
)
