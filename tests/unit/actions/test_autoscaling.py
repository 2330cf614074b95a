"""The Auto Scaling action against moto; assertions read the groups' capacities and instances in moto."""

from __future__ import annotations

import boto3
import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from moto.ec2.models.amis import AMIS
from pydantic import ValidationError

from http_trigger.actions.autoscaling import AutoScalingCapacityParameters, AutoScalingUpdateGroupCapacityOperator

from .support import REGION, moto_account, run

TEST_TAG = {"tag_key": "Env", "tag_value": "test"}


class Account:
    """The moto account of a test: Auto Scaling groups tagged by environment."""

    def __init__(self) -> None:
        self.autoscaling = boto3.client("autoscaling", region_name=REGION)
        self.autoscaling.create_launch_configuration(
            LaunchConfigurationName="web", ImageId=AMIS[0]["ami_id"], InstanceType="t3.micro"
        )

    def group(self, name: str, *, env: str, min_size: int = 0, desired: int = 1, max_size: int = 4) -> str:
        self.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchConfigurationName="web",
            MinSize=min_size,
            MaxSize=max_size,
            DesiredCapacity=desired,
            AvailabilityZones=[f"{REGION}a"],
            Tags=[{"Key": "Env", "Value": env, "PropagateAtLaunch": True}],
        )
        return name

    def capacity(self, name: str) -> tuple[int, int, int, int]:
        """Return (min, desired, max, instances InService) of a group."""
        [group] = self.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
        in_service = sum(1 for i in group["Instances"] if i["LifecycleState"] == "InService")
        return group["MinSize"], group["DesiredCapacity"], group["MaxSize"], in_service


@pytest.fixture
def account():
    with moto_account():
        yield Account()


class TestAutoScalingCapacityParameters:
    def test_accepts_any_one_capacity(self):
        parameters = AutoScalingCapacityParameters.model_validate({"group_names": ["web"], "desired_capacity": 0})
        assert (parameters.min_size, parameters.desired_capacity, parameters.max_size) == (None, 0, None)
        assert parameters.wait_until_final_state is True

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"group_names": ["web"]}, "give at least one of min_size, max_size and desired_capacity"),
            (
                {"group_names": ["web"], "min_size": 3, "max_size": 2},
                r"min_size \(3\) must not be greater than max_size \(2\)",
            ),
            (
                {"group_names": ["web"], "min_size": 2, "desired_capacity": 1},
                r"desired_capacity \(1\) must not be less than min_size \(2\)",
            ),
            (
                {"group_names": ["web"], "desired_capacity": 5, "max_size": 4},
                r"desired_capacity \(5\) must not be greater than max_size \(4\)",
            ),
            ({"desired_capacity": 1}, "give group_names, or tag_key and tag_value, to choose the groups"),
            (
                {"group_names": ["web"], "tag_key": "Env", "tag_value": "test", "desired_capacity": 1},
                "give either group_names or tag_key and tag_value, not both",
            ),
            ({"tag_key": "Env", "desired_capacity": 1}, "tag_value is required with tag_key"),
            ({"group_names": ["web"], "desired_capacity": -1}, r"desired_capacity\n  Input should be greater than"),
        ],
    )
    def test_refuses(self, data, message):
        with pytest.raises(ValidationError, match=message):
            AutoScalingCapacityParameters.model_validate(data)


class TestAutoScalingUpdateGroupCapacityOperator:
    def test_sets_all_three_capacities_and_waits_for_the_instances(self, account):
        account.group("web", env="test")

        result = run(
            AutoScalingUpdateGroupCapacityOperator,
            {"group_names": ["web"], "min_size": 2, "desired_capacity": 3, "max_size": 5},
        )

        assert account.capacity("web") == (2, 3, 5, 3)
        assert result == {
            "groups": {"web": {"min_size": 2, "max_size": 5, "desired_capacity": 3, "in_service": 3}},
            "waited": True,
        }

    def test_changes_only_the_tagged_groups(self, account):
        account.group("web-test", env="test")
        account.group("worker-test", env="test")
        account.group("web-prod", env="prod")

        result = run(AutoScalingUpdateGroupCapacityOperator, {**TEST_TAG, "desired_capacity": 0})

        assert account.capacity("web-test") == (0, 0, 4, 0)
        assert account.capacity("worker-test") == (0, 0, 4, 0)
        assert account.capacity("web-prod") == (0, 1, 4, 1)
        assert sorted(result["groups"]) == ["web-test", "worker-test"]

    def test_a_desired_capacity_outside_the_groups_limits_fails_naming_the_group(self, account):
        account.group("web", env="test", max_size=2)

        with pytest.raises(
            AirflowException,
            match=r"Auto Scaling group web \(min 0, desired 1, max 2\) cannot take this change: "
            r"desired_capacity \(3\) must not be greater than max_size \(2\)",
        ):
            run(AutoScalingUpdateGroupCapacityOperator, {"group_names": ["web"], "desired_capacity": 3})
        assert account.capacity("web") == (0, 1, 2, 1)

    def test_a_bad_change_for_one_group_changes_none(self, account):
        account.group("small", env="test", max_size=2)
        account.group("large", env="test", max_size=10)

        with pytest.raises(AirflowException, match="Auto Scaling group small"):
            run(AutoScalingUpdateGroupCapacityOperator, {**TEST_TAG, "desired_capacity": 5})
        assert account.capacity("large") == (0, 1, 10, 1)

    def test_an_unknown_group_fails_naming_it(self, account):
        account.group("web", env="test")

        with pytest.raises(AirflowException, match="No Auto Scaling group named api"):
            run(AutoScalingUpdateGroupCapacityOperator, {"group_names": ["web", "api"], "desired_capacity": 2})
        assert account.capacity("web") == (0, 1, 4, 1)

    def test_fails_naming_the_tag_when_no_group_has_it(self, account):
        account.group("web", env="test")

        with pytest.raises(AirflowException, match="No Auto Scaling group is tagged Env=staging"):
            run(AutoScalingUpdateGroupCapacityOperator, {**TEST_TAG, "tag_value": "staging", "desired_capacity": 2})

    def test_does_not_wait_when_told_not_to(self, account):
        account.group("web", env="test")

        result = run(
            AutoScalingUpdateGroupCapacityOperator,
            {"group_names": ["web"], "max_size": 6, "wait_until_final_state": False},
        )

        assert account.capacity("web")[:3] == (0, 1, 6)
        assert result["waited"] is False

    def test_invalid_conf_fails_without_retry_naming_the_field(self, account):
        with pytest.raises(AirflowFailException, match=r"max_size: Input should be a valid integer"):
            run(AutoScalingUpdateGroupCapacityOperator, None, conf={"group_names": ["web"], "max_size": "many"})

    def test_the_hook_is_an_autoscaling_client(self):
        operator = AutoScalingUpdateGroupCapacityOperator(
            task_id="action", aws_conn_id=None, region_name=REGION, parameters=None
        )
        assert operator.hook.client_type == "autoscaling"
