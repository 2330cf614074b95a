"""RDS actions on DB instances chosen by id or tag: start, stop, reboot, snapshot, change class.

The provider's ``RdsStartDbOperator``, ``RdsStopDbOperator`` and ``RdsCreateDbSnapshotOperator``
take one identifier fixed when the DAG is parsed, and Airflow 3's task runner flags an operator
executed from inside another; a job's targets are only known when it runs (a list, a tag, or the
trigger's JSON body). These operators therefore make the same calls through the provider's
``RdsHook`` and wait with the same waiters, through :mod:`http_trigger.actions.aws.rds`. The
operator bases here are shared with the Aurora cluster actions (``aurora.py``), pointed at
another :class:`~http_trigger.actions.aws.rds.RdsKind`.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from airflow.providers.amazon.aws.hooks.rds import RdsHook
from airflow.sdk.exceptions import AirflowException
from pydantic import ConfigDict, Field, field_validator

from http_trigger.actions.aws import rds
from http_trigger.actions.aws.rds import DB_INSTANCES, RdsKind
from http_trigger.actions.aws_base import AwsActionOperator
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
from http_trigger.actions.targets import (
    TargetedParameters,
    tag_key_field,
    tag_value_field,
    wait_field,
)
from http_trigger.field_messages import Rule

if TYPE_CHECKING:
    from airflow.sdk import Context

DB_IDENTIFIER_PATTERN = r"^[A-Za-z][A-Za-z0-9-]{0,62}$"
DB_INSTANCE_CLASS_PATTERN = r"^db\.[a-z0-9-]+\.[a-z0-9]+$"
_SNAPSHOT_IDENTIFIER = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)$")


_SNAPSHOT_IDENTIFIER_TEMPLATE = Rule(
    "rds.snapshot_identifier_template",
    "{template} gives identifiers like {sample}; a snapshot identifier starts with a letter "
    "and holds only letters, digits and single hyphens, not ending with one",
)


def check_snapshot_template(template: str, id_placeholder: str) -> str:
    """Refuse a template whose identifiers RDS would refuse (tried on a sample id and date)."""
    check_template(template, (id_placeholder,))
    sample = render_template(template, datetime(2000, 1, 1, tzinfo=timezone.utc), **{id_placeholder: "db"})
    if not _SNAPSHOT_IDENTIFIER.match(sample):
        raise _SNAPSHOT_IDENTIFIER_TEMPLATE.error(template=repr(template), sample=repr(sample))
    return template


class RdsDbInstancesParameters(TargetedParameters):
    """Choose RDS DB instances by identifier or by one tag, and whether to wait for their final state."""

    ids_field: ClassVar[str] = "db_instance_identifiers"
    resources: ClassVar[Rule] = Rule("rds.db_instances", "DB instances")

    model_config = ConfigDict(
        title="RDS DB instances",
        json_schema_extra={"examples": [{"db_instance_identifiers": ["orders-db"]}]},
    )

    db_instance_identifiers: list[Annotated[str, Field(pattern=DB_IDENTIFIER_PATTERN)]] = Field(
        default_factory=list,
        title="DB instance identifiers",
        description="The DB instances to act on, e.g. orders-db. Leave empty to choose by tag.",
    )
    tag_key: str | None = tag_key_field("DB instance")
    tag_value: str | None = tag_value_field()
    wait_until_final_state: bool = wait_field(
        "Finish only when every DB instance is available (start, reboot) or stopped (stop)."
    )


class RdsRebootDbInstanceParameters(RdsDbInstancesParameters):
    """Choose the available RDS DB instances to reboot."""

    model_config = ConfigDict(
        title="RDS DB instances to reboot",
        json_schema_extra={"examples": [{"db_instance_identifiers": ["orders-db"]}]},
    )

    tag_key: str | None = tag_key_field("available DB instance")
    force_failover: bool = Field(
        default=False,
        title="Force failover",
        description="Reboot a Multi-AZ DB instance by failing over to its standby.",
    )


class RdsCreateDbSnapshotParameters(RdsDbInstancesParameters):
    """Choose RDS DB instances to snapshot, how to name and tag the snapshots, and how many to keep."""

    model_config = ConfigDict(
        title="RDS DB snapshots",
        json_schema_extra={"examples": [{"db_instance_identifiers": ["orders-db"], "keep_newest": 7}]},
    )

    wait_until_final_state: bool = wait_field("Finish only when every snapshot is available.")
    snapshot_identifier_template: str = Field(
        default="{db_instance_id}-{datetime}",
        min_length=1,
        max_length=255,
        title="Snapshot identifier",
        description=(
            f"Identifier of each snapshot, unique in the region. Placeholders: {{db_instance_id}}, "
            f"{DATE_PLACEHOLDERS_DOC}. Letters, digits and hyphens; starts with a letter."
        ),
    )
    tags: UserTags = tags_field("snapshot")
    keep_newest: int | None = keep_newest_field("manual snapshots", "DB instance")

    @field_validator("snapshot_identifier_template")
    @classmethod
    def _check_identifier(cls, value: str) -> str:
        return check_snapshot_template(value, "db_instance_id")


class RdsModifyDbInstanceClassParameters(RdsDbInstancesParameters):
    """Choose RDS DB instances and the instance class they should have."""

    model_config = ConfigDict(
        title="RDS DB instance class change",
        json_schema_extra={
            "examples": [{
                "db_instance_identifiers": ["orders-db"],
                "db_instance_class": "db.t3.medium",
            }],
        },
    )

    wait_until_final_state: bool = wait_field(
        "Finish only when every DB instance runs on the new class and is available."
    )
    db_instance_class: str = Field(
        pattern=DB_INSTANCE_CLASS_PATTERN,
        max_length=64,
        title="DB instance class",
        description="The new class, e.g. db.t3.large; applied immediately, not in the maintenance window.",
    )


class RdsActionOperator(AwsActionOperator[RdsHook]):
    """Base of the actions run with the provider's RDS hook on one :class:`RdsKind`."""

    aws_hook_class = RdsHook
    ui_color = "#eeaa88"
    ui_fgcolor = "#ffffff"

    parameters_model: ClassVar[type[TargetedParameters]] = RdsDbInstancesParameters
    kind: ClassVar[RdsKind] = DB_INSTANCES
    # How a tag error names what a tag may choose, e.g. "(available)".
    tag_label: ClassVar[str] = ""

    def tag_selects(self, item: dict[str, Any]) -> bool:
        """Tell whether a tagged resource is one this action works on (all of them by default)."""
        return True

    def resolve(self, parameters: Any) -> list[dict[str, Any]]:
        """Return the descriptions of the chosen resources, or fail naming what is missing."""
        return parameters.choose(
            by_ids=lambda identifiers: rds.describe(self.hook, self.kind, identifiers),
            by_tag=lambda tag: rds.tagged(
                self.hook, self.kind, tag, selects=self.tag_selects, label=self.tag_label
            ),
        )


class RdsStateOperator(RdsActionOperator):
    """Move RDS resources to a state; those already there are left alone, others fail the task first."""

    # Set by each subclass.
    verb: ClassVar[str]
    infinitive: ClassVar[str]
    final_state: ClassVar[str]
    from_states: ClassVar[tuple[str, ...]]
    waiter_name: ClassVar[str]
    # Whether a resource already in the final state counts as done (not for a reboot).
    skip_final_state: ClassVar[bool] = True

    def blocker(self, item: dict[str, Any]) -> str | None:
        """Say why this action cannot run on ``item`` whatever its state, if so."""
        return None

    def run_action(self, context: Context, parameters: Any) -> dict[str, Any]:
        kind = self.kind
        items = self.resolve(parameters)
        identifiers = [item[kind.id_key] for item in items]
        to_change, unchanged = rds.split_by_state(
            kind,
            items,
            infinitive=self.infinitive,
            final_state=self.final_state if self.skip_final_state else None,
            from_states=self.from_states,
            blocker=self.blocker,
        )
        rds.change_each(
            kind, to_change, lambda identifier: self.change(identifier, parameters), verb=self.verb
        )
        state = {"identifiers": identifiers, "changed": to_change, "unchanged": unchanged}
        if not (parameters.wait_until_final_state and to_change):
            return self.summarize(context, parameters, **state)
        wait = rds.state_wait(kind, to_change, waiter_name=self.waiter_name, final_state=self.final_state)
        return self.wait_then(context, parameters, wait, then="summarize", **state)

    def summarize(
        self,
        context: Context,
        parameters: Any,
        *,
        identifiers: list[str],
        changed: list[str],
        unchanged: list[str],
    ) -> dict[str, Any]:
        """Return the resources, those changed, and whether the task waited for them."""
        waited = parameters.wait_until_final_state and bool(changed)
        return {"identifiers": identifiers, "changed": changed, "unchanged": unchanged, "waited": waited}

    def change(self, identifier: str, parameters: Any) -> None:
        """Ask RDS for the change of one resource."""
        raise NotImplementedError


class RdsStartDbInstanceOperator(RdsStateOperator):
    """Start stopped RDS DB instances chosen by id or tag and wait until they are available."""

    verb = "Starting"
    infinitive = "start"
    final_state = "available"
    from_states = ("stopped",)
    waiter_name = "db_instance_available"
    tag_label = "(outside Aurora clusters)"

    def tag_selects(self, item: dict[str, Any]) -> bool:
        return rds.aurora_member(item) is None

    def blocker(self, item: dict[str, Any]) -> str | None:
        return rds.aurora_member(item)

    def change(self, identifier: str, parameters: RdsDbInstancesParameters) -> None:
        rds.start(self.hook, self.kind, identifier)


class RdsStopDbInstanceOperator(RdsStartDbInstanceOperator):
    """Stop available RDS DB instances chosen by id or tag and wait until they are stopped."""

    verb = "Stopping"
    infinitive = "stop"
    final_state = "stopped"
    from_states = ("available",)
    # The provider's own waiter (boto has none for a stop).
    waiter_name = "db_instance_stopped"

    def change(self, identifier: str, parameters: RdsDbInstancesParameters) -> None:
        rds.stop(self.hook, self.kind, identifier)


class RdsRebootDbInstanceOperator(RdsStateOperator):
    """Reboot available RDS DB instances chosen by id or tag and wait until they are available again."""

    parameters_model = RdsRebootDbInstanceParameters
    verb = "Rebooting"
    infinitive = "reboot"
    final_state = "available"
    from_states = ("available",)
    waiter_name = "db_instance_available"
    skip_final_state = False
    tag_label = "(available)"

    def tag_selects(self, item: dict[str, Any]) -> bool:
        return item["DBInstanceStatus"] == "available"

    def change(self, identifier: str, parameters: RdsRebootDbInstanceParameters) -> None:
        rds.reboot_instance(self.hook, identifier, force_failover=parameters.force_failover)


class RdsSnapshotOperator(RdsActionOperator):
    """
    Snapshot RDS resources chosen by id or tag; optionally keep only this job's newest N per resource.

    Snapshots carry the job and source tags of :mod:`http_trigger.actions.backups`; rotation
    looks only at manual snapshots of the same resource carrying this job's tag. It runs once the
    new snapshots exist (after the wait, when waiting).
    """

    # The placeholder naming the source in the identifier template.
    id_placeholder: ClassVar[str]

    def run_action(self, context: Context, parameters: Any) -> dict[str, Any]:
        kind = self.kind
        sources = [item[kind.id_key] for item in self.resolve(parameters)]
        now = utc_now()
        template = parameters.snapshot_identifier_template
        snapshot_ids = {
            source: render_template(template, now, **{self.id_placeholder: source}) for source in sources
        }
        self._check_identifiers(snapshot_ids, template)
        rds.create_snapshots(self.hook, kind, snapshot_ids, job=self.dag_id, tags=parameters.tags)
        if not parameters.wait_until_final_state:
            return self.rotate(context, parameters, snapshot_ids=snapshot_ids)
        wait = rds.snapshots_wait(kind, list(snapshot_ids.values()))
        return self.wait_then(context, parameters, wait, then="rotate", snapshot_ids=snapshot_ids)

    def rotate(self, context: Context, parameters: Any, *, snapshot_ids: dict[str, str]) -> dict[str, Any]:
        """Keep only this job's newest snapshots of each resource if asked to; return the new ones."""
        summary = {"snapshots": snapshot_ids, "waited": parameters.wait_until_final_state}
        if parameters.keep_newest is None:
            return summary
        deleted = rds.rotate_snapshots(
            self.hook, self.kind, snapshot_ids, job=self.dag_id, keep=parameters.keep_newest
        )
        return {**summary, "deleted_snapshots": deleted}

    def _check_identifiers(self, snapshot_ids: dict[str, str], template: str) -> None:
        kind = self.kind
        for source, snapshot_id in snapshot_ids.items():
            if not _SNAPSHOT_IDENTIFIER.match(snapshot_id):
                raise AirflowException(
                    f"Snapshot identifier {snapshot_id!r} for {kind.label} {source} is not valid: a letter "
                    "first, then up to 254 letters, digits and single hyphens, not ending with one"
                )
        if len(set(snapshot_ids.values())) < len(snapshot_ids):
            raise AirflowException(
                f"Snapshot identifier template {template!r} gives {kind.plural} {', '.join(snapshot_ids)} "
                f"the same identifier; add {{{self.id_placeholder}}}"
            )


class RdsCreateDbSnapshotOperator(RdsSnapshotOperator):
    """Create a manual snapshot of each RDS DB instance chosen by id or tag; optionally keep the newest N."""

    parameters_model = RdsCreateDbSnapshotParameters
    id_placeholder = "db_instance_id"


class RdsModifyDbInstanceClassOperator(RdsActionOperator):
    """Change the class of RDS DB instances chosen by id or tag, immediately, and wait until it is applied."""

    parameters_model = RdsModifyDbInstanceClassParameters

    def run_action(self, context: Context, parameters: RdsModifyDbInstanceClassParameters) -> dict[str, Any]:
        new_class = parameters.db_instance_class
        to_change, unchanged = rds.instances_to_reclass(self.resolve(parameters), new_class)
        rds.modify_instance_classes(self.hook, to_change, new_class)
        state = {"changed": to_change, "unchanged": unchanged}
        if not (parameters.wait_until_final_state and to_change):
            return self.summarize(context, parameters, **state)
        wait = rds.class_wait(to_change, new_class)
        return self.wait_then(context, parameters, wait, then="summarize", **state)

    def summarize(
        self,
        context: Context,
        parameters: RdsModifyDbInstanceClassParameters,
        *,
        changed: list[str],
        unchanged: list[str],
    ) -> dict[str, Any]:
        """Return the instances changed and unchanged, and whether the task waited for them."""
        summary = {
            "db_instance_class": parameters.db_instance_class,
            "changed": changed,
            "unchanged": unchanged,
        }
        return {**summary, "waited": parameters.wait_until_final_state and bool(changed)}


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="rds_start_db_instance",
        title="RDS: Start DB instances",
        description=(
            "Start the stopped RDS DB instances given by identifier or tag and wait until they are available."
        ),
        operator_class=RdsStartDbInstanceOperator,
        iam_actions=("rds:DescribeDBInstances", "rds:StartDBInstance"),
    ),
    ActionType(
        name="rds_stop_db_instance",
        title="RDS: Stop DB instances",
        description=(
            "Stop the available RDS DB instances given by identifier or tag and wait until they are stopped."
        ),
        operator_class=RdsStopDbInstanceOperator,
        iam_actions=("rds:DescribeDBInstances", "rds:StopDBInstance"),
    ),
    ActionType(
        name="rds_reboot_db_instance",
        title="RDS: Reboot DB instances",
        description=(
            "Reboot the RDS DB instances given by identifier or tag and wait until they are available."
        ),
        operator_class=RdsRebootDbInstanceOperator,
        iam_actions=("rds:DescribeDBInstances", "rds:RebootDBInstance"),
    ),
    ActionType(
        name="rds_create_db_snapshot",
        title="RDS: Create DB snapshots",
        description=(
            "Create a manual snapshot of each RDS DB instance given by identifier or tag, and optionally "
            "keep only the newest snapshots this job made of each instance."
        ),
        operator_class=RdsCreateDbSnapshotOperator,
        iam_actions=(
            "rds:DescribeDBInstances",
            "rds:CreateDBSnapshot",
            "rds:AddTagsToResource",
            "rds:DescribeDBSnapshots",
            "rds:DeleteDBSnapshot",
        ),
    ),
    ActionType(
        name="rds_modify_db_instance_class",
        title="RDS: Change DB instance class",
        description=(
            "Change the class of the RDS DB instances given by identifier or tag, immediately, and wait "
            "until they are available on the new class."
        ),
        operator_class=RdsModifyDbInstanceClassOperator,
        iam_actions=("rds:DescribeDBInstances", "rds:ModifyDBInstance"),
    ),
)
