"""The Auto Scaling helpers' checks, which need no AWS: a capacity change against a group's own."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException

from http_trigger.actions.aws import autoscaling

GROUP = {"AutoScalingGroupName": "web", "MinSize": 1, "DesiredCapacity": 2, "MaxSize": 4}


class TestCapacityChange:
    def test_keeps_only_the_capacities_given(self):
        change = autoscaling.capacity_change(GROUP, {"MinSize": None, "MaxSize": 6, "DesiredCapacity": 5})
        assert change == {"MaxSize": 6, "DesiredCapacity": 5}

    def test_refuses_a_change_out_of_order_with_the_group_as_it_is(self):
        message = (
            r"Auto Scaling group web \(min 1, desired 2, max 4\) cannot take this change: "
            r"desired_capacity \(5\) must not be greater than max_size \(4\)"
        )
        with pytest.raises(AirflowException, match=message):
            autoscaling.capacity_change(GROUP, {"MinSize": None, "MaxSize": None, "DesiredCapacity": 5})
