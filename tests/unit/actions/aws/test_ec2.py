"""The EC2 helpers against moto's in-process EC2: assertions read the instances and AMIs in moto."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta

import boto3
import pytest
from airflow.providers.amazon.aws.hooks.ec2 import EC2Hook
from airflow.sdk.exceptions import AirflowException
from moto.ec2.models.amis import AmiBackend

from http_trigger.actions.aws import ec2
from http_trigger.actions.backups import JOB_TAG, SOURCE_TAG
from http_trigger.actions.targets import Tag
from http_trigger.actions.waiting import WaitLimits

from ..ec2_support import create_instances, states
from ..support import REGION, moto_account

OTHER_REGION = "eu-west-1"
UNKNOWN_ID = "i-0123456789abcdef0"
JOB = "nightly_amis"
LIMITS = WaitLimits(delay=0, max_attempts=5)


@pytest.fixture
def client(monkeypatch) -> Iterator[object]:
    """An EC2 client on moto whose clock moves a minute per reading, so AMIs are ordered."""
    ticks = itertools.count()
    start = datetime(2026, 1, 1)
    for module in ("moto.ec2.models.amis", "moto.ec2.models.elastic_block_store"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: start + timedelta(minutes=next(ticks)))
    with moto_account():
        yield boto3.client("ec2", region_name=REGION)


@pytest.fixture
def hook(client) -> EC2Hook:
    return EC2Hook(aws_conn_id=None, region_name=REGION, api_type="client_type")


def own_images(client) -> dict[str, dict]:
    return {image["ImageId"]: image for image in client.describe_images(Owners=["self"])["Images"]}


class TestInstances:
    def test_a_tag_chooses_the_tagged_instances_in_the_given_states(self, client, hook):
        running, stopped = create_instances(client, 2, env="test")
        create_instances(client, 1, env="prod")
        client.stop_instances(InstanceIds=[stopped])

        chosen = ec2.instance_ids_tagged(hook, Tag("Env", "test"), states=["stopped"], label="(stopped)")

        assert chosen == [stopped]

    def test_a_tag_nothing_carries_fails_naming_it(self, client, hook):
        create_instances(client, 1, env="test")

        with pytest.raises(AirflowException, match=r"No EC2 instance \(running\) is tagged Env=staging"):
            ec2.instance_ids_tagged(hook, Tag("Env", "staging"), states=["running"], label="(running)")

    def test_describing_an_unknown_instance_fails_naming_it(self, hook):
        with pytest.raises(AirflowException, match=f"Describing EC2 instances {UNKNOWN_ID} failed"):
            ec2.describe_instances(hook, [UNKNOWN_ID])

    def test_stop_then_start_again_and_wait(self, client, hook):
        instance_ids = create_instances(client, 2, env="test")

        ec2.stop_instances(hook, instance_ids)
        ec2.wait_for_instances(
            hook, instance_ids, waiter_name="instance_stopped", final_state="stopped", limits=LIMITS
        )
        assert states(client, instance_ids) == dict.fromkeys(instance_ids, "stopped")

        changes = ec2.start_instances(hook, instance_ids, again=True)
        ec2.wait_for_instances(
            hook, instance_ids, waiter_name="instance_running", final_state="running", limits=LIMITS
        )

        assert {change["InstanceId"] for change in changes} == set(instance_ids)
        assert ec2.instance_states(hook, instance_ids) == states(client, instance_ids)
        assert states(client, instance_ids) == dict.fromkeys(instance_ids, "running")

    def test_starting_an_unknown_instance_again_fails_naming_it(self, hook):
        with pytest.raises(AirflowException, match=f"Starting EC2 instances {UNKNOWN_ID} again failed"):
            ec2.start_instances(hook, [UNKNOWN_ID], again=True)

    def test_a_reboot_refuses_every_instance_if_one_is_not_running(self, client, hook):
        running, stopped = create_instances(client, 2, env="test")
        client.stop_instances(InstanceIds=[stopped])

        with pytest.raises(AirflowException, match=f"can be rebooted: {stopped} is stopped"):
            ec2.reboot_running_instances(hook, [running, stopped])
        assert states(client, [running, stopped]) == {running: "running", stopped: "stopped"}

    def test_a_reboot_of_running_instances_passes_the_status_check(self, client, hook):
        instance_ids = create_instances(client, 1, env="test")

        ec2.reboot_running_instances(hook, instance_ids)
        ec2.wait_for_status_ok(hook, instance_ids, limits=LIMITS)

        assert states(client, instance_ids) == dict.fromkeys(instance_ids, "running")

    def test_modify_instance_types_changes_stopped_instances(self, client, hook):
        instance_ids = create_instances(client, 2, env="test")
        client.stop_instances(InstanceIds=instance_ids)

        assert ec2.modify_instance_types(hook, instance_ids, "t3.large") is None

        described = ec2.describe_instances(hook, instance_ids)
        assert {iid: described[iid]["InstanceType"] for iid in instance_ids} == dict.fromkeys(
            instance_ids, "t3.large"
        )


class TestImages:
    def test_creates_tagged_amis_and_rotation_keeps_the_newest_per_instance(self, client, hook):
        [instance_id] = create_instances(client, 1, env="test")
        by_hand = client.create_image(InstanceId=instance_id, Name="made-by-hand")["ImageId"]
        made = [
            ec2.create_images(hook, {instance_id: f"run-{n}"}, job=JOB, no_reboot=True, tags={"B": "1"})
            for n in range(3)
        ]
        old_snapshots = [
            m["Ebs"]["SnapshotId"] for m in own_images(client)[made[0][instance_id]]["BlockDeviceMappings"]
        ]

        removed = ec2.rotate_images(hook, made[2], job=JOB, keep=2)

        assert removed == {"deregistered": [made[0][instance_id]], "deleted_snapshots": old_snapshots}
        images = own_images(client)
        assert set(images) == {by_hand, made[1][instance_id], made[2][instance_id]}
        newest = images[made[2][instance_id]]
        assert {t["Key"]: t["Value"] for t in newest["Tags"]} == {
            "B": "1",
            JOB_TAG: JOB,
            SOURCE_TAG: instance_id,
        }
        assert [i["ImageId"] for i in ec2.job_images(hook, job=JOB, source=instance_id)] == [
            made[1][instance_id],
            made[2][instance_id],
        ]
        remaining = {s["SnapshotId"] for s in client.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
        assert not set(old_snapshots) & remaining

    def test_a_taken_name_is_refused_naming_the_ami(self, client, hook):
        [instance_id] = create_instances(client, 1, env="test")
        image_id = client.create_image(InstanceId=instance_id, Name="golden")["ImageId"]

        with pytest.raises(
            AirflowException, match=f"AMI names already taken in {REGION}: 'golden' \\({image_id}\\)"
        ):
            ec2.check_image_names_free(hook, ["silver", "golden"])
        ec2.check_image_names_free(hook, ["silver"])

    def test_a_wait_that_runs_out_of_checks_names_the_amis(self, client, hook, monkeypatch):
        [instance_id] = create_instances(client, 1, env="test")
        create_image = AmiBackend.create_image

        def create_pending_image(backend, *args, **kwargs):
            image = create_image(backend, *args, **kwargs)
            image.state = "pending"
            return image

        monkeypatch.setattr(AmiBackend, "create_image", create_pending_image)
        images = ec2.create_images(hook, {instance_id: "pending-one"}, job=JOB, no_reboot=True, tags={})

        with pytest.raises(AirflowException, match=r"AMIs ami-\w+ were not all available after 2 checks"):
            ec2.wait_for_images(
                hook, list(images.values()), resources=f"AMIs {images[instance_id]}", limits=WaitLimits(0, 2)
            )

    def test_available_images_keep_the_given_order_and_refuse_missing_ones(self, client, hook):
        [instance_id] = create_instances(client, 1, env="test")
        first = client.create_image(InstanceId=instance_id, Name="first")["ImageId"]
        second = client.create_image(InstanceId=instance_id, Name="second")["ImageId"]

        assert [i["ImageId"] for i in ec2.available_images(hook, [second, first])] == [second, first]
        with pytest.raises(AirflowException, match="Describing AMIs ami-0123456789abcdef0 failed"):
            ec2.available_images(hook, ["ami-0123456789abcdef0"])

    def test_copies_a_tagged_ami_to_another_region(self, client, hook):
        [instance_id] = create_instances(client, 1, env="test")
        tag = [{"ResourceType": "image", "Tags": [{"Key": "Copy", "Value": "yes"}]}]
        source = client.create_image(InstanceId=instance_id, Name="golden", TagSpecifications=tag)["ImageId"]
        client.create_image(InstanceId=instance_id, Name="untagged")
        target = EC2Hook(aws_conn_id=None, region_name=OTHER_REGION, api_type="client_type")

        [image] = ec2.available_images_tagged(hook, Tag("Copy", "yes"))
        copy_id = ec2.copy_image(
            target, image, source_region=REGION, name="golden-dr", tags=[{"Key": "Purpose", "Value": "dr"}]
        )
        ec2.wait_for_images(target, [copy_id], resources=f"AMI copies {copy_id}", limits=LIMITS)

        [copy] = boto3.client("ec2", region_name=OTHER_REGION).describe_images(ImageIds=[copy_id])["Images"]
        assert (image["ImageId"], copy["Name"], copy["State"]) == (source, "golden-dr", "available")
        assert copy["Tags"] == [{"Key": "Purpose", "Value": "dr"}]

    def test_no_available_ami_with_the_tag_fails_naming_it(self, hook):
        with pytest.raises(
            AirflowException, match="No available AMI owned by this account is tagged Copy=yes"
        ):
            ec2.available_images_tagged(hook, Tag("Copy", "yes"))
