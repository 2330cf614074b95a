"""The EBS helpers against moto's in-process EC2: assertions read the volumes' snapshots in moto."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta

import boto3
import pytest
from airflow.providers.amazon.aws.hooks.ec2 import EC2Hook
from airflow.sdk.exceptions import AirflowException

from http_trigger.actions.aws import ebs
from http_trigger.actions.backups import JOB_TAG, SOURCE_TAG
from http_trigger.actions.targets import Tag
from http_trigger.actions.waiting import WaitLimits

from ..ec2_support import create_instance
from ..support import REGION, moto_account

JOB = "nightly_snapshots"
UNKNOWN_VOLUME = "vol-0123456789abcdef0"


@pytest.fixture
def client(monkeypatch) -> Iterator[object]:
    """An EC2 client on moto whose clock moves a minute per reading, so snapshots are ordered."""
    ticks = itertools.count()
    start = datetime(2026, 1, 1)
    monkeypatch.setattr(
        "moto.ec2.models.elastic_block_store.utcnow", lambda: start + timedelta(minutes=next(ticks))
    )
    with moto_account():
        yield boto3.client("ec2", region_name=REGION)


@pytest.fixture
def hook(client) -> EC2Hook:
    return EC2Hook(aws_conn_id=None, region_name=REGION, api_type="client_type")


def snapshot_ids(client, volume_id: str) -> set[str]:
    filters = [{"Name": "volume-id", "Values": [volume_id]}]
    return {
        s["SnapshotId"] for s in client.describe_snapshots(OwnerIds=["self"], Filters=filters)["Snapshots"]
    }


class TestVolumes:
    def test_volumes_by_id_keep_the_given_order(self, client, hook):
        _, first = create_instance(client, env="test")
        _, second = create_instance(client, env="test")

        assert [v["VolumeId"] for v in ebs.volumes_by_id(hook, [second, first])] == [second, first]

    def test_an_unknown_volume_fails_naming_it(self, hook):
        with pytest.raises(AirflowException, match=f"Describing EBS volumes {UNKNOWN_VOLUME} failed"):
            ebs.volumes_by_id(hook, [UNKNOWN_VOLUME])

    def test_a_tag_chooses_the_volumes_of_the_tagged_instances(self, client, hook):
        instance_id, volume_id = create_instance(client, env="test")
        create_instance(client, env="prod")

        [volume] = ebs.volumes_of_instances_tagged(hook, Tag("Env", "test"))

        assert volume["VolumeId"] == volume_id
        assert volume["Attachments"][0]["InstanceId"] == instance_id

    def test_a_tag_no_instance_carries_fails_naming_it(self, client, hook):
        create_instance(client, env="test")

        with pytest.raises(
            AirflowException, match=r"No EC2 instance \(not terminated\) is tagged Env=staging"
        ):
            ebs.volumes_of_instances_tagged(hook, Tag("Env", "staging"))


class TestSnapshots:
    def test_creates_tagged_snapshots_and_waits_until_completed(self, client, hook):
        _, volume_id = create_instance(client, env="test")

        made = ebs.create_snapshots(hook, {volume_id: "nightly"}, job=JOB, tags={"Backup": "nightly"})
        ebs.wait_for_snapshots(hook, list(made.values()), limits=WaitLimits(delay=0, max_attempts=5))

        [snapshot] = client.describe_snapshots(SnapshotIds=[made[volume_id]])["Snapshots"]
        assert (snapshot["VolumeId"], snapshot["Description"], snapshot["State"]) == (
            volume_id,
            "nightly",
            "completed",
        )
        assert {t["Key"]: t["Value"] for t in snapshot["Tags"]} == {
            "Backup": "nightly",
            JOB_TAG: JOB,
            SOURCE_TAG: volume_id,
        }

    def test_an_unknown_volume_fails_naming_the_snapshots_already_made(self, client, hook):
        _, volume_id = create_instance(client, env="test")

        message = f"snapshot of EBS volume {UNKNOWN_VOLUME} failed: .* \\(snapshots already created: snap-"
        with pytest.raises(AirflowException, match=message):
            ebs.create_snapshots(hook, {volume_id: "one", UNKNOWN_VOLUME: "two"}, job=JOB, tags={})

    def test_rotation_keeps_the_newest_of_this_jobs_snapshots_per_volume(self, client, hook):
        _, volume_id = create_instance(client, env="test")
        by_hand = client.create_snapshot(VolumeId=volume_id)["SnapshotId"]
        made = [ebs.create_snapshots(hook, {volume_id: f"run {n}"}, job=JOB, tags={}) for n in range(3)]

        deleted = ebs.rotate_snapshots(hook, made[2], job=JOB, keep=2)

        assert deleted == [made[0][volume_id]]
        assert snapshot_ids(client, volume_id) == {by_hand, made[1][volume_id], made[2][volume_id]}
