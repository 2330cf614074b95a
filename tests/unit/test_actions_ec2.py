"""The EC2 actions run against moto's in-process EC2; assertions read the instances' state in moto."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))

from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from moto import mock_aws
from moto.ec2.models.amis import AMIS
from pydantic import ValidationError

from http_trigger.actions.ec2 import (
    EC2StartInstancesOperator,
    EC2StopInstancesOperator,
    Ec2InstancesParameters,
)
from http_trigger.post_processing.payload import ERROR_XCOM_KEY

REGION = "us-east-1"
UNKNOWN_ID = "i-0123456789abcdef0"


class RecordingTaskInstance:
    """Stands in for the task instance: keeps what the operator pushes to XCom."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def run(operator_class, parameters: dict[str, Any] | None, *, conf: dict | None = None, ti=None) -> dict:
    operator = operator_class(
        task_id="action",
        aws_conn_id=None,
        region_name=REGION,
        parameters=parameters,
        waiter_delay=0,
    )
    context: dict[str, Any] = {"dag_run": SimpleNamespace(conf=conf)}
    if ti is not None:
        context["ti"] = ti
    return operator.execute(context)


@pytest.fixture
def ec2():
    """Yield an EC2 client on moto, with fake credentials so nothing can reach AWS."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            patch.setenv(name, value)
        with mock_aws():
            yield boto3.client("ec2", region_name=REGION)


def create_instances(ec2, count: int, *, env: str) -> list[str]:
    reservation = ec2.run_instances(
        ImageId=AMIS[0]["ami_id"],
        MinCount=count,
        MaxCount=count,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Env", "Value": env}]}],
    )
    return [instance["InstanceId"] for instance in reservation["Instances"]]


def states(ec2, instance_ids: list[str]) -> dict[str, str]:
    reservations = ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
    return {
        instance["InstanceId"]: instance["State"]["Name"]
        for reservation in reservations
        for instance in reservation["Instances"]
    }


@pytest.fixture
def stopped_test_instances(ec2) -> list[str]:
    instance_ids = create_instances(ec2, 2, env="test")
    ec2.stop_instances(InstanceIds=instance_ids)
    assert set(states(ec2, instance_ids).values()) == {"stopped"}
    return instance_ids


class TestEc2InstancesParameters:
    def test_accepts_instance_ids(self):
        parameters = Ec2InstancesParameters.model_validate({"instance_ids": [UNKNOWN_ID]})
        assert parameters.instance_ids == [UNKNOWN_ID]
        assert parameters.wait_until_final_state is True

    def test_accepts_a_tag(self):
        parameters = Ec2InstancesParameters.model_validate({"tag_key": "Env", "tag_value": "test"})
        assert (parameters.tag_key, parameters.tag_value) == ("Env", "test")

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (
                {"instance_ids": [UNKNOWN_ID], "tag_key": "Env", "tag_value": "test"},
                "give either instance_ids or tag_key and tag_value, not both",
            ),
            ({}, "give instance_ids, or tag_key and tag_value, to choose the instances"),
            ({"instance_ids": []}, "give instance_ids, or tag_key and tag_value"),
            ({"tag_key": "Env"}, "tag_value is required with tag_key"),
            ({"tag_value": "test"}, "tag_key is required with tag_value"),
            ({"instance_ids": ["i-XYZ"]}, r"instance_ids\.0\n  String should match pattern"),
            (
                {"instance_ids": [UNKNOWN_ID], "region": "eu-west-1"},
                r"region\n  Extra inputs are not permitted",
            ),
        ],
    )
    def test_refuses(self, data, message):
        with pytest.raises(ValidationError, match=message):
            Ec2InstancesParameters.model_validate(data)


class TestEC2StartInstancesOperator:
    def test_starts_instances_by_id(self, ec2, stopped_test_instances):
        result = run(EC2StartInstancesOperator, {"instance_ids": stopped_test_instances})

        assert states(ec2, stopped_test_instances) == dict.fromkeys(stopped_test_instances, "running")
        assert result == {
            "instance_ids": stopped_test_instances,
            "states": dict.fromkeys(stopped_test_instances, "running"),
            "waited": True,
        }

    def test_starts_only_the_tagged_instances(self, ec2, stopped_test_instances):
        prod_ids = create_instances(ec2, 1, env="prod")
        ec2.stop_instances(InstanceIds=prod_ids)

        result = run(EC2StartInstancesOperator, {"tag_key": "Env", "tag_value": "test"})

        assert states(ec2, stopped_test_instances) == dict.fromkeys(stopped_test_instances, "running")
        assert states(ec2, prod_ids) == dict.fromkeys(prod_ids, "stopped")
        assert sorted(result["instance_ids"]) == sorted(stopped_test_instances)

    def test_leaves_terminated_tagged_instances_out(self, ec2, stopped_test_instances):
        terminated, kept = stopped_test_instances
        ec2.terminate_instances(InstanceIds=[terminated])

        result = run(EC2StartInstancesOperator, {"tag_key": "Env", "tag_value": "test"})

        assert states(ec2, stopped_test_instances) == {terminated: "terminated", kept: "running"}
        assert result["instance_ids"] == [kept]

    def test_fails_naming_the_tag_when_no_instance_has_it(self, ec2, stopped_test_instances):
        message = r"No EC2 instance \(not terminated\) is tagged Env=staging"
        with pytest.raises(AirflowException, match=message):
            run(EC2StartInstancesOperator, {"tag_key": "Env", "tag_value": "staging"})
        assert set(states(ec2, stopped_test_instances).values()) == {"stopped"}

    def test_fails_naming_an_unknown_instance_id(self, ec2):
        with pytest.raises(AirflowException, match=f"InvalidInstanceID.NotFound.*{UNKNOWN_ID}"):
            run(EC2StartInstancesOperator, {"instance_ids": [UNKNOWN_ID]})

    def test_reports_its_error_for_the_failure_payload(self, ec2):
        ti = RecordingTaskInstance()
        with pytest.raises(AirflowException):
            run(EC2StartInstancesOperator, {"instance_ids": [UNKNOWN_ID]}, ti=ti)
        assert ti.pushed[ERROR_XCOM_KEY].startswith(f"AirflowException: Starting EC2 instances {UNKNOWN_ID}")

    def test_reads_parameters_from_the_dag_run_conf(self, ec2, stopped_test_instances):
        run(EC2StartInstancesOperator, None, conf={"instance_ids": stopped_test_instances[:1]})

        assert states(ec2, stopped_test_instances) == {
            stopped_test_instances[0]: "running",
            stopped_test_instances[1]: "stopped",
        }

    def test_does_not_wait_when_told_not_to(self, ec2, stopped_test_instances):
        result = run(
            EC2StartInstancesOperator,
            {"instance_ids": stopped_test_instances, "wait_until_final_state": False},
        )

        assert result["waited"] is False
        assert set(result["states"]) == set(stopped_test_instances)
        assert states(ec2, stopped_test_instances) == dict.fromkeys(stopped_test_instances, "running")

    @pytest.mark.parametrize(
        ("parameters", "message"),
        [
            ({"instance_ids": ["i-XYZ"]}, r"instance_ids\.0: String should match pattern .* \(got 'i-XYZ'\)"),
            ({"instance_ids": [UNKNOWN_ID], "tag_key": "Env", "tag_value": "test"}, "not both"),
            ({}, "give instance_ids, or tag_key and tag_value"),
        ],
    )
    def test_invalid_parameters_fail_without_retry(self, ec2, stopped_test_instances, parameters, message):
        with pytest.raises(AirflowFailException, match=f"Invalid parameters for task action: .*{message}"):
            run(EC2StartInstancesOperator, parameters)
        assert set(states(ec2, stopped_test_instances).values()) == {"stopped"}

    def test_invalid_conf_fails_naming_the_field(self, ec2):
        message = "wait_until_final_state: Input should be a valid boolean"
        with pytest.raises(AirflowFailException, match=message):
            run(
                EC2StartInstancesOperator,
                None,
                conf={"instance_ids": [UNKNOWN_ID], "wait_until_final_state": "later"},
            )

    def test_parameters_are_templated_and_the_hook_is_a_client(self):
        operator = EC2StartInstancesOperator(
            task_id="action", aws_conn_id=None, region_name=REGION, parameters=None
        )
        assert "parameters" in operator.template_fields
        assert operator.hook._api_type == "client_type"


class TestEC2StopInstancesOperator:
    def test_stops_instances_by_id(self, ec2):
        instance_ids = create_instances(ec2, 2, env="test")

        result = run(EC2StopInstancesOperator, {"instance_ids": instance_ids})

        assert states(ec2, instance_ids) == dict.fromkeys(instance_ids, "stopped")
        assert result["states"] == dict.fromkeys(instance_ids, "stopped")

    def test_stops_only_the_tagged_instances(self, ec2):
        test_ids = create_instances(ec2, 2, env="test")
        prod_ids = create_instances(ec2, 1, env="prod")

        run(EC2StopInstancesOperator, {"tag_key": "Env", "tag_value": "test"})

        assert states(ec2, test_ids) == dict.fromkeys(test_ids, "stopped")
        assert states(ec2, prod_ids) == dict.fromkeys(prod_ids, "running")

    def test_fails_naming_an_unknown_instance_id(self, ec2):
        with pytest.raises(AirflowException, match=f"Stopping EC2 instances {UNKNOWN_ID} failed"):
            run(EC2StopInstancesOperator, {"instance_ids": [UNKNOWN_ID]})
