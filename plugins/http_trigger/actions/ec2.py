"""EC2 actions: start or stop the instances chosen by id or by tag, then wait for their final state.

The provider's ``EC2StartInstanceOperator`` / ``EC2StopInstanceOperator`` take exactly one
instance id and poll its state without a limit; a job targets a list of instances or every
instance carrying a tag, so these operators call the provider's ``EC2Hook`` with the whole list
and wait with EC2's own boto waiters (``instance_running`` / ``instance_stopped``) through the
provider's logging wait helper.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from airflow.providers.amazon.aws.exceptions import WaiterMaxAttemptsError
from airflow.providers.amazon.aws.hooks.ec2 import EC2Hook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.amazon.aws.utils.waiter_with_logging import wait
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError
from pydantic import ConfigDict, Field, model_validator

from http_trigger.actions.base import ActionOperatorMixin, ActionParameters, ActionType

if TYPE_CHECKING:
    from airflow.sdk import Context

INSTANCE_ID_PATTERN = r"^i-[0-9a-f]{8,17}$"
# Instances that can still be started or stopped; shutting-down ones are on their way to terminated.
_LIVE_STATES = ["pending", "running", "stopping", "stopped"]


class Ec2InstancesParameters(ActionParameters):
    """Choose EC2 instances by id or by one tag, and whether to wait until they reach their final state."""

    model_config = ConfigDict(title="EC2 instances")

    instance_ids: list[Annotated[str, Field(pattern=INSTANCE_ID_PATTERN)]] = Field(
        default_factory=list,
        title="Instance ids",
        description="The instances to act on, e.g. i-0123456789abcdef0. Leave empty to choose by tag.",
    )
    tag_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        title="Tag key",
        description="Act on every instance (not terminated) whose tag with this key has tag_value.",
    )
    tag_value: str | None = Field(default=None, min_length=1, max_length=256, title="Tag value")
    wait_until_final_state: bool = Field(
        default=True,
        title="Wait until final state",
        description="Finish only when every instance is running (start) or stopped (stop).",
    )

    @model_validator(mode="after")
    def _one_target(self) -> Ec2InstancesParameters:
        by_tag = self.tag_key is not None or self.tag_value is not None
        if self.instance_ids and by_tag:
            raise ValueError("give either instance_ids or tag_key and tag_value, not both")
        if not self.instance_ids and not by_tag:
            raise ValueError("give instance_ids, or tag_key and tag_value, to choose the instances")
        if by_tag and self.tag_key is None:
            raise ValueError("tag_key is required with tag_value")
        if by_tag and self.tag_value is None:
            raise ValueError("tag_value is required with tag_key")
        return self


class _EC2InstancesStateOperator(ActionOperatorMixin, AwsBaseOperator[EC2Hook]):
    """
    Move EC2 instances to a state and, optionally, wait until they all reach it.

    :param parameters: the action's parameters (see :class:`Ec2InstancesParameters`), or None to
        read them from the DAG run's ``conf`` when the task runs.
    :param waiter_delay: seconds between two state checks while waiting. Real instances take
        about 30 s to start or stop, so a few seconds keeps the task short without flooding EC2.
    :param waiter_max_attempts: state checks before giving up; the task's ``execution_timeout``
        usually ends a stuck wait first.
    """

    aws_hook_class = EC2Hook
    template_fields: Sequence[str] = aws_template_fields("parameters")
    template_fields_renderers = {"parameters": "json"}
    ui_color = "#eeaa11"
    ui_fgcolor = "#ffffff"

    parameters_model: ClassVar[type[Ec2InstancesParameters]] = Ec2InstancesParameters
    # Set by each subclass.
    verb: ClassVar[str]
    final_state: ClassVar[str]
    waiter_name: ClassVar[str]

    def __init__(
        self,
        *,
        parameters: dict[str, Any] | None = None,
        waiter_delay: int = 5,
        waiter_max_attempts: int = 720,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.parameters = parameters
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        # The hook's start/stop/describe helpers only exist in client mode.
        return {**super()._hook_parameters, "api_type": "client_type"}

    def run_action(self, context: Context, parameters: Ec2InstancesParameters) -> dict[str, Any]:
        instance_ids = self._resolve_instance_ids(parameters)
        self.log.info("%s EC2 instances %s", self.verb, ", ".join(instance_ids))
        try:
            response = self._change_state(instance_ids)
        except ClientError as error:
            raise AirflowException(
                f"{self.verb} EC2 instances {', '.join(instance_ids)} failed: {error}"
            ) from error
        if not parameters.wait_until_final_state:
            states = {item["InstanceId"]: item["CurrentState"]["Name"] for item in response}
            return {"instance_ids": instance_ids, "states": states, "waited": False}
        self._wait(instance_ids)
        states = {
            instance["InstanceId"]: instance["State"]["Name"]
            for instance in self.hook.get_instances(instance_ids=instance_ids)
        }
        self.log.info("EC2 instances %s are %s", ", ".join(instance_ids), self.final_state)
        return {"instance_ids": instance_ids, "states": states, "waited": True}

    def _resolve_instance_ids(self, parameters: Ec2InstancesParameters) -> list[str]:
        if parameters.instance_ids:
            return list(dict.fromkeys(parameters.instance_ids))
        tag = f"{parameters.tag_key}={parameters.tag_value}"
        instance_ids = self.hook.get_instance_ids(
            filters=[
                {"Name": f"tag:{parameters.tag_key}", "Values": [parameters.tag_value]},
                {"Name": "instance-state-name", "Values": _LIVE_STATES},
            ]
        )
        if not instance_ids:
            raise AirflowException(f"No EC2 instance (not terminated) is tagged {tag}")
        self.log.info("EC2 instances tagged %s: %s", tag, ", ".join(instance_ids))
        return instance_ids

    def _change_state(self, instance_ids: list[str]) -> list[dict[str, Any]]:
        """Ask EC2 for the change; return the per-instance state changes it answered."""
        raise NotImplementedError

    def _wait(self, instance_ids: list[str]) -> None:
        names = ", ".join(instance_ids)
        try:
            wait(
                waiter=self.hook.get_waiter(self.waiter_name),
                waiter_delay=self.waiter_delay,
                waiter_max_attempts=self.waiter_max_attempts,
                args={"InstanceIds": instance_ids},
                failure_message=f"EC2 instances {names} did not become {self.final_state}",
                status_message=f"Waiting for EC2 instances {names} to be {self.final_state}",
                status_args=["Reservations[].Instances[].[InstanceId, State.Name]"],
            )
        except WaiterMaxAttemptsError as error:
            raise AirflowException(
                f"EC2 instances {names} were not all {self.final_state} "
                f"after {self.waiter_max_attempts} checks: {error}"
            ) from error


class EC2StartInstancesOperator(_EC2InstancesStateOperator):
    """Start EC2 instances chosen by id or tag and wait until they are running."""

    verb = "Starting"
    final_state = "running"
    waiter_name = "instance_running"

    def _change_state(self, instance_ids: list[str]) -> list[dict[str, Any]]:
        return self.hook.start_instances(instance_ids=instance_ids)["StartingInstances"]


class EC2StopInstancesOperator(_EC2InstancesStateOperator):
    """Stop EC2 instances chosen by id or tag and wait until they are stopped."""

    verb = "Stopping"
    final_state = "stopped"
    waiter_name = "instance_stopped"

    def _change_state(self, instance_ids: list[str]) -> list[dict[str, Any]]:
        return self.hook.stop_instances(instance_ids=instance_ids)["StoppingInstances"]


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="ec2_start_instances",
        title="EC2: Start instances",
        description=(
            "Start the EC2 instances given by id, or every instance carrying a tag, "
            "and wait until they are running."
        ),
        parameters_model=Ec2InstancesParameters,
        operator_class=EC2StartInstancesOperator,
    ),
    ActionType(
        name="ec2_stop_instances",
        title="EC2: Stop instances",
        description=(
            "Stop the EC2 instances given by id, or every instance carrying a tag, "
            "and wait until they are stopped."
        ),
        parameters_model=Ec2InstancesParameters,
        operator_class=EC2StopInstancesOperator,
    ),
)
