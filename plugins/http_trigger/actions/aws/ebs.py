"""EBS volumes and snapshots over the provider's ``EC2Hook`` client, for the EBS snapshot action.

The provider has no EBS snapshot operator or hook method. Volumes are chosen by id or through the
instances carrying a tag; every snapshot carries the job and volume tags of
:mod:`http_trigger.actions.backups`, so rotation deletes only the job's own older snapshots of the
same volume, never one someone made by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError

from http_trigger.actions.aws.ec2 import LIVE_INSTANCE_STATES, instance_ids_tagged
from http_trigger.actions.backups import JOB_TAG, aws_tags, older_generations
from http_trigger.actions.targets import Tag, listed
from http_trigger.actions.waiting import Wait, WaitLimits, wait_until

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.ec2 import EC2Hook

log = logging.getLogger(__name__)


def volumes_by_id(hook: EC2Hook, volume_ids: list[str]) -> list[dict[str, Any]]:
    """Return the volumes' descriptions in the order given; an unknown id fails naming the volumes."""
    try:
        volumes = hook.conn.describe_volumes(VolumeIds=volume_ids)["Volumes"]
    except ClientError as error:
        raise AirflowException(f"Describing EBS volumes {listed(volume_ids)} failed: {error}") from error
    order = {volume_id: index for index, volume_id in enumerate(volume_ids)}
    return sorted(volumes, key=lambda volume: order[volume["VolumeId"]])


def volumes_of_instances_tagged(hook: EC2Hook, tag: Tag) -> list[dict[str, Any]]:
    """Return every volume attached to the instances (not terminated) carrying the tag, or fail."""
    instance_ids = instance_ids_tagged(hook, tag, states=LIVE_INSTANCE_STATES, label="(not terminated)")
    pages = hook.conn.get_paginator("describe_volumes").paginate(
        Filters=[{"Name": "attachment.instance-id", "Values": instance_ids}]
    )
    volumes = [volume for page in pages for volume in page["Volumes"]]
    if not volumes:
        raise AirflowException(f"No EBS volume is attached to the EC2 instances tagged {tag}")
    log.info("EBS volumes of the tagged instances: %s", listed(volume["VolumeId"] for volume in volumes))
    return volumes


def create_snapshots(
    hook: EC2Hook, descriptions: Mapping[str, str], *, job: str, tags: Mapping[str, str]
) -> dict[str, str]:
    """Snapshot each volume (``descriptions``: volume id → description), tagged as ``job``'s.

    Return the new snapshot id by volume id; a failure names the snapshots already created.
    """
    snapshots: dict[str, str] = {}
    for volume_id, description in descriptions.items():
        log.info("Creating a snapshot of EBS volume %s: %s", volume_id, description)
        snapshot_tags = aws_tags(tags, job=job, source=volume_id)
        try:
            snapshot = hook.conn.create_snapshot(
                VolumeId=volume_id,
                Description=description,
                TagSpecifications=[{"ResourceType": "snapshot", "Tags": snapshot_tags}],
            )
        except ClientError as error:
            made = f" (snapshots already created: {listed(snapshots.values())})" if snapshots else ""
            raise AirflowException(
                f"Creating a snapshot of EBS volume {volume_id} failed: {error}{made}"
            ) from error
        snapshots[volume_id] = snapshot["SnapshotId"]
    return snapshots


def snapshots_wait(snapshot_ids: list[str]) -> Wait:
    """Describe a wait with EC2's ``snapshot_completed`` waiter until every snapshot is completed."""
    return Wait(
        waiter_name="snapshot_completed",
        args={"SnapshotIds": snapshot_ids},
        resources=f"EBS snapshots {listed(snapshot_ids)}",
        final_state="completed",
        status_args=["Snapshots[].[SnapshotId, State, Progress]"],
    )


def wait_for_snapshots(hook: EC2Hook, snapshot_ids: list[str], *, limits: WaitLimits) -> None:
    """Wait in the worker until every snapshot is completed (see :func:`snapshots_wait`)."""
    wait_until(hook, snapshots_wait(snapshot_ids), limits=limits)


def rotate_snapshots(hook: EC2Hook, snapshots: Mapping[str, str], *, job: str, keep: int) -> list[str]:
    """Keep ``keep`` of ``job``'s snapshots per volume, the new ones (``snapshots``) counted first.

    Return the deleted snapshot ids; every volume is tried before a failure is raised.
    """
    deleted: list[str] = []
    failures: list[str] = []
    for volume_id, new_snapshot_id in snapshots.items():
        pages = hook.conn.get_paginator("describe_snapshots").paginate(
            OwnerIds=["self"],
            Filters=[
                {"Name": "volume-id", "Values": [volume_id]},
                {"Name": f"tag:{JOB_TAG}", "Values": [job]},
            ],
        )
        previous = [s for page in pages for s in page["Snapshots"] if s["SnapshotId"] != new_snapshot_id]
        for snapshot in older_generations(previous, keep=keep, created_at=lambda s: s["StartTime"]):
            snapshot_id = snapshot["SnapshotId"]
            log.info(
                "Deleting EBS snapshot %s of volume %s (beyond the newest %s)", snapshot_id, volume_id, keep
            )
            try:
                hook.conn.delete_snapshot(SnapshotId=snapshot_id)
            except ClientError as error:
                failures.append(f"{snapshot_id}: {error}")
            else:
                deleted.append(snapshot_id)
    if failures:
        raise AirflowException(
            f"Created EBS snapshots {listed(snapshots.values())}, but deleting older ones failed: "
            f"{'; '.join(failures)}"
        )
    return deleted
