"""EBS actions: snapshot volumes chosen by id, or every volume of the instances carrying a tag.

The provider has no EBS snapshot operator: this one uses the provider's ``EC2Hook`` boto3 client
and EC2's ``snapshot_completed`` waiter. Each snapshot carries the job and volume tags of
:mod:`http_trigger.actions.backups`, so "keep the newest N" deletes only this job's older
snapshots of the same volume, never a snapshot someone made by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError
from pydantic import ConfigDict, Field, field_validator

from http_trigger.actions.backups import (
    DATE_PLACEHOLDERS_DOC,
    JOB_TAG,
    UserTags,
    aws_tags,
    check_template,
    keep_newest_field,
    older_generations,
    render_template,
    tags_field,
    utc_now,
)
from http_trigger.actions.base import ActionType
from http_trigger.actions.ec2 import LIVE_INSTANCE_STATES, EC2ActionOperator
from http_trigger.actions.targets import (
    TargetedParameters,
    describe_tag,
    tag_key_field,
    tag_value_field,
    unique,
    wait_field,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

VOLUME_ID_PATTERN = r"^vol-[0-9a-f]{8,17}$"
_DESCRIPTION_MAX_CHARS = 255
# Placeholders for a volume that is not attached to an instance.
_DETACHED = "-"


class EbsCreateSnapshotsParameters(TargetedParameters):
    """Choose EBS volumes by id or by their instances' tag; describe, tag and rotate their snapshots."""

    ids_field: ClassVar[str] = "volume_ids"
    resources: ClassVar[str] = "volumes"

    model_config = ConfigDict(title="EBS snapshots")

    volume_ids: list[Annotated[str, Field(pattern=VOLUME_ID_PATTERN)]] = Field(
        default_factory=list,
        title="Volume ids",
        description="The volumes to snapshot, e.g. vol-0123456789abcdef0. Leave empty to choose by tag.",
    )
    tag_key: str | None = tag_key_field("volume attached to an instance (not terminated)")
    tag_value: str | None = tag_value_field()
    description_template: str = Field(
        default="{volume_id} of {instance_id} {device} at {datetime}",
        min_length=1,
        max_length=200,
        title="Description",
        description=(
            "Description of each snapshot. Placeholders: {volume_id}, {instance_id} and {device} "
            f"(the attachment, '-' when detached), {DATE_PLACEHOLDERS_DOC}."
        ),
    )
    tags: UserTags = tags_field("snapshot")
    keep_newest: int | None = keep_newest_field("snapshots", "volume")
    wait_until_final_state: bool = wait_field("Finish only when every snapshot is completed.")

    @field_validator("description_template")
    @classmethod
    def _check_description(cls, value: str) -> str:
        return check_template(value, ("volume_id", "instance_id", "device"))


class EBSCreateSnapshotsOperator(EC2ActionOperator):
    """Snapshot EBS volumes chosen by id or by instance tag; optionally keep only the newest N per volume."""

    parameters_model: ClassVar[type[EbsCreateSnapshotsParameters]] = EbsCreateSnapshotsParameters

    def run_action(self, context: Context, parameters: EbsCreateSnapshotsParameters) -> dict[str, Any]:
        volumes = self._resolve_volumes(parameters)
        now = utc_now()
        snapshots: dict[str, str] = {}
        for volume in volumes:
            volume_id = volume["VolumeId"]
            attachment = next(iter(volume.get("Attachments") or []), {})
            description = render_template(
                parameters.description_template,
                now,
                volume_id=volume_id,
                instance_id=attachment.get("InstanceId", _DETACHED),
                device=attachment.get("Device", _DETACHED),
            )[:_DESCRIPTION_MAX_CHARS]
            self.log.info("Creating a snapshot of EBS volume %s: %s", volume_id, description)
            tags = aws_tags(parameters.tags, job=self.dag_id, source=volume_id)
            try:
                snapshot = self.hook.conn.create_snapshot(
                    VolumeId=volume_id,
                    Description=description,
                    TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags}],
                )
            except ClientError as error:
                made = f" (snapshots already created: {', '.join(snapshots.values())})" if snapshots else ""
                raise AirflowException(
                    f"Creating a snapshot of EBS volume {volume_id} failed: {error}{made}"
                ) from error
            snapshots[volume_id] = snapshot["SnapshotId"]
        if parameters.wait_until_final_state:
            self.wait_for(
                "snapshot_completed",
                args={"SnapshotIds": list(snapshots.values())},
                resources=f"EBS snapshots {', '.join(snapshots.values())}",
                final_state="completed",
                status_args=["Snapshots[].[SnapshotId, State, Progress]"],
            )
        summary = {"snapshots": snapshots, "waited": parameters.wait_until_final_state}
        if parameters.keep_newest is None:
            return summary
        return {**summary, "deleted_snapshots": self._rotate(snapshots, parameters.keep_newest)}

    def _resolve_volumes(self, parameters: EbsCreateSnapshotsParameters) -> list[dict[str, Any]]:
        if parameters.volume_ids:
            volume_ids = unique(parameters.volume_ids)
            try:
                volumes = self.hook.conn.describe_volumes(VolumeIds=volume_ids)["Volumes"]
            except ClientError as error:
                names = ", ".join(volume_ids)
                raise AirflowException(f"Describing EBS volumes {names} failed: {error}") from error
            order = {volume_id: index for index, volume_id in enumerate(volume_ids)}
            return sorted(volumes, key=lambda volume: order[volume["VolumeId"]])
        instance_ids = self.instance_ids_tagged(
            parameters.tag_key, parameters.tag_value, states=LIVE_INSTANCE_STATES, label="(not terminated)"
        )
        pages = self.hook.conn.get_paginator("describe_volumes").paginate(
            Filters=[{"Name": "attachment.instance-id", "Values": instance_ids}]
        )
        volumes = [volume for page in pages for volume in page["Volumes"]]
        if not volumes:
            tag = describe_tag(parameters.tag_key, parameters.tag_value)
            raise AirflowException(f"No EBS volume is attached to the EC2 instances tagged {tag}")
        self.log.info("EBS volumes of the tagged instances: %s", ", ".join(v["VolumeId"] for v in volumes))
        return volumes

    def _rotate(self, snapshots: dict[str, str], keep: int) -> list[str]:
        deleted: list[str] = []
        failures: list[str] = []
        for volume_id, new_snapshot_id in snapshots.items():
            pages = self.hook.conn.get_paginator("describe_snapshots").paginate(
                OwnerIds=["self"],
                Filters=[
                    {"Name": "volume-id", "Values": [volume_id]},
                    {"Name": f"tag:{JOB_TAG}", "Values": [self.dag_id]},
                ],
            )
            previous = [s for page in pages for s in page["Snapshots"] if s["SnapshotId"] != new_snapshot_id]
            for snapshot in older_generations(previous, keep=keep, created_at=lambda s: s["StartTime"]):
                snapshot_id = snapshot["SnapshotId"]
                self.log.info(
                    "Deleting EBS snapshot %s of volume %s (beyond the newest %s)",
                    snapshot_id,
                    volume_id,
                    keep,
                )
                try:
                    self.hook.conn.delete_snapshot(SnapshotId=snapshot_id)
                except ClientError as error:
                    failures.append(f"{snapshot_id}: {error}")
                else:
                    deleted.append(snapshot_id)
        if failures:
            raise AirflowException(
                f"Created EBS snapshots {', '.join(snapshots.values())}, but deleting older ones failed: "
                f"{'; '.join(failures)}"
            )
        return deleted


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="ebs_create_snapshots",
        title="EBS: Create snapshots",
        description=(
            "Snapshot the EBS volumes given by id, or every volume attached to the instances carrying "
            "a tag; tag the snapshots and optionally keep only the newest ones of each volume."
        ),
        parameters_model=EbsCreateSnapshotsParameters,
        operator_class=EBSCreateSnapshotsOperator,
    ),
)
