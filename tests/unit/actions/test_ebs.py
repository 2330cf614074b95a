"""The EBS snapshot action runs against moto's in-process EC2; assertions read the snapshots in moto."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from pydantic import ValidationError

from http_trigger.actions.backups import JOB_TAG, SOURCE_TAG
from http_trigger.actions.ebs import EBSCreateSnapshotsOperator, EbsCreateSnapshotsParameters

from . import support
from .ec2_support import create_instance
from .support import REGION, make_operator, moto_account

UNKNOWN_VOLUME = "vol-0123456789abcdef0"


def run(parameters: dict[str, Any] | None, *, conf: dict[str, Any] | None = None) -> Any:
    return support.run(EBSCreateSnapshotsOperator, parameters, conf=conf)


def job_id() -> str:
    """The job tag value in these tests: an operator outside a DAG belongs to Airflow's ad-hoc DAG."""
    return make_operator(EBSCreateSnapshotsOperator, None).dag_id


@pytest.fixture
def ec2(monkeypatch):
    """Yield an EC2 client on moto whose clock moves a minute per reading, so snapshots are ordered.

    moto stamps snapshots with whole seconds; several made in one second would tie, and "keep
    the newest N" needs an order.
    """
    ticks = itertools.count()
    start = datetime(2026, 1, 1)
    monkeypatch.setattr(
        "moto.ec2.models.elastic_block_store.utcnow", lambda: start + timedelta(minutes=next(ticks))
    )
    with moto_account():
        yield boto3.client("ec2", region_name=REGION)


def snapshots_of(ec2, volume_id: str) -> list[dict[str, Any]]:
    return ec2.describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "volume-id", "Values": [volume_id]}])[
        "Snapshots"
    ]


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


class TestEbsCreateSnapshotsParameters:
    def test_defaults(self):
        parameters = EbsCreateSnapshotsParameters.model_validate({"volume_ids": [UNKNOWN_VOLUME]})
        assert parameters.description_template == "{volume_id} of {instance_id} {device} at {datetime}"
        assert (parameters.tags, parameters.keep_newest) == ({}, None)
        assert parameters.wait_until_final_state is True

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({}, "give volume_ids, or tag_key and tag_value, to choose the volumes"),
            ({"volume_ids": ["vol-XYZ"]}, r"volume_ids\.0\n  String should match pattern"),
            (
                {"volume_ids": [UNKNOWN_VOLUME], "tag_key": "Env", "tag_value": "test"},
                "give either volume_ids or tag_key and tag_value, not both",
            ),
            (
                {"volume_ids": [UNKNOWN_VOLUME], "description_template": "{volume} at {date}"},
                r"description_template\n  Value error, unknown placeholder \{volume\}",
            ),
            (
                {"volume_ids": [UNKNOWN_VOLUME], "description_template": "broken {"},
                r"description_template\n  Value error, 'broken \{' is not a valid template",
            ),
            ({"volume_ids": [UNKNOWN_VOLUME], "keep_newest": -1}, r"keep_newest\n  Input should be greater"),
            (
                {"volume_ids": [UNKNOWN_VOLUME], "tags": {"aws:backup": "x"}},
                r"tags\n  Value error, tag key 'aws:backup' uses a reserved prefix",
            ),
        ],
    )
    def test_refuses(self, data, message):
        with pytest.raises(ValidationError, match=message):
            EbsCreateSnapshotsParameters.model_validate(data)


class TestEBSCreateSnapshotsOperator:
    def test_snapshots_volumes_by_id_with_description_and_tags(self, ec2):
        instance_id, volume_id = create_instance(ec2, env="test")
        detached = ec2.create_volume(Size=8, AvailabilityZone=f"{REGION}a")["VolumeId"]

        result = run(
            {
                "volume_ids": [volume_id, detached],
                "description_template": "{volume_id} of {instance_id} on {date}",
                "tags": {"Backup": "daily"},
            }
        )

        assert list(result["snapshots"]) == [volume_id, detached]
        assert result["waited"] is True
        today = datetime.now(timezone.utc).strftime("%Y%m%d")
        [attached_snapshot] = snapshots_of(ec2, volume_id)
        assert attached_snapshot["Description"] == f"{volume_id} of {instance_id} on {today}"
        assert attached_snapshot["State"] == "completed"
        assert tags(attached_snapshot) == {"Backup": "daily", JOB_TAG: job_id(), SOURCE_TAG: volume_id}
        [detached_snapshot] = snapshots_of(ec2, detached)
        assert detached_snapshot["Description"] == f"{detached} of - on {today}"

    def test_a_tag_chooses_the_volumes_of_the_tagged_instances(self, ec2):
        _, test_volume = create_instance(ec2, env="test")
        _, prod_volume = create_instance(ec2, env="prod")

        result = run({"tag_key": "Env", "tag_value": "test"})

        assert list(result["snapshots"]) == [test_volume]
        assert len(snapshots_of(ec2, test_volume)) == 1
        assert snapshots_of(ec2, prod_volume) == []

    def test_keeps_the_newest_n_of_this_jobs_snapshots_per_volume(self, ec2):
        _, volume_id = create_instance(ec2, env="test")
        by_hand = ec2.create_snapshot(VolumeId=volume_id, Description="by hand")["SnapshotId"]
        made = [run({"volume_ids": [volume_id], "keep_newest": 2})["snapshots"][volume_id] for _ in range(4)]

        remaining = {snapshot["SnapshotId"] for snapshot in snapshots_of(ec2, volume_id)}
        assert remaining == {by_hand, made[2], made[3]}

    def test_rotation_reports_what_it_deleted(self, ec2):
        _, volume_id = create_instance(ec2, env="test")
        first = run({"volume_ids": [volume_id]})["snapshots"][volume_id]

        result = run({"volume_ids": [volume_id], "keep_newest": 1})

        assert result["deleted_snapshots"] == [first]
        assert [s["SnapshotId"] for s in snapshots_of(ec2, volume_id)] == [result["snapshots"][volume_id]]

    def test_fails_naming_an_unknown_volume(self, ec2):
        message = f"Describing EBS volumes {UNKNOWN_VOLUME} failed: .*NotFound"
        with pytest.raises(AirflowException, match=message):
            run({"volume_ids": [UNKNOWN_VOLUME]})

    def test_fails_naming_the_tag_when_no_instance_has_it(self, ec2):
        create_instance(ec2, env="test")
        message = r"No EC2 instance \(not terminated\) is tagged Env=staging"
        with pytest.raises(AirflowException, match=message):
            run({"tag_key": "Env", "tag_value": "staging"})
        assert ec2.describe_snapshots(Filters=[{"Name": "tag-key", "Values": [JOB_TAG]}])["Snapshots"] == []

    def test_does_not_wait_when_told_not_to(self, ec2):
        _, volume_id = create_instance(ec2, env="test")
        result = run(None, conf={"volume_ids": [volume_id], "wait_until_final_state": False})
        assert result["waited"] is False
        assert len(snapshots_of(ec2, volume_id)) == 1

    def test_invalid_conf_fails_without_retry_naming_the_field(self, ec2):
        message = r"keep_newest: Input should be greater than or equal to 1"
        with pytest.raises(AirflowFailException, match=message):
            run(None, conf={"volume_ids": [UNKNOWN_VOLUME], "keep_newest": 0})
