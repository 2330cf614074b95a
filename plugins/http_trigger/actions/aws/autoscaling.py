"""Auto Scaling groups over the provider's generic ``AwsBaseHook`` (``autoscaling`` client).

The Amazon provider has no Auto Scaling hook, operator or waiter, so the groups are read and
changed with the boto3 client the generic hook builds (connection, region and retries still come
from the provider), and waited on with a boto waiter built from the small model below through the
provider's ``BaseBotoWaiter``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError

from http_trigger.actions.targets import Tag, listed
from http_trigger.actions.waiting import Wait
from http_trigger.field_messages import Rule

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

log = logging.getLogger(__name__)

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


MIN_ABOVE_MAX = Rule(
    "autoscaling.min_above_max", "min_size ({min_size}) must not be greater than max_size ({max_size})"
)
DESIRED_BELOW_MIN = Rule(
    "autoscaling.desired_below_min",
    "desired_capacity ({desired}) must not be less than min_size ({min_size})",
)
DESIRED_ABOVE_MAX = Rule(
    "autoscaling.desired_above_max",
    "desired_capacity ({desired}) must not be greater than max_size ({max_size})",
)


def check_order(min_size: int | None, desired: int | None, max_size: int | None) -> None:
    """Refuse capacities out of order, among those given: min_size <= desired_capacity <= max_size."""
    if min_size is not None and max_size is not None and min_size > max_size:
        raise MIN_ABOVE_MAX.error(min_size=min_size, max_size=max_size)
    if min_size is not None and desired is not None and desired < min_size:
        raise DESIRED_BELOW_MIN.error(desired=desired, min_size=min_size)
    if max_size is not None and desired is not None and desired > max_size:
        raise DESIRED_ABOVE_MAX.error(desired=desired, max_size=max_size)


def _describe(hook: AwsBaseHook, **args: Any) -> list[dict[str, Any]]:
    paginator = hook.conn.get_paginator("describe_auto_scaling_groups")
    return [group for page in paginator.paginate(**args) for group in page["AutoScalingGroups"]]


def groups_named(hook: AwsBaseHook, names: list[str]) -> list[dict[str, Any]]:
    """Return the groups' descriptions; a name no group has fails naming it."""
    groups = _describe(hook, AutoScalingGroupNames=names)
    missing = sorted(set(names) - {group["AutoScalingGroupName"] for group in groups})
    if missing:
        raise AirflowException(f"No Auto Scaling group named {listed(missing)}")
    return groups


def groups_tagged(hook: AwsBaseHook, tag: Tag) -> list[dict[str, Any]]:
    """Return the groups carrying the tag, or fail naming the tag."""
    groups = _describe(hook, Filters=[tag.ec2_filter()])
    if not groups:
        raise AirflowException(f"No Auto Scaling group is tagged {tag}")
    log.info(
        "Auto Scaling groups tagged %s: %s", tag, listed(group["AutoScalingGroupName"] for group in groups)
    )
    return groups


def capacity_change(group: dict[str, Any], capacities: dict[str, int | None]) -> dict[str, int]:
    """Return the update of one group, ``capacities`` (``MinSize``… or None to keep) over its own.

    A change that would leave the group out of order fails naming the group and what it has now.
    """
    after = {key: group[key] if value is None else value for key, value in capacities.items()}
    try:
        check_order(after["MinSize"], after["DesiredCapacity"], after["MaxSize"])
    except ValueError as error:
        now = f"min {group['MinSize']}, desired {group['DesiredCapacity']}, max {group['MaxSize']}"
        raise AirflowException(
            f"Auto Scaling group {group['AutoScalingGroupName']} ({now}) cannot take this change: {error}"
        ) from None
    return {key: value for key, value in capacities.items() if value is not None}


def update_capacities(
    hook: AwsBaseHook, groups: list[dict[str, Any]], capacities: dict[str, int | None]
) -> list[str]:
    """Set the capacities of every group, checking them all before changing any; return the names.

    So a value that does not fit one group leaves all of them as they were.
    """
    changes = {group["AutoScalingGroupName"]: capacity_change(group, capacities) for group in groups}
    for name, change in changes.items():
        log.info("Setting Auto Scaling group %s to %s", name, change)
        try:
            hook.conn.update_auto_scaling_group(AutoScalingGroupName=name, **change)
        except ClientError as error:
            raise AirflowException(f"Updating Auto Scaling group {name} failed: {error}") from error
    return list(changes)


def capacity_wait(name: str) -> Wait:
    """Describe a wait until the group runs its desired number of instances InService, none in flight."""
    return Wait(
        waiter_name=_GROUP_AT_CAPACITY,
        args={"AutoScalingGroupNames": [name]},
        resources=f"Auto Scaling group {name}",
        final_state="at its desired capacity",
        status_args=[
            "AutoScalingGroups[0].DesiredCapacity",
            "AutoScalingGroups[0].Instances[].[InstanceId, LifecycleState]",
        ],
        model=_WAITER_MODEL,
    )


def capacities(hook: AwsBaseHook, names: list[str]) -> dict[str, dict[str, int]]:
    """Return each group's minimum, maximum and desired capacity and its instances InService."""
    return {
        group["AutoScalingGroupName"]: {
            "min_size": group["MinSize"],
            "max_size": group["MaxSize"],
            "desired_capacity": group["DesiredCapacity"],
            "in_service": sum(
                1 for instance in group.get("Instances", []) if instance["LifecycleState"] == "InService"
            ),
        }
        for group in _describe(hook, AutoScalingGroupNames=names)
    }
