"""SSM Run Command over the provider's ``SsmHook``, for the SSM action.

The provider's ``SsmRunCommandOperator`` waits per instance id taken from the ``SendCommand``
answer, which is empty when the command targets a tag, and does not show the commands' output.
Here the command is sent with the hook's client, waited on by its overall status (a
``ListCommands`` waiter built with the provider's ``BaseBotoWaiter``; SSM has no such boto
waiter), then every instance's invocation is read with the hook to log its output and to fail
when any instance failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError

from http_trigger.actions.aws import excerpt
from http_trigger.actions.targets import Tag, listed
from http_trigger.actions.waiting import Wait

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.ssm import SsmHook

log = logging.getLogger(__name__)

_COMMAND_FINISHED = "command_finished"
_FINAL_STATUSES = ("Success", "Failed", "Cancelled", "TimedOut")
_WAITER_MODEL = {
    "version": 2,
    "waiters": {
        _COMMAND_FINISHED: {
            "operation": "ListCommands",
            "delay": 5,
            "maxAttempts": 720,
            # Any final status ends the wait; success is told from failure afterwards, with every
            # instance's details at hand.
            "acceptors": [
                {"matcher": "path", "argument": "Commands[0].Status", "expected": status, "state": "success"}
                for status in _FINAL_STATUSES
            ],
        }
    },
}


@dataclass(frozen=True)
class CommandTargets:
    """Where a command goes: its name in messages, and ``SendCommand``'s arguments choosing it."""

    name: str
    args: dict[str, Any]
    # The instances given by id; empty when a tag chooses them and SSM alone knows which.
    instance_ids: list[str] = field(default_factory=list)


def instances(instance_ids: list[str]) -> CommandTargets:
    """Target the managed instances given by id."""
    return CommandTargets(f"instances {listed(instance_ids)}", {"InstanceIds": instance_ids}, instance_ids)


def instances_tagged(tag: Tag) -> CommandTargets:
    """Target every managed instance carrying the tag, as SSM finds them when the command runs."""
    return CommandTargets(
        f"instances tagged {tag}", {"Targets": [{"Key": f"tag:{tag.key}", "Values": [tag.value]}]}
    )


def send_command(
    hook: SsmHook,
    *,
    document_name: str,
    parameters: dict[str, list[str]],
    comment: str,
    targets: CommandTargets,
) -> dict[str, Any]:
    """Send the command to ``targets``; return the command as SSM answered it."""
    log.info("Sending SSM command %s to %s", document_name, targets.name)
    try:
        command = hook.conn.send_command(
            DocumentName=document_name, Parameters=parameters, Comment=comment[:100], **targets.args
        )["Command"]
    except ClientError as error:
        raise AirflowException(
            f"Sending SSM command {document_name} to {targets.name} failed: {error}"
        ) from error
    log.info("SSM command %s sent to %s", command["CommandId"], targets.name)
    return command


def _instance_ids(hook: SsmHook, command: dict[str, Any], targets: CommandTargets) -> list[str]:
    """Return the instances the command ran on: the given ones, or those SSM chose by tag."""
    if targets.instance_ids:
        return targets.instance_ids
    if command.get("InstanceIds"):
        return command["InstanceIds"]
    if command.get("TargetCount") == 0:
        return []
    # SSM leaves InstanceIds empty for a command sent to Targets; its invocations name them.
    paginator = hook.conn.get_paginator("list_command_invocations")
    return [
        invocation["InstanceId"]
        for page in paginator.paginate(CommandId=command["CommandId"])
        for invocation in page["CommandInvocations"]
    ]


def _log_invocation(invocation: dict[str, Any]) -> None:
    instance_id = invocation["InstanceId"]
    log.info(
        "SSM command on %s: %s (exit code %s)",
        instance_id,
        invocation.get("Status"),
        invocation.get("ResponseCode"),
    )
    if stdout := invocation.get("StandardOutputContent"):
        log.info("Output on %s:\n%s", instance_id, excerpt(stdout))
    if stderr := invocation.get("StandardErrorContent"):
        log.info("Error output on %s:\n%s", instance_id, excerpt(stderr))


def _failure(invocation: dict[str, Any]) -> str:
    detail = excerpt((invocation.get("StandardErrorContent") or "").strip(), 300)
    code = invocation.get("ResponseCode")
    text = f"{invocation['InstanceId']} {invocation.get('Status')} (exit code {code})"
    return f"{text}: {detail}" if detail else text


def command_wait(command_id: str, *, subject: str) -> Wait:
    """Describe a wait until the command has ended everywhere; ``subject`` names it in messages."""
    return Wait(
        waiter_name=_COMMAND_FINISHED,
        args={"CommandId": command_id},
        resources=subject,
        final_state="finished",
        status_args=["Commands[0].Status", "Commands[0].CompletedCount", "Commands[0].TargetCount"],
        model=_WAITER_MODEL,
    )


def command_results(
    hook: SsmHook, command_id: str, *, targets: CommandTargets, subject: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Log every instance's output of the ended command, and fail if it failed on any.

    Return the final command and every instance's invocation.
    """
    [command] = hook.conn.list_commands(CommandId=command_id)["Commands"]
    invocations = [
        hook.get_command_invocation(command_id, instance_id)
        for instance_id in _instance_ids(hook, command, targets)
    ]
    for invocation in invocations:
        _log_invocation(invocation)
    if not invocations:
        raise AirflowException(f"{subject} reached no instance (status {command['Status']})")
    failed = [invocation for invocation in invocations if invocation.get("Status") != "Success"]
    if failed or command["Status"] != "Success":
        failures = "; ".join(_failure(invocation) for invocation in failed) or "no instance details"
        raise AirflowException(
            f"{subject} ended {command['Status']}, failed on {len(failed)} of {len(invocations)} "
            f"instances: {failures}"
        )
    return command, invocations


def cancel_command(hook: SsmHook, command_id: str) -> None:
    """Cancel the command, logging (not raising) a refusal: the task is being stopped anyway."""
    try:
        hook.conn.cancel_command(CommandId=command_id)
    except ClientError:
        log.warning("Could not cancel SSM command %s", command_id, exc_info=True)
