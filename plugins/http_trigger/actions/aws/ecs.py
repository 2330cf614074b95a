"""ECS tasks and services over the provider's ``EcsHook`` client, for the ECS actions.

The provider's ``EcsRunTaskOperator`` follows exactly one task (the first of the answer), so
running ``count`` tasks, waiting for all of them with ECS's own ``tasks_stopped`` waiter and
reading every container's exit code happens here. The provider has no hook method for
``UpdateService``; that one is the hook's boto3 client, waited on with ``services_stable``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError

from http_trigger.actions.targets import listed
from http_trigger.actions.waiting import Wait

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.ecs import EcsHook

log = logging.getLogger(__name__)

# What ECS records as the tasks' starter, so people can tell them apart in the console.
STARTED_BY = "http-trigger"


def describe_run(cluster: str, task_definition: str) -> str:
    """Name a run in logs and errors: ``task definition <family> on ECS cluster <cluster>``."""
    return f"task definition {task_definition} on ECS cluster {cluster}"


def task_id(task_arn: str) -> str:
    """Return the short task id ECS shows for a task ARN."""
    return task_arn.rsplit("/", 1)[-1]


def network_configuration(
    *, subnets: list[str], security_groups: list[str], assign_public_ip: bool | None
) -> dict[str, Any]:
    """Return ``run_task``'s awsvpc configuration; ``assign_public_ip`` None leaves it out (EC2 tasks)."""
    network: dict[str, Any] = {"subnets": subnets}
    if security_groups:
        network["securityGroups"] = security_groups
    if assign_public_ip is not None:
        network["assignPublicIp"] = "ENABLED" if assign_public_ip else "DISABLED"
    return {"awsvpcConfiguration": network}


def run_tasks(
    hook: EcsHook,
    *,
    cluster: str,
    task_definition: str,
    count: int,
    launch_type: str,
    network: dict[str, Any] | None,
) -> list[str]:
    """Run ``count`` tasks of the task definition; return their ARNs, or fail with ECS's reasons.

    ``network`` is the :func:`network_configuration`, or None outside a VPC network mode.
    """
    where = describe_run(cluster, task_definition)
    log.info("Running %s %s task(s) of %s", count, launch_type, where)
    run_args: dict[str, Any] = {
        "cluster": cluster,
        "taskDefinition": task_definition,
        "count": count,
        "launchType": launch_type,
        "startedBy": STARTED_BY,
    }
    if network is not None:
        run_args["networkConfiguration"] = network
    try:
        response = hook.conn.run_task(**run_args)
    except ClientError as error:
        raise AirflowException(f"Running {where} failed: {error}") from error
    if response.get("failures"):
        reasons = "; ".join(
            f"{failure.get('reason')} {failure.get('detail', '')}".strip() for failure in response["failures"]
        )
        raise AirflowException(f"ECS could not run {where}: {reasons}")
    task_arns = [task["taskArn"] for task in response["tasks"]]
    log.info("Started ECS tasks %s", listed(task_arns))
    return task_arns


def _task_problems(task: dict[str, Any], *, exit_codes_matter: bool) -> list[str]:
    """Say what went wrong with a stopped task; empty when it ran and every container exited 0."""
    short_id = task_id(task["taskArn"])
    if task.get("stopCode") == "TaskFailedToStart":
        return [f"task {short_id} failed to start: {task.get('stoppedReason', 'no reason given')}"]
    if not exit_codes_matter:
        return []
    problems = []
    for container in task.get("containers", []):
        code = container.get("exitCode")
        if code is None:
            reason = container.get("reason") or task.get("stoppedReason") or "no reason given"
            problems.append(f"task {short_id} container {container.get('name')} has no exit code ({reason})")
        elif code != 0:
            problems.append(f"task {short_id} container {container.get('name')} exited with code {code}")
    return problems


def tasks_wait(cluster: str, task_arns: list[str], *, task_definition: str) -> Wait:
    """Describe a wait with ECS's ``tasks_stopped`` waiter until every task stopped."""
    return Wait(
        waiter_name="tasks_stopped",
        args={"cluster": cluster, "tasks": task_arns},
        resources=f"ECS tasks {', '.join(map(task_id, task_arns))} of "
        f"{describe_run(cluster, task_definition)}",
        final_state="stopped",
        status_args=["tasks[].[taskArn, lastStatus]"],
    )


def stopped_tasks_exit_codes(
    hook: EcsHook, cluster: str, task_arns: list[str], *, task_definition: str, exit_codes_matter: bool
) -> dict[str, dict[str, int | None]]:
    """Return each stopped task's container exit codes, or fail naming the tasks that failed.

    A task that failed to start always fails the action; a non-zero or missing exit code does
    when ``exit_codes_matter``.
    """
    where = describe_run(cluster, task_definition)
    tasks = hook.conn.describe_tasks(cluster=cluster, tasks=task_arns)["tasks"]
    problems = [
        problem for task in tasks for problem in _task_problems(task, exit_codes_matter=exit_codes_matter)
    ]
    exit_codes = {
        task_id(task["taskArn"]): {c.get("name"): c.get("exitCode") for c in task.get("containers", [])}
        for task in tasks
    }
    log.info("ECS tasks of %s stopped; exit codes: %s", where, exit_codes)
    if problems:
        raise AirflowException(f"ECS tasks of {where} failed: {'; '.join(problems)}")
    return exit_codes


def stop_tasks(hook: EcsHook, cluster: str, task_arns: list[str], *, reason: str) -> None:
    """Stop the tasks, logging (not raising) a task ECS refuses to stop, so the others are tried."""
    for task_arn in task_arns:
        try:
            hook.conn.stop_task(cluster=cluster, task=task_arn, reason=reason)
        except ClientError:
            log.warning("Could not stop ECS task %s", task_arn, exc_info=True)


def set_desired_count(hook: EcsHook, cluster: str, service: str, desired_count: int) -> None:
    """Set the service's desired count, or fail naming the service."""
    subject = service_subject(cluster, service)
    log.info("Setting the desired count of %s to %s", subject, desired_count)
    try:
        hook.conn.update_service(cluster=cluster, service=service, desiredCount=desired_count)
    except ClientError as error:
        raise AirflowException(
            f"Setting the desired count of {subject} to {desired_count} failed: {error}"
        ) from error


def service_subject(cluster: str, service: str) -> str:
    return f"ECS service {service} on cluster {cluster}"


def service_stable_wait(cluster: str, service: str) -> Wait:
    """Describe a wait with ECS's ``services_stable`` waiter until the service runs its desired count."""
    return Wait(
        waiter_name="services_stable",
        args={"cluster": cluster, "services": [service]},
        resources=service_subject(cluster, service),
        final_state="stable",
        status_args=["services[].[serviceName, runningCount, desiredCount]"],
    )


def service_counts(hook: EcsHook, cluster: str, service: str) -> dict[str, int]:
    """Return the service's ``desired_count`` and ``running_count`` as ECS tells them now."""
    [described] = hook.conn.describe_services(cluster=cluster, services=[service])["services"]
    log.info(
        "%s: desired count %s, running %s",
        service_subject(cluster, service),
        described["desiredCount"],
        described["runningCount"],
    )
    return {"desired_count": described["desiredCount"], "running_count": described["runningCount"]}
