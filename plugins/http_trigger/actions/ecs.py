"""ECS actions: run tasks (optionally waiting until they stop) and set a service's desired count.

The provider's ``EcsRunTaskOperator`` follows exactly one task (the first of the answer), so a job
running ``count`` tasks calls ``run_task`` through the provider's ``EcsHook`` client and waits with
ECS's own ``tasks_stopped`` waiter for all of them. The provider has no operator nor hook method
for ``UpdateService``; that one is the same hook's boto3 client, waited on with ECS's
``services_stable`` waiter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from airflow.providers.amazon.aws.hooks.ecs import EcsHook
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError
from pydantic import ConfigDict, Field, model_validator

from http_trigger.actions.aws_base import AwsActionOperator
from http_trigger.actions.base import ActionParameters, ActionType

if TYPE_CHECKING:
    from airflow.sdk import Context

SUBNET_ID_PATTERN = r"^subnet-[0-9a-f]{8,17}$"
SECURITY_GROUP_ID_PATTERN = r"^sg-[0-9a-f]{8,17}$"
# What ECS records as the tasks' starter, so people can tell them apart in the console.
STARTED_BY = "http-trigger"

_Cluster = Annotated[
    str,
    Field(min_length=1, max_length=2048, title="Cluster", description="The cluster's name or ARN."),
]


class EcsRunTaskParameters(ActionParameters):
    """Choose the task definition, where and how many to run, and whether to wait until they stop."""

    model_config = ConfigDict(title="ECS tasks")

    cluster: _Cluster
    task_definition: str = Field(
        min_length=1,
        max_length=2048,
        title="Task definition",
        description="family (its latest ACTIVE revision), family:revision, or the full ARN.",
    )
    count: int = Field(default=1, ge=1, le=10, title="Number of tasks")
    launch_type: Literal["FARGATE", "EC2"] = Field(default="FARGATE", title="Launch type")
    subnets: list[Annotated[str, Field(pattern=SUBNET_ID_PATTERN)]] = Field(
        default_factory=list,
        max_length=16,
        title="Subnets",
        description="Subnets of the tasks' network interfaces (awsvpc network mode); required for Fargate.",
    )
    security_groups: list[Annotated[str, Field(pattern=SECURITY_GROUP_ID_PATTERN)]] = Field(
        default_factory=list,
        max_length=5,
        title="Security groups",
        description="Security groups of the tasks' network interfaces; the VPC's default group if empty.",
    )
    assign_public_ip: bool = Field(
        default=False,
        title="Assign a public IP",
        description="Fargate only: give each task a public IP (needed in a public subnet without a NAT).",
    )
    wait_until_final_state: bool = Field(
        default=True,
        title="Wait until stopped",
        description="Finish only when every task has stopped.",
    )
    fail_on_nonzero_exit: bool = Field(
        default=True,
        title="Fail on a non-zero exit code",
        description="When waiting: fail the job if a container exits with a code other than 0.",
    )

    @model_validator(mode="after")
    def _network(self) -> EcsRunTaskParameters:
        if self.launch_type == "FARGATE" and not self.subnets:
            raise ValueError("subnets are required with launch_type FARGATE")
        if self.security_groups and not self.subnets:
            raise ValueError("security_groups need subnets")
        if self.assign_public_ip and self.launch_type != "FARGATE":
            raise ValueError("assign_public_ip is only possible with launch_type FARGATE")
        return self


class EcsServiceDesiredCountParameters(ActionParameters):
    """Choose the service, its new desired count, and whether to wait until it is stable."""

    model_config = ConfigDict(title="ECS service desired count")

    cluster: _Cluster
    service: str = Field(
        min_length=1, max_length=2048, title="Service", description="The service's name or ARN."
    )
    desired_count: int = Field(ge=0, le=5000, title="Desired count", description="0 stops every task.")
    wait_until_final_state: bool = Field(
        default=True,
        title="Wait until stable",
        description="Finish only when the service runs the desired count with a single deployment.",
    )


def _task_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


def _task_problems(task: dict[str, Any], *, exit_codes_matter: bool) -> list[str]:
    """Say what went wrong with a stopped task; empty when it ran and every container exited 0."""
    task_id = _task_id(task["taskArn"])
    if task.get("stopCode") == "TaskFailedToStart":
        return [f"task {task_id} failed to start: {task.get('stoppedReason', 'no reason given')}"]
    if not exit_codes_matter:
        return []
    problems = []
    for container in task.get("containers", []):
        code = container.get("exitCode")
        if code is None:
            reason = container.get("reason") or task.get("stoppedReason") or "no reason given"
            problems.append(f"task {task_id} container {container.get('name')} has no exit code ({reason})")
        elif code != 0:
            problems.append(f"task {task_id} container {container.get('name')} exited with code {code}")
    return problems


class EcsRunTasksOperator(AwsActionOperator[EcsHook]):
    """Run ECS tasks from a task definition and, optionally, wait until they all stop."""

    aws_hook_class = EcsHook
    ui_color = "#f0ede4"
    parameters_model: ClassVar[type[EcsRunTaskParameters]] = EcsRunTaskParameters

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._started: tuple[str, list[str]] | None = None

    def run_action(self, context: Context, parameters: EcsRunTaskParameters) -> dict[str, Any]:
        where = f"task definition {parameters.task_definition} on ECS cluster {parameters.cluster}"
        self.log.info("Running %s %s task(s) of %s", parameters.count, parameters.launch_type, where)
        run_args: dict[str, Any] = {
            "cluster": parameters.cluster,
            "taskDefinition": parameters.task_definition,
            "count": parameters.count,
            "launchType": parameters.launch_type,
            "startedBy": STARTED_BY,
        }
        if parameters.subnets:
            network: dict[str, Any] = {"subnets": parameters.subnets}
            if parameters.security_groups:
                network["securityGroups"] = parameters.security_groups
            if parameters.launch_type == "FARGATE":
                network["assignPublicIp"] = "ENABLED" if parameters.assign_public_ip else "DISABLED"
            run_args["networkConfiguration"] = {"awsvpcConfiguration": network}
        try:
            response = self.hook.conn.run_task(**run_args)
        except ClientError as error:
            raise AirflowException(f"Running {where} failed: {error}") from error
        if response.get("failures"):
            reasons = "; ".join(
                f"{failure.get('reason')} {failure.get('detail', '')}".strip()
                for failure in response["failures"]
            )
            raise AirflowException(f"ECS could not run {where}: {reasons}")
        task_arns = [task["taskArn"] for task in response["tasks"]]
        self._started = (parameters.cluster, task_arns)
        self.log.info("Started ECS tasks %s", ", ".join(task_arns))
        summary: dict[str, Any] = {
            "cluster": parameters.cluster,
            "task_definition": parameters.task_definition,
            "task_arns": task_arns,
            "waited": parameters.wait_until_final_state,
        }
        if not parameters.wait_until_final_state:
            return summary

        self.wait_until(
            self.hook.get_waiter("tasks_stopped"),
            args={"cluster": parameters.cluster, "tasks": task_arns},
            subject=f"ECS tasks {', '.join(map(_task_id, task_arns))} of {where}",
            state="stopped",
            status_args=["tasks[].[taskArn, lastStatus]"],
        )
        self._started = None
        tasks = self.hook.conn.describe_tasks(cluster=parameters.cluster, tasks=task_arns)["tasks"]
        problems = [
            problem
            for task in tasks
            for problem in _task_problems(task, exit_codes_matter=parameters.fail_on_nonzero_exit)
        ]
        exit_codes = {
            _task_id(task["taskArn"]): {c.get("name"): c.get("exitCode") for c in task.get("containers", [])}
            for task in tasks
        }
        self.log.info("ECS tasks of %s stopped; exit codes: %s", where, exit_codes)
        if problems:
            raise AirflowException(f"ECS tasks of {where} failed: {'; '.join(problems)}")
        return {**summary, "exit_codes": exit_codes}

    def on_kill(self) -> None:
        """Stop the tasks this run started and was still waiting for."""
        if self._started is None:
            return
        cluster, task_arns = self._started
        for task_arn in task_arns:
            try:
                self.hook.conn.stop_task(cluster=cluster, task=task_arn, reason="Airflow task was stopped")
            except ClientError:
                self.log.warning("Could not stop ECS task %s", task_arn, exc_info=True)


class EcsUpdateServiceDesiredCountOperator(AwsActionOperator[EcsHook]):
    """Set an ECS service's desired count and, optionally, wait until the service is stable."""

    aws_hook_class = EcsHook
    ui_color = "#f0ede4"
    parameters_model: ClassVar[type[EcsServiceDesiredCountParameters]] = EcsServiceDesiredCountParameters

    def run_action(self, context: Context, parameters: EcsServiceDesiredCountParameters) -> dict[str, Any]:
        subject = f"ECS service {parameters.service} on cluster {parameters.cluster}"
        self.log.info("Setting the desired count of %s to %s", subject, parameters.desired_count)
        try:
            self.hook.conn.update_service(
                cluster=parameters.cluster, service=parameters.service, desiredCount=parameters.desired_count
            )
        except ClientError as error:
            raise AirflowException(
                f"Setting the desired count of {subject} to {parameters.desired_count} failed: {error}"
            ) from error
        if parameters.wait_until_final_state:
            self.wait_until(
                self.hook.get_waiter("services_stable"),
                args={"cluster": parameters.cluster, "services": [parameters.service]},
                subject=subject,
                state="stable",
                status_args=["services[].[serviceName, runningCount, desiredCount]"],
            )
        [service] = self.hook.conn.describe_services(
            cluster=parameters.cluster, services=[parameters.service]
        )["services"]
        self.log.info(
            "%s: desired count %s, running %s", subject, service["desiredCount"], service["runningCount"]
        )
        return {
            "cluster": parameters.cluster,
            "service": parameters.service,
            "desired_count": service["desiredCount"],
            "running_count": service["runningCount"],
            "waited": parameters.wait_until_final_state,
        }


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="ecs_run_task",
        title="ECS: Run task",
        description=(
            "Run tasks from a task definition on an ECS cluster (Fargate or EC2), "
            "and wait until they stop, failing on a non-zero exit code."
        ),
        operator_class=EcsRunTasksOperator,
    ),
    ActionType(
        name="ecs_update_service_desired_count",
        title="ECS: Update service desired count",
        description="Set the number of tasks an ECS service runs, and wait until the service is stable.",
        operator_class=EcsUpdateServiceDesiredCountOperator,
    ),
)
