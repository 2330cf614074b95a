"""ECS actions: run tasks (optionally waiting until they stop) and set a service's desired count.

The provider's ``EcsRunTaskOperator`` follows exactly one task (the first of the answer), so a job
running ``count`` tasks calls ``run_task`` through the provider's ``EcsHook`` client and waits with
ECS's own ``tasks_stopped`` waiter for all of them. The provider has no operator nor hook method
for ``UpdateService``; that one is the same hook's boto3 client, waited on with ECS's
``services_stable`` waiter. The calls live in :mod:`http_trigger.actions.aws.ecs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from airflow.providers.amazon.aws.hooks.ecs import EcsHook
from pydantic import ConfigDict, Field, model_validator

from http_trigger.actions.aws import ecs
from http_trigger.actions.aws_base import AwsActionOperator
from http_trigger.actions.base import ActionParameters, ActionType
from http_trigger.field_messages import Rule

if TYPE_CHECKING:
    from airflow.sdk import Context

SUBNET_ID_PATTERN = r"^subnet-[0-9a-f]{8,17}$"
SECURITY_GROUP_ID_PATTERN = r"^sg-[0-9a-f]{8,17}$"

_Cluster = Annotated[
    str,
    Field(min_length=1, max_length=2048, title="Cluster", description="The cluster's name or ARN."),
]


_FARGATE_SUBNETS = Rule("ecs.fargate_subnets", "subnets are required with launch_type FARGATE")
_GROUPS_NEED_SUBNETS = Rule("ecs.groups_need_subnets", "security_groups need subnets")
_PUBLIC_IP_ON_FARGATE = Rule(
    "ecs.public_ip_on_fargate", "assign_public_ip is only possible with launch_type FARGATE"
)


class EcsRunTaskParameters(ActionParameters):
    """Choose the task definition, where and how many to run, and whether to wait until they stop."""

    model_config = ConfigDict(
        title="ECS tasks",
        json_schema_extra={
            "examples": [{
                "cluster": "batch",
                "task_definition": "nightly-export:3",
                "subnets": ["subnet-0123456789abcdef0"],
                "security_groups": ["sg-0123456789abcdef0"],
            }],
        },
    )

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
            raise _FARGATE_SUBNETS.error()
        if self.security_groups and not self.subnets:
            raise _GROUPS_NEED_SUBNETS.error()
        if self.assign_public_ip and self.launch_type != "FARGATE":
            raise _PUBLIC_IP_ON_FARGATE.error()
        return self


class EcsServiceDesiredCountParameters(ActionParameters):
    """Choose the service, its new desired count, and whether to wait until it is stable."""

    model_config = ConfigDict(
        title="ECS service desired count",
        json_schema_extra={"examples": [{"cluster": "web", "service": "api", "desired_count": 2}]},
    )

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


class EcsRunTasksOperator(AwsActionOperator[EcsHook]):
    """Run ECS tasks from a task definition and, optionally, wait until they all stop."""

    aws_hook_class = EcsHook
    ui_color = "#f0ede4"
    parameters_model: ClassVar[type[EcsRunTaskParameters]] = EcsRunTaskParameters

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._started: tuple[str, list[str]] | None = None

    def run_action(self, context: Context, parameters: EcsRunTaskParameters) -> dict[str, Any]:
        cluster = parameters.cluster
        network = None
        if parameters.subnets:
            fargate = parameters.launch_type == "FARGATE"
            network = ecs.network_configuration(
                subnets=parameters.subnets,
                security_groups=parameters.security_groups,
                assign_public_ip=parameters.assign_public_ip if fargate else None,
            )
        task_arns = ecs.run_tasks(
            self.hook,
            cluster=cluster,
            task_definition=parameters.task_definition,
            count=parameters.count,
            launch_type=parameters.launch_type,
            network=network,
        )
        summary: dict[str, Any] = {
            "cluster": cluster,
            "task_definition": parameters.task_definition,
            "task_arns": task_arns,
            "waited": parameters.wait_until_final_state,
        }
        if not parameters.wait_until_final_state:
            return summary
        self._started = (cluster, task_arns)
        wait = ecs.tasks_wait(cluster, task_arns, task_definition=parameters.task_definition)
        return self.wait_then(context, parameters, wait, then="check_exit_codes", summary=summary)

    def check_exit_codes(
        self, context: Context, parameters: EcsRunTaskParameters, *, summary: dict[str, Any]
    ) -> dict[str, Any]:
        """Fail if a stopped task failed (or, when it matters, exited non-zero); else add the exit codes."""
        self._started = None
        exit_codes = ecs.stopped_tasks_exit_codes(
            self.hook,
            summary["cluster"],
            summary["task_arns"],
            task_definition=summary["task_definition"],
            exit_codes_matter=parameters.fail_on_nonzero_exit,
        )
        return {**summary, "exit_codes": exit_codes}

    def after_failed_wait(self, *, then: str, state: dict[str, Any]) -> None:
        """Stop the tasks when the triggerer gave up on them, as :meth:`on_kill` does in the worker."""
        summary = state["summary"]
        ecs.stop_tasks(
            self.hook, summary["cluster"], summary["task_arns"], reason="Airflow task stopped waiting"
        )

    def on_kill(self) -> None:
        """Stop the tasks this run started and was still waiting for in the worker.

        Airflow runs no ``on_kill`` for a deferred task: tasks of a run stopped while it waits in
        the triggerer keep running (the triggerer's own give-up stops them, see
        :meth:`after_failed_wait`).
        """
        if self._started is not None:
            cluster, task_arns = self._started
            ecs.stop_tasks(self.hook, cluster, task_arns, reason="Airflow task was stopped")


class EcsUpdateServiceDesiredCountOperator(AwsActionOperator[EcsHook]):
    """Set an ECS service's desired count and, optionally, wait until the service is stable."""

    aws_hook_class = EcsHook
    ui_color = "#f0ede4"
    parameters_model: ClassVar[type[EcsServiceDesiredCountParameters]] = EcsServiceDesiredCountParameters

    def run_action(self, context: Context, parameters: EcsServiceDesiredCountParameters) -> dict[str, Any]:
        ecs.set_desired_count(self.hook, parameters.cluster, parameters.service, parameters.desired_count)
        if not parameters.wait_until_final_state:
            return self.summarize(context, parameters)
        wait = ecs.service_stable_wait(parameters.cluster, parameters.service)
        return self.wait_then(context, parameters, wait, then="summarize")

    def summarize(self, context: Context, parameters: EcsServiceDesiredCountParameters) -> dict[str, Any]:
        """Return the service's desired and running counts as ECS tells them now."""
        return {
            "cluster": parameters.cluster,
            "service": parameters.service,
            **ecs.service_counts(self.hook, parameters.cluster, parameters.service),
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
        iam_actions=("ecs:RunTask", "iam:PassRole", "ecs:DescribeTasks", "ecs:StopTask"),
    ),
    ActionType(
        name="ecs_update_service_desired_count",
        title="ECS: Update service desired count",
        description="Set the number of tasks an ECS service runs, and wait until the service is stable.",
        operator_class=EcsUpdateServiceDesiredCountOperator,
        iam_actions=("ecs:UpdateService", "ecs:DescribeServices"),
    ),
)
