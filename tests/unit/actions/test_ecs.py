"""The ECS actions against moto's ECS; assertions read the tasks and services in moto.

moto moves a task one step towards STOPPED each time it is described, so the tasks_stopped wait
really polls; its containers always exit 0, so the non-zero exit test makes moto's containers
exit 3.
"""

from __future__ import annotations

import json

import boto3
import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from moto.ec2 import utils as ec2_utils
from moto.ec2.models.amis import AMIS
from moto.ecs import models as moto_ecs
from pydantic import ValidationError

from http_trigger.actions.aws.ecs import STARTED_BY
from http_trigger.actions.ecs import (
    EcsRunTaskParameters,
    EcsRunTasksOperator,
    EcsServiceDesiredCountParameters,
    EcsUpdateServiceDesiredCountOperator,
)
from http_trigger.run_contract import ERROR_XCOM_KEY

from .support import REGION, RecordingTaskInstance, moto_account, run

CLUSTER = "batch"
SUBNET = "subnet-0123456789abcdef0"


class Account:
    """The moto account of a test: an ECS cluster with a Fargate and an EC2 task definition."""

    def __init__(self) -> None:
        self.ecs = boto3.client("ecs", region_name=REGION)
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self.ecs.create_cluster(clusterName=CLUSTER)
        self.ecs.register_task_definition(
            family="report",
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[{"name": "report", "image": "busybox", "essential": True, "memory": 512}],
        )
        self.ecs.register_task_definition(
            family="report-on-ec2",
            containerDefinitions=[{"name": "report", "image": "busybox", "essential": True, "memory": 256}],
        )
        self.subnet = self.ec2.describe_subnets()["Subnets"][0]["SubnetId"]
        self.security_group = self.ec2.create_security_group(GroupName="tasks", Description="tasks")["GroupId"]

    def tasks(self) -> list[dict]:
        arns = self.ecs.list_tasks(cluster=CLUSTER)["taskArns"]
        return self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []

    def fargate(self, **overrides) -> dict:
        # moto needs security groups with awsvpc, where ECS would take the VPC's default group.
        return {
            "cluster": CLUSTER,
            "task_definition": "report",
            "subnets": [self.subnet],
            "security_groups": [self.security_group],
            **overrides,
        }

    def register_container_instance(self) -> None:
        instance = boto3.resource("ec2", region_name=REGION).create_instances(
            ImageId=AMIS[0]["ami_id"], MinCount=1, MaxCount=1
        )[0]
        document = json.dumps(ec2_utils.generate_instance_identity_document(instance))
        self.ecs.register_container_instance(cluster=CLUSTER, instanceIdentityDocument=document)


@pytest.fixture
def account():
    with moto_account():
        yield Account()


@pytest.fixture
def crashing_containers(monkeypatch):
    """Make every container moto starts from now on exit with code 3."""
    original = moto_ecs.Container.__init__

    def crashing(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.exitCode = 3

    monkeypatch.setattr(moto_ecs.Container, "__init__", crashing)


class TestEcsRunTaskParameters:
    def test_defaults(self):
        parameters = EcsRunTaskParameters.model_validate(
            {"cluster": CLUSTER, "task_definition": "report:3", "subnets": [SUBNET]}
        )
        assert (parameters.count, parameters.launch_type, parameters.assign_public_ip) == (1, "FARGATE", False)
        assert parameters.wait_until_final_state is True
        assert parameters.fail_on_nonzero_exit is True

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"cluster": CLUSTER, "task_definition": "report"}, "subnets are required with launch_type FARGATE"),
            (
                {
                    "cluster": CLUSTER,
                    "task_definition": "report",
                    "launch_type": "EC2",
                    "security_groups": ["sg-0123456789abcdef0"],
                },
                "security_groups need subnets",
            ),
            (
                {"cluster": CLUSTER, "task_definition": "report", "launch_type": "EC2", "assign_public_ip": True},
                "assign_public_ip is only possible with launch_type FARGATE",
            ),
            (
                {"cluster": CLUSTER, "task_definition": "report", "subnets": ["subnet-XYZ"]},
                r"subnets\.0\n  String should match pattern",
            ),
            (
                {"cluster": CLUSTER, "task_definition": "report", "subnets": [SUBNET], "count": 11},
                r"count\n  Input should be less than or equal to 10",
            ),
            (
                {"cluster": CLUSTER, "task_definition": "report", "subnets": [SUBNET], "launch_type": "EXTERNAL"},
                r"launch_type\n  Input should be 'FARGATE' or 'EC2'",
            ),
            ({"task_definition": "report", "subnets": [SUBNET]}, r"cluster\n  Field required"),
        ],
    )
    def test_refuses(self, data, message):
        with pytest.raises(ValidationError, match=message):
            EcsRunTaskParameters.model_validate(data)


class TestEcsRunTasksOperator:
    def test_runs_fargate_tasks_and_waits_until_they_stop(self, account):
        parameters = account.fargate(count=2, assign_public_ip=True)

        result = run(EcsRunTasksOperator, parameters)

        tasks = account.tasks()
        assert len(tasks) == 2
        assert {task["lastStatus"] for task in tasks} == {"STOPPED"}
        assert {task["launchType"] for task in tasks} == {"FARGATE"}
        assert {task["startedBy"] for task in tasks} == {STARTED_BY}
        assert {task["taskDefinitionArn"].rsplit("/", 1)[-1] for task in tasks} == {"report:1"}
        details = [detail for task in tasks for attachment in task["attachments"] for detail in attachment["details"]]
        subnets = {detail["value"] for detail in details if detail["name"] == "subnetId"}
        assert subnets == {account.subnet}
        assert sorted(result["task_arns"]) == sorted(task["taskArn"] for task in tasks)
        assert result["exit_codes"] == {arn.rsplit("/", 1)[-1]: {"report": 0} for arn in result["task_arns"]}
        assert result["waited"] is True

    def test_runs_ec2_tasks(self, account):
        account.register_container_instance()

        parameters = {"cluster": CLUSTER, "task_definition": "report-on-ec2", "launch_type": "EC2"}
        result = run(EcsRunTasksOperator, parameters)

        [task] = account.tasks()
        assert (task["launchType"], task["lastStatus"]) == ("EC2", "STOPPED")
        assert result["task_arns"] == [task["taskArn"]]

    def test_does_not_wait_when_told_not_to(self, account):
        result = run(EcsRunTasksOperator, account.fargate(count=3, wait_until_final_state=False))

        assert len(result["task_arns"]) == 3
        assert result["waited"] is False
        assert "exit_codes" not in result
        assert len(account.tasks()) == 3

    def test_a_non_zero_exit_fails_naming_the_task_and_container(self, account, crashing_containers):
        with pytest.raises(
            AirflowException,
            match=r"ECS tasks of task definition report on ECS cluster batch failed: "
            r"task [\w-]+ container report exited with code 3",
        ):
            run(EcsRunTasksOperator, account.fargate())
        assert [task["lastStatus"] for task in account.tasks()] == ["STOPPED"]

    def test_a_non_zero_exit_is_accepted_when_told_so(self, account, crashing_containers):
        result = run(EcsRunTasksOperator, account.fargate(fail_on_nonzero_exit=False))

        assert list(result["exit_codes"].values()) == [{"report": 3}]

    def test_an_unknown_cluster_fails_naming_it(self, account):
        with pytest.raises(
            AirflowException,
            match=r"Running task definition report on ECS cluster nightly failed: .*ClusterNotFoundException",
        ):
            run(EcsRunTasksOperator, account.fargate(cluster="nightly"))

    def test_an_unknown_task_definition_fails_naming_it(self, account):
        ti = RecordingTaskInstance()
        with pytest.raises(AirflowException, match="Running task definition export on ECS cluster batch failed"):
            run(EcsRunTasksOperator, account.fargate(task_definition="export"), ti=ti)
        assert ti.pushed[ERROR_XCOM_KEY].startswith("AirflowException: Running task definition export")
        assert account.tasks() == []

    def test_reads_parameters_from_the_dag_run_conf(self, account):
        run(EcsRunTasksOperator, None, conf=account.fargate(count=2))

        assert len(account.tasks()) == 2

    def test_invalid_conf_fails_without_retry_naming_the_field(self, account):
        message = r"Invalid parameters for task action: \(spec\): subnets are required with launch_type FARGATE"
        with pytest.raises(AirflowFailException, match=message):
            run(EcsRunTasksOperator, None, conf={"cluster": CLUSTER, "task_definition": "report"})
        assert account.tasks() == []


class TestEcsUpdateServiceDesiredCountOperator:
    @pytest.fixture
    def service(self, account):
        account.ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition="report-on-ec2", desiredCount=1)
        return account

    def desired_and_running(self, account) -> tuple[int, int]:
        [service] = account.ecs.describe_services(cluster=CLUSTER, services=["web"])["services"]
        return service["desiredCount"], service["runningCount"]

    def test_scales_the_service_and_waits_until_stable(self, service):
        result = run(EcsUpdateServiceDesiredCountOperator, {"cluster": CLUSTER, "service": "web", "desired_count": 3})

        assert self.desired_and_running(service) == (3, 3)
        assert result == {
            "cluster": CLUSTER,
            "service": "web",
            "desired_count": 3,
            "running_count": 3,
            "waited": True,
        }

    def test_scales_to_zero(self, service):
        run(EcsUpdateServiceDesiredCountOperator, {"cluster": CLUSTER, "service": "web", "desired_count": 0})

        assert self.desired_and_running(service) == (0, 0)

    def test_does_not_wait_when_told_not_to(self, service):
        result = run(
            EcsUpdateServiceDesiredCountOperator,
            {"cluster": CLUSTER, "service": "web", "desired_count": 2, "wait_until_final_state": False},
        )

        assert self.desired_and_running(service)[0] == 2
        assert result["waited"] is False

    def test_an_unknown_service_fails_naming_it(self, service):
        with pytest.raises(
            AirflowException,
            match=r"Setting the desired count of ECS service api on cluster batch to 2 failed: .*ServiceNotFound",
        ):
            run(EcsUpdateServiceDesiredCountOperator, {"cluster": CLUSTER, "service": "api", "desired_count": 2})
        assert self.desired_and_running(service) == (1, 0)

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"cluster": CLUSTER, "service": "web", "desired_count": -1}, "desired_count\n  Input should be greater"),
            ({"cluster": CLUSTER, "service": "web"}, "desired_count\n  Field required"),
            ({"cluster": CLUSTER, "service": "", "desired_count": 1}, "service\n  String should have at least 1"),
        ],
    )
    def test_parameters_refuse(self, data, message):
        with pytest.raises(ValidationError, match=message):
            EcsServiceDesiredCountParameters.model_validate(data)
