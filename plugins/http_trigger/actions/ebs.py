"""EBS actions: snapshot volumes chosen by id, or every volume of the instances carrying a tag.

The provider has no EBS snapshot operator: this one uses the provider's ``EC2Hook`` boto3 client
and EC2's ``snapshot_completed`` waiter, through :mod:`http_trigger.actions.aws.ebs`. Each snapshot
carries the job and volume tags of :mod:`http_trigger.actions.backups`, so "keep the newest N"
deletes only this job's older snapshots of the same volume, never a snapshot someone made by hand.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, field_validator

from http_trigger.actions.aws import ebs
from http_trigger.actions.backups import (
    DATE_PLACEHOLDERS_DOC,
    UserTags,
    check_template,
    keep_newest_field,
    render_template,
    tags_field,
    utc_now,
)
from http_trigger.actions.base import ActionType
from http_trigger.actions.ec2 import EC2ActionOperator
from http_trigger.actions.targets import TargetedParameters, tag_key_field, tag_value_field, wait_field
from http_trigger.field_messages import Rule

if TYPE_CHECKING:
    from airflow.sdk import Context

VOLUME_ID_PATTERN = r"^vol-[0-9a-f]{8,17}$"
_DESCRIPTION_MAX_CHARS = 255
# Placeholders for a volume that is not attached to an instance.
_DETACHED = "-"


class EbsCreateSnapshotsParameters(TargetedParameters):
    """Choose EBS volumes by id or by their instances' tag; describe, tag and rotate their snapshots."""

    ids_field: ClassVar[str] = "volume_ids"
    resources: ClassVar[Rule] = Rule("ebs.volumes", "volumes")

    model_config = ConfigDict(
        title="EBS snapshots",
        json_schema_extra={"examples": [{"tag_key": "Backup", "tag_value": "daily", "keep_newest": 7}]},
    )

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
        volumes = parameters.choose(
            by_ids=lambda volume_ids: ebs.volumes_by_id(self.hook, volume_ids),
            by_tag=lambda tag: ebs.volumes_of_instances_tagged(self.hook, tag),
        )
        now = utc_now()
        descriptions = {volume["VolumeId"]: _description(volume, parameters, now) for volume in volumes}
        snapshots = ebs.create_snapshots(self.hook, descriptions, job=self.dag_id, tags=parameters.tags)
        if not parameters.wait_until_final_state:
            return self.rotate(context, parameters, snapshots=snapshots)
        wait = ebs.snapshots_wait(list(snapshots.values()))
        return self.wait_then(context, parameters, wait, then="rotate", snapshots=snapshots)

    def rotate(
        self, context: Context, parameters: EbsCreateSnapshotsParameters, *, snapshots: dict[str, str]
    ) -> dict[str, Any]:
        """Keep only the newest snapshots of each volume if asked to; return the new ones and what went."""
        summary = {"snapshots": snapshots, "waited": parameters.wait_until_final_state}
        if parameters.keep_newest is None:
            return summary
        deleted = ebs.rotate_snapshots(self.hook, snapshots, job=self.dag_id, keep=parameters.keep_newest)
        return {**summary, "deleted_snapshots": deleted}


def _description(volume: dict[str, Any], parameters: EbsCreateSnapshotsParameters, now: datetime) -> str:
    """Render a volume's snapshot description, naming its first attachment (or ``-`` if detached)."""
    attachment = next(iter(volume.get("Attachments") or []), {})
    return render_template(
        parameters.description_template,
        now,
        volume_id=volume["VolumeId"],
        instance_id=attachment.get("InstanceId", _DETACHED),
        device=attachment.get("Device", _DETACHED),
    )[:_DESCRIPTION_MAX_CHARS]


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="ebs_create_snapshots",
        title="EBS: Create snapshots",
        description=(
            "Snapshot the EBS volumes given by id, or every volume attached to the instances carrying "
            "a tag; tag the snapshots and optionally keep only the newest ones of each volume."
        ),
        operator_class=EBSCreateSnapshotsOperator,
        iam_actions=(
            "ec2:DescribeVolumes",
            "ec2:DescribeInstances",
            "ec2:CreateSnapshot",
            "ec2:CreateTags",
            "ec2:DescribeSnapshots",
            "ec2:DeleteSnapshot",
        ),
    ),
)
