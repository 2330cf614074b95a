"""Auto Scaling actions: set the minimum, maximum and desired capacity of groups chosen by name or tag.

The Amazon provider has no Auto Scaling hook, operator or waiter, so this operator uses the
provider's generic ``AwsBaseHook`` with the ``autoscaling`` boto3 client (connection, region and
retries still come from the provider), and waits with a boto waiter built from the small model
below through the provider's ``BaseBotoWaiter``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.waiters.base_waiter import BaseBotoWaiter
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError
from pydantic import ConfigDict, Field, model_validator

from http_trigger.actions.aws_base import AwsActionOperator
from http_trigger.actions.base import ActionType
from http_trigger.actions.targets import (
    TargetedParameters,
    tag_key_field,
    tag_value_field,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

_GROUP_AT_CAPACITY = "group_at_capacity"
# Done when as many instances are InService as desired, and none is still launching or terminating.
_AT_CAPACITY = (
    "length(AutoScalingGroups[0].Instances[?LifecycleState=='InService'])"
    " == AutoScalingGroups[0].DesiredCapacity"
    " && length(AutoScalingGroups[0].Instances[?starts_with(LifecycleState, 'Pending')"
    " || starts_with(LifecycleState, 'Terminating')]) == `0`"
)
_GONE = "length(AutoScalingGroups) == `0`"
_WAITER_MODEL = {
    "version": 2,
    "waiters": {
        _GROUP_AT_CAPACITY: {
            "operation": "DescribeAutoScalingGroups",
            "delay": 15,
            "maxAttempts": 240,
            "acceptors": [
                {"matcher": "path", "argument": _AT_CAPACITY, "expected": True, "state": "success"},
                {"matcher": "path", "argument": _GONE, "expected": True, "state": "failure"},
            ],
        }
    },
}


class AutoScalingCapacityParameters(TargetedParameters):
    """Choose the groups by name or one tag, their new capacities, and whether to wait for them."""

    ids_field: ClassVar[str] = "group_names"
    resources: ClassVar[str] = "groups"

    model_config = ConfigDict(title="Auto Scaling group capacity")

    group_names: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list,
        title="Group names",
        description="The Auto Scaling groups to change. Leave empty to choose by tag.",
    )
    tag_key: str | None = tag_key_field("group")
    tag_value: str | None = tag_value_field()
    min_size: int | None = Field(default=None, ge=0, title="Minimum capacity")
    max_size: int | None = Field(default=None, ge=0, title="Maximum capacity")
    desired_capacity: int | None = Field(default=None, ge=0, title="Desired capacity")
    wait_until_final_state: bool = Field(
        default=True,
        title="Wait until at capacity",
        description="Finish only when each group has exactly its desired number of instances InService.",
    )

    @model_validator(mode="after")
    def _check(self) -> AutoScalingCapacityParameters:
        if self.min_size is None and self.max_size is None and self.desired_capacity is None:
            raise ValueError("give at least one of min_size, max_size and desired_capacity")
        _check_order(self.min_size, self.desired_capacity, self.max_size)
        return self


def _check_order(min_size: int | None, desired: int | None, max_size: int | None) -> None:
    """Refuse capacities out of order, among those given: min_size <= desired_capacity <= max_size."""
    if min_size is not None and max_size is not None and min_size > max_size:
        raise ValueError(f"min_size ({min_size}) must not be greater than max_size ({max_size})")
    if min_size is not None and desired is not None and desired < min_size:
        raise ValueError(f"desired_capacity ({desired}) must not be less than min_size ({min_size})")
    if max_size is not None and desired is not None and desired > max_size:
        raise ValueError(f"desired_capacity ({desired}) must not be greater than max_size ({max_size})")


class AutoScalingUpdateGroupCapacityOperator(AwsActionOperator[AwsBaseHook]):
    """Set the capacity of Auto Scaling groups chosen by name or tag, and wait until they reach it."""

    aws_hook_class = AwsBaseHook
    ui_color = "#ff9900"
    parameters_model: ClassVar[type[AutoScalingCapacityParameters]] = AutoScalingCapacityParameters

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {**super()._hook_parameters, "client_type": "autoscaling"}

    def run_action(self, context: Context, parameters: AutoScalingCapacityParameters) -> dict[str, Any]:
        groups = self._groups(parameters)
        # Check every group before changing any, so a bad value leaves all of them as they were.
        changes = {group["AutoScalingGroupName"]: self._change(group, parameters) for group in groups}
        for name, change in changes.items():
            self.log.info("Setting Auto Scaling group %s to %s", name, change)
            try:
                self.hook.conn.update_auto_scaling_group(AutoScalingGroupName=name, **change)
            except ClientError as error:
                raise AirflowException(f"Updating Auto Scaling group {name} failed: {error}") from error
        if parameters.wait_until_final_state:
            waiter_model = BaseBotoWaiter(client=self.hook.conn, model_config=_WAITER_MODEL)
            waiter = waiter_model.waiter(_GROUP_AT_CAPACITY)
            for name in changes:
                self.wait_until(
                    waiter,
                    args={"AutoScalingGroupNames": [name]},
                    subject=f"Auto Scaling group {name}",
                    state="at its desired capacity",
                    status_args=[
                        "AutoScalingGroups[0].DesiredCapacity",
                        "AutoScalingGroups[0].Instances[].[InstanceId, LifecycleState]",
                    ],
                )
        capacities = {
            group["AutoScalingGroupName"]: {
                "min_size": group["MinSize"],
                "max_size": group["MaxSize"],
                "desired_capacity": group["DesiredCapacity"],
                "in_service": sum(
                    1 for instance in group.get("Instances", []) if instance["LifecycleState"] == "InService"
                ),
            }
            for group in self._describe(list(changes))
        }
        return {"groups": capacities, "waited": parameters.wait_until_final_state}

    def _describe(
        self, names: list[str] | None = None, filters: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        paginator = self.hook.conn.get_paginator("describe_auto_scaling_groups")
        args: dict[str, Any] = {"AutoScalingGroupNames": names} if names else {"Filters": filters or []}
        return [group for page in paginator.paginate(**args) for group in page["AutoScalingGroups"]]

    def _groups(self, parameters: AutoScalingCapacityParameters) -> list[dict[str, Any]]:
        if parameters.group_names:
            names = parameters.chosen_ids()
            groups = self._describe(names)
            missing = sorted(set(names) - {group["AutoScalingGroupName"] for group in groups})
            if missing:
                raise AirflowException(f"No Auto Scaling group named {', '.join(missing)}")
            return groups
        tag = parameters.tag
        tag_filter = {"Name": f"tag:{parameters.tag_key}", "Values": [parameters.tag_value]}
        groups = self._describe(filters=[tag_filter])
        if not groups:
            raise AirflowException(f"No Auto Scaling group is tagged {tag}")
        names = ", ".join(group["AutoScalingGroupName"] for group in groups)
        self.log.info("Auto Scaling groups tagged %s: %s", tag, names)
        return groups

    @staticmethod
    def _change(group: dict[str, Any], parameters: AutoScalingCapacityParameters) -> dict[str, int]:
        """Return the update for one group, refusing one that would leave it out of order."""
        given = {
            "MinSize": parameters.min_size,
            "MaxSize": parameters.max_size,
            "DesiredCapacity": parameters.desired_capacity,
        }
        after = {key: group[key] if value is None else value for key, value in given.items()}
        try:
            _check_order(after["MinSize"], after["DesiredCapacity"], after["MaxSize"])
        except ValueError as error:
            now = f"min {group['MinSize']}, desired {group['DesiredCapacity']}, max {group['MaxSize']}"
            raise AirflowException(
                f"Auto Scaling group {group['AutoScalingGroupName']} ({now}) cannot take this change: {error}"
            ) from None
        return {key: value for key, value in given.items() if value is not None}


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="autoscaling_update_group_capacity",
        title="Auto Scaling: Update group capacity",
        description=(
            "Set the minimum, maximum and desired capacity of the Auto Scaling groups given by name, "
            "or of every group carrying a tag, and wait until they run the desired number of instances."
        ),
        operator_class=AutoScalingUpdateGroupCapacityOperator,
    ),
)
