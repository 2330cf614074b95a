"""How the ECS helpers build a task's network configuration, which needs no AWS."""

from __future__ import annotations

from http_trigger.actions.aws.ecs import network_configuration, task_id

SUBNET = "subnet-0123456789abcdef0"
GROUP = "sg-0123456789abcdef0"


def test_fargate_tasks_say_whether_they_get_a_public_ip():
    network = network_configuration(subnets=[SUBNET], security_groups=[GROUP], assign_public_ip=True)
    assert network == {
        "awsvpcConfiguration": {"subnets": [SUBNET], "securityGroups": [GROUP], "assignPublicIp": "ENABLED"}
    }


def test_ec2_tasks_leave_the_public_ip_and_empty_groups_out():
    network = network_configuration(subnets=[SUBNET], security_groups=[], assign_public_ip=None)
    assert network == {"awsvpcConfiguration": {"subnets": [SUBNET]}}


def test_task_id_is_the_last_part_of_the_arn():
    assert task_id("arn:aws:ecs:us-east-1:123456789012:task/batch/0123abcd") == "0123abcd"
