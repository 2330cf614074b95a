"""Auto Scaling actions: set the minimum, maximum and desired capacity of groups chosen by name or tag.

The Amazon provider has no Auto Scaling hook, operator or waiter, so this operator uses the
provider's generic ``AwsBaseHook`` with the ``autoscaling`` boto3 client (connection, region and
retries still come from the provider) through :mod:`http_trigger.actions.aws.autoscaling`, which
also holds the waiter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from pydantic import ConfigDict, Field, model_validator

from http_trigger.actions.aws import autoscaling
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


_NO_CAPACITY = Rule("autoscaling.no_capacity", "give at least one of min_size, max_size and desired_capacity")


class AutoScalingCapacityParameters(TargetedParameters):
    """Choose the groups by name or one tag, their new capacities, and whether to wait for them."""

    ids_field: ClassVar[str] = "group_names"
    resources: ClassVar[Rule] = Rule("autoscaling.groups", "groups")

    model_config = ConfigDict(
        title="Auto Scaling group capacity",
        json_schema_extra={
            "examples": [{
                "group_names": ["web-asg"],
                "min_size": 2,
                "max_size": 6,
                "desired_capacity": 2,
            }],
        },
    )

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
            raise _NO_CAPACITY.error()
        autoscaling.check_order(self.min_size, self.desired_capacity, self.max_size)
        return self


class AutoScalingUpdateGroupCapacityOperator(AwsActionOperator[AwsBaseHook]):
    """Set the capacity of Auto Scaling groups chosen by name or tag, and wait until they reach it."""

    aws_hook_class = AwsBaseHook
    ui_color = "#ff9900"
    parameters_model: ClassVar[type[AutoScalingCapacityParameters]] = AutoScalingCapacityParameters

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {**super()._hook_parameters, "client_type": "autoscaling"}

    def run_action(self, context: Context, parameters: AutoScalingCapacityParameters) -> dict[str, Any]:
        groups = parameters.choose(
            by_ids=lambda names: autoscaling.groups_named(self.hook, names),
            by_tag=lambda tag: autoscaling.groups_tagged(self.hook, tag),
        )
        capacities = {
            "MinSize": parameters.min_size,
            "MaxSize": parameters.max_size,
            "DesiredCapacity": parameters.desired_capacity,
        }
        names = autoscaling.update_capacities(self.hook, groups, capacities)
        if not parameters.wait_until_final_state:
            return self.summarize(context, parameters, names=names)
        waits = [autoscaling.capacity_wait(name) for name in names]
        return self.wait_each_then(context, parameters, waits, then="summarize", names=names)

    def summarize(
        self, context: Context, parameters: AutoScalingCapacityParameters, *, names: list[str]
    ) -> dict[str, Any]:
        """Return each group's capacities and instances InService now."""
        return {
            "groups": autoscaling.capacities(self.hook, names),
            "waited": parameters.wait_until_final_state,
        }


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="autoscaling_update_group_capacity",
        title="Auto Scaling: Update group capacity",
        description=(
            "Set the minimum, maximum and desired capacity of the Auto Scaling groups given by name, "
            "or of every group carrying a tag, and wait until they run the desired number of instances."
        ),
        operator_class=AutoScalingUpdateGroupCapacityOperator,
        iam_actions=("autoscaling:DescribeAutoScalingGroups", "autoscaling:UpdateAutoScalingGroup"),
    ),
)
