"""The EC2 actions run against moto's in-process EC2; assertions read the instances' state in moto."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from moto.ec2.exceptions import InvalidInstanceTypeError
from moto.ec2.models.amis import AmiBackend
from moto.ec2.models.instances import InstanceBackend
from pydantic import ValidationError

from http_trigger.actions.backups import JOB_TAG, SOURCE_TAG
from http_trigger.actions.ec2 import (
    EC2ChangeInstanceTypeOperator,
    EC2CopyImageOperator,
    EC2CreateImageOperator,
    EC2RebootInstancesOperator,
    EC2StartInstancesOperator,
    EC2StopInstancesOperator,
    Ec2ChangeInstanceTypeParameters,
    Ec2CopyImageParameters,
    Ec2CreateImageParameters,
    Ec2InstancesParameters,
)
from http_trigger.run_contract import ERROR_XCOM_KEY

from .ec2_support import create_instances, states
from .support import REGION, RecordingTaskInstance, moto_account, run

UNKNOWN_ID = "i-0123456789abcdef0"


@pytest.fixture
def ec2():
    """Yield an EC2 client on moto, with fake credentials so nothing can reach AWS."""
    with moto_account():
        yield boto3.client("ec2", region_name=REGION)


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


# --- reboot, instance type, AMIs ---------------------------------------------------------------

OTHER_REGION = "eu-west-1"


def job_id() -> str:
    """The job tag value in these tests: an operator outside a DAG belongs to Airflow's ad-hoc DAG."""
    return EC2CreateImageOperator(task_id="action", aws_conn_id=None).dag_id


@pytest.fixture
def moto_clock(monkeypatch):
    """Move moto's EC2 clock a minute per reading, so AMIs and snapshots made in one test are ordered.

    moto stamps images and snapshots with whole seconds; several made in the same second would
    tie, and "keep the newest N" needs an order.
    """
    ticks = itertools.count()
    start = datetime(2026, 1, 1)

    def now() -> datetime:
        return start + timedelta(minutes=next(ticks))

    for module in ("moto.ec2.models.amis", "moto.ec2.models.elastic_block_store"):
        monkeypatch.setattr(f"{module}.utcnow", now)


def instance_types(ec2, instance_ids: list[str]) -> dict[str, str]:
    reservations = ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
    return {i["InstanceId"]: i["InstanceType"] for r in reservations for i in r["Instances"]}


def job_images(ec2, instance_id: str) -> list[dict[str, Any]]:
    filters = [
        {"Name": f"tag:{JOB_TAG}", "Values": [job_id()]},
        {"Name": f"tag:{SOURCE_TAG}", "Values": [instance_id]},
    ]
    return ec2.describe_images(Owners=["self"], Filters=filters)["Images"]


def snapshot_ids_of(image: dict[str, Any]) -> list[str]:
    return [m["Ebs"]["SnapshotId"] for m in image["BlockDeviceMappings"] if "Ebs" in m]


def existing_snapshots(ec2) -> set[str]:
    return {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}


class TestNewEc2ParameterModels:
    @pytest.mark.parametrize(
        ("model", "data", "message"),
        [
            (
                Ec2ChangeInstanceTypeParameters,
                {"instance_ids": [UNKNOWN_ID]},
                r"instance_type\n  Field required",
            ),
            (
                Ec2ChangeInstanceTypeParameters,
                {"instance_ids": [UNKNOWN_ID], "instance_type": "large"},
                r"instance_type\n  String should match pattern",
            ),
            (
                Ec2CreateImageParameters,
                {"instance_ids": [UNKNOWN_ID], "name_template": "{host}-{date}"},
                r"name_template\n  Value error, unknown placeholder \{host\} in '\{host\}-\{date\}'; "
                r"use \{instance_id\}, \{date\}, \{datetime\}",
            ),
            (
                Ec2CreateImageParameters,
                {"instance_ids": [UNKNOWN_ID], "name_template": "{date:%Y}"},
                r"name_template\n  Value error, unknown placeholder \{date\}",
            ),
            (
                Ec2CreateImageParameters,
                {"instance_ids": [UNKNOWN_ID], "name_template": "backup#{date}"},
                r"name_template\n  Value error, 'backup#\{date\}' may only hold letters, digits",
            ),
            (
                Ec2CreateImageParameters,
                {"instance_ids": [UNKNOWN_ID], "keep_newest": 0},
                r"keep_newest\n  Input should be greater than or equal to 1",
            ),
            (
                Ec2CreateImageParameters,
                {"instance_ids": [UNKNOWN_ID], "tags": {"http-trigger:job": "x"}},
                r"tags\n  Value error, tag key 'http-trigger:job' uses a reserved prefix",
            ),
            (
                Ec2CreateImageParameters,
                {"tag_key": "Env", "tag_value": "test", "no_reboot": "sometimes"},
                r"no_reboot\n  Input should be a valid boolean",
            ),
            (
                Ec2CopyImageParameters,
                {"image_ids": ["ami-12345678"]},
                r"destination_region\n  Field required",
            ),
            (
                Ec2CopyImageParameters,
                {"image_ids": ["ami-12345678"], "destination_region": "Europe"},
                r"destination_region\n  String should match pattern",
            ),
            (
                Ec2CopyImageParameters,
                {"destination_region": OTHER_REGION},
                "give image_ids, or tag_key and tag_value",
            ),
            (
                Ec2CopyImageParameters,
                {"image_ids": ["i-12345678"], "destination_region": OTHER_REGION},
                r"image_ids\.0\n  String should match pattern",
            ),
        ],
    )
    def test_refuses(self, model, data, message):
        with pytest.raises(ValidationError, match=message):
            model.model_validate(data)

    def test_create_image_defaults(self):
        parameters = Ec2CreateImageParameters.model_validate({"instance_ids": [UNKNOWN_ID]})
        assert parameters.name_template == "{instance_id}-{datetime}"
        assert parameters.no_reboot is True
        assert (parameters.keep_newest, parameters.wait_until_final_state) == (None, True)


class TestEC2RebootInstancesOperator:
    def test_reboots_running_instances_by_id_and_waits_for_the_status_check(self, ec2):
        instance_ids = create_instances(ec2, 2, env="test")

        result = run(EC2RebootInstancesOperator, {"instance_ids": instance_ids})

        assert result == {"instance_ids": instance_ids, "waited": True}
        assert states(ec2, instance_ids) == dict.fromkeys(instance_ids, "running")

    def test_a_tag_chooses_only_running_instances(self, ec2, stopped_test_instances):
        running = create_instances(ec2, 1, env="test")

        result = run(EC2RebootInstancesOperator, {"tag_key": "Env", "tag_value": "test"})

        assert result["instance_ids"] == running
        # moto's reboot would start a stopped instance: these were left out.
        assert set(states(ec2, stopped_test_instances).values()) == {"stopped"}

    def test_refuses_a_stopped_instance_naming_it_before_rebooting_any(self, ec2, stopped_test_instances):
        running = create_instances(ec2, 1, env="test")
        stopped = stopped_test_instances[0]

        message = f"Only running EC2 instances can be rebooted: {stopped} is stopped"
        with pytest.raises(AirflowException, match=message):
            run(EC2RebootInstancesOperator, {"instance_ids": [*running, stopped]})
        assert states(ec2, [stopped]) == {stopped: "stopped"}

    def test_fails_naming_the_tag_when_no_running_instance_has_it(self, ec2, stopped_test_instances):
        with pytest.raises(AirflowException, match=r"No EC2 instance \(running\) is tagged Env=test"):
            run(EC2RebootInstancesOperator, {"tag_key": "Env", "tag_value": "test"})


class TestEC2ChangeInstanceTypeOperator:
    def test_changes_the_type_and_starts_again_only_what_was_running(self, ec2):
        running, stopped = create_instances(ec2, 2, env="test")
        ec2.stop_instances(InstanceIds=[stopped])

        result = run(
            EC2ChangeInstanceTypeOperator, {"instance_ids": [running, stopped], "instance_type": "t3.large"}
        )

        assert instance_types(ec2, [running, stopped]) == {running: "t3.large", stopped: "t3.large"}
        assert states(ec2, [running, stopped]) == {running: "running", stopped: "stopped"}
        assert result == {
            "instance_type": "t3.large",
            "changed": [running, stopped],
            "unchanged": [],
            "restarted": [running],
            "waited": True,
        }

    def test_changes_only_the_tagged_instances(self, ec2):
        test_ids = create_instances(ec2, 2, env="test")
        prod_ids = create_instances(ec2, 1, env="prod")

        run(
            EC2ChangeInstanceTypeOperator, {"tag_key": "Env", "tag_value": "test", "instance_type": "t3.nano"}
        )

        assert instance_types(ec2, test_ids) == dict.fromkeys(test_ids, "t3.nano")
        assert instance_types(ec2, prod_ids) == dict.fromkeys(prod_ids, "m1.small")
        assert states(ec2, test_ids + prod_ids) == dict.fromkeys(test_ids + prod_ids, "running")

    def test_leaves_instances_already_of_the_type_running(self, ec2):
        instance_ids = create_instances(ec2, 1, env="test")

        parameters = {"instance_ids": instance_ids, "instance_type": "m1.small"}
        result = run(EC2ChangeInstanceTypeOperator, parameters)

        assert (result["changed"], result["unchanged"]) == ([], instance_ids)
        assert states(ec2, instance_ids) == dict.fromkeys(instance_ids, "running")

    def test_a_refused_type_starts_the_stopped_instances_again_and_names_the_instance(self, ec2, monkeypatch):
        instance_ids = create_instances(ec2, 2, env="test")

        def refuse(backend, instance_id, key, value):
            raise InvalidInstanceTypeError(value)

        monkeypatch.setattr(InstanceBackend, "modify_instance_attribute", refuse)
        message = (
            f"Changing the type of EC2 instance {instance_ids[0]} to t9.huge failed: "
            ".*InvalidInstanceType.*; "
            f"started {instance_ids[0]}, {instance_ids[1]} again"
        )
        with pytest.raises(AirflowException, match=message):
            run(EC2ChangeInstanceTypeOperator, {"instance_ids": instance_ids, "instance_type": "t9.huge"})

        assert states(ec2, instance_ids) == dict.fromkeys(instance_ids, "running")
        assert instance_types(ec2, instance_ids) == dict.fromkeys(instance_ids, "m1.small")

    def test_fails_naming_an_unknown_instance_id(self, ec2):
        with pytest.raises(AirflowException, match=f"Describing EC2 instances {UNKNOWN_ID} failed"):
            run(EC2ChangeInstanceTypeOperator, {"instance_ids": [UNKNOWN_ID], "instance_type": "t3.large"})


class TestEC2CreateImageOperator:
    def test_creates_a_tagged_ami_per_instance_named_by_the_template(self, ec2):
        instance_ids = create_instances(ec2, 2, env="test")
        today = datetime.now(timezone.utc).strftime("%Y%m%d")

        result = run(
            EC2CreateImageOperator,
            {
                "instance_ids": instance_ids,
                "name_template": "web-{instance_id}-{date}",
                "tags": {"Backup": "nightly"},
            },
        )

        assert result["waited"] is True
        assert set(result["images"]) == set(instance_ids)
        for iid in instance_ids:
            [image] = ec2.describe_images(ImageIds=[result["images"][iid]])["Images"]
            assert image["Name"] == f"web-{iid}-{today}" == result["names"][iid]
            assert image["State"] == "available"
            assert {t["Key"]: t["Value"] for t in image["Tags"]} == {
                "Backup": "nightly",
                JOB_TAG: job_id(),
                SOURCE_TAG: iid,
            }

    def test_a_tag_chooses_the_instances(self, ec2):
        test_ids = create_instances(ec2, 2, env="test")
        prod_ids = create_instances(ec2, 1, env="prod")

        result = run(EC2CreateImageOperator, {"tag_key": "Env", "tag_value": "test"})

        assert sorted(result["images"]) == sorted(test_ids)
        assert job_images(ec2, prod_ids[0]) == []

    def test_keeps_the_newest_n_and_deletes_the_older_amis_with_their_snapshots(self, ec2, moto_clock):
        [instance_id] = create_instances(ec2, 1, env="test")
        [other_instance] = create_instances(ec2, 1, env="other")
        by_hand = ec2.create_image(InstanceId=instance_id, Name="made-by-hand")["ImageId"]
        other_image = run(EC2CreateImageOperator, {"instance_ids": [other_instance]})["images"]
        other_image = other_image[other_instance]
        made = []
        for n in range(1, 5):
            parameters = {
                "instance_ids": [instance_id],
                "name_template": f"{{instance_id}}-run{n}",
                "keep_newest": 2,
            }
            made.append(run(EC2CreateImageOperator, parameters))
        images = {image["ImageId"]: image for image in ec2.describe_images(Owners=["self"])["Images"]}

        newest = [made[3]["images"][instance_id], made[2]["images"][instance_id]]
        assert sorted(i["ImageId"] for i in job_images(ec2, instance_id)) == sorted(newest)
        removed = [made[0]["images"][instance_id], made[1]["images"][instance_id]]
        assert not set(removed) & set(images)
        assert made[2]["deregistered"] == [removed[0]] and made[3]["deregistered"] == [removed[1]]
        gone_snapshots = made[2]["deleted_snapshots"] + made[3]["deleted_snapshots"]
        assert len(gone_snapshots) == 2
        assert not set(gone_snapshots) & existing_snapshots(ec2)
        for kept in (*newest, by_hand, other_image):
            assert set(snapshot_ids_of(images[kept])) <= existing_snapshots(ec2)

    def test_refuses_a_name_already_taken_before_creating_anything(self, ec2):
        instance_ids = create_instances(ec2, 2, env="test")
        ec2.create_image(InstanceId=instance_ids[0], Name=f"{instance_ids[1]}-golden")
        before = len(ec2.describe_images(Owners=["self"])["Images"])

        message = f"AMI names already taken in {REGION}: '{instance_ids[1]}-golden' \\(ami-"
        with pytest.raises(AirflowException, match=message):
            run(
                EC2CreateImageOperator,
                {"instance_ids": instance_ids, "name_template": "{instance_id}-golden"},
            )
        assert len(ec2.describe_images(Owners=["self"])["Images"]) == before

    def test_refuses_a_template_giving_two_instances_the_same_name(self, ec2):
        instance_ids = create_instances(ec2, 2, env="test")

        message = (
            f"AMI name template 'nightly-{{date}}' gives EC2 instances {instance_ids[0]}, {instance_ids[1]} "
            r"the same name 'nightly-\d{8}'; add \{instance_id\}"
        )
        with pytest.raises(AirflowException, match=message):
            run(EC2CreateImageOperator, {"instance_ids": instance_ids, "name_template": "nightly-{date}"})
        assert ec2.describe_images(Owners=["self"])["Images"] == []

    def test_fails_naming_an_unknown_instance(self, ec2):
        with pytest.raises(AirflowException, match=f"Creating an AMI of EC2 instance {UNKNOWN_ID} failed"):
            run(EC2CreateImageOperator, {"instance_ids": [UNKNOWN_ID]})

    def test_a_wait_that_runs_out_of_checks_names_the_amis(self, ec2, monkeypatch):
        instance_ids = create_instances(ec2, 1, env="test")
        create_image = AmiBackend.create_image

        def create_pending_image(backend, *args, **kwargs):
            image = create_image(backend, *args, **kwargs)
            image.state = "pending"
            return image

        monkeypatch.setattr(AmiBackend, "create_image", create_pending_image)

        with pytest.raises(AirflowException, match=r"AMIs ami-\w+ were not all available after 2 checks"):
            run(EC2CreateImageOperator, {"instance_ids": instance_ids}, waiter_max_attempts=2)


class TestEC2CopyImageOperator:
    def test_copies_amis_by_id_to_the_destination_region_with_tags(self, ec2):
        instance_ids = create_instances(ec2, 1, env="test")
        source = ec2.create_image(InstanceId=instance_ids[0], Name="golden")["ImageId"]

        result = run(
            EC2CopyImageOperator,
            {
                "image_ids": [source],
                "destination_region": OTHER_REGION,
                "name_template": "{source_name}-dr-{date}",
                "tags": {"Purpose": "dr"},
            },
        )

        destination = boto3.client("ec2", region_name=OTHER_REGION)
        [copy] = destination.describe_images(ImageIds=[result["copies"][source]])["Images"]
        assert copy["Name"] == f"golden-dr-{datetime.now(timezone.utc):%Y%m%d}"
        assert copy["State"] == "available"
        copy_tags = {t["Key"]: t["Value"] for t in copy["Tags"]}
        assert copy_tags == {"Purpose": "dr", JOB_TAG: job_id(), SOURCE_TAG: source}
        assert result == {
            "destination_region": OTHER_REGION,
            "copies": {source: copy["ImageId"]},
            "waited": True,
        }

    def test_a_tag_chooses_the_amis(self, ec2):
        instance_ids = create_instances(ec2, 1, env="test")
        tagged = ec2.create_image(
            InstanceId=instance_ids[0],
            Name="tagged",
            TagSpecifications=[{"ResourceType": "image", "Tags": [{"Key": "Copy", "Value": "yes"}]}],
        )["ImageId"]
        ec2.create_image(InstanceId=instance_ids[0], Name="untagged")

        result = run(
            EC2CopyImageOperator, {"tag_key": "Copy", "tag_value": "yes", "destination_region": OTHER_REGION}
        )

        assert list(result["copies"]) == [tagged]
        destination = boto3.client("ec2", region_name=OTHER_REGION)
        names = [image["Name"] for image in destination.describe_images(Owners=["self"])["Images"]]
        assert names == ["tagged"]

    def test_fails_naming_an_unknown_ami(self, ec2):
        unknown = "ami-0123456789abcdef0"
        with pytest.raises(AirflowException, match=f"Describing AMIs {unknown} failed: .*NotFound"):
            run(EC2CopyImageOperator, {"image_ids": [unknown], "destination_region": OTHER_REGION})
