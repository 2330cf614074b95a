"""Aurora actions on DB clusters chosen by id or tag: start, stop, snapshot with keep-newest-N.

Same operators as the RDS instance actions (see :mod:`http_trigger.actions.rds` for why the
provider's single-identifier operators are not used), pointed at clusters
(:data:`http_trigger.actions.aws.rds.DB_CLUSTERS`): boto's
``db_cluster_available`` and ``db_cluster_snapshot_available`` waiters and the provider's own
``db_cluster_stopped``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, field_validator

from http_trigger.actions.aws import rds
from http_trigger.actions.aws.rds import DB_CLUSTERS
from http_trigger.actions.backups import DATE_PLACEHOLDERS_DOC, UserTags, keep_newest_field, tags_field
from http_trigger.actions.base import ActionType
from http_trigger.actions.rds import (
    DB_IDENTIFIER_PATTERN,
    RdsSnapshotOperator,
    RdsStateOperator,
    check_snapshot_template,
)
from http_trigger.actions.targets import TargetedParameters, tag_key_field, tag_value_field, wait_field
from http_trigger.field_messages import Rule


class AuroraDbClustersParameters(TargetedParameters):
    """Choose Aurora DB clusters by identifier or by one tag, and whether to wait for their final state."""

    ids_field: ClassVar[str] = "db_cluster_identifiers"
    resources: ClassVar[Rule] = Rule("aurora.db_clusters", "DB clusters")

    model_config = ConfigDict(
        title="Aurora DB clusters",
        json_schema_extra={"examples": [{"db_cluster_identifiers": ["orders-cluster"]}]},
    )

    db_cluster_identifiers: list[Annotated[str, Field(pattern=DB_IDENTIFIER_PATTERN)]] = Field(
        default_factory=list,
        title="DB cluster identifiers",
        description="The DB clusters to act on, e.g. orders-cluster. Leave empty to choose by tag.",
    )
    tag_key: str | None = tag_key_field("DB cluster")
    tag_value: str | None = tag_value_field()
    wait_until_final_state: bool = wait_field(
        "Finish only when every DB cluster is available (start) or stopped (stop)."
    )


class AuroraCreateDbClusterSnapshotParameters(AuroraDbClustersParameters):
    """Choose Aurora DB clusters to snapshot, how to name and tag the snapshots, and how many to keep."""

    model_config = ConfigDict(
        title="Aurora DB cluster snapshots",
        json_schema_extra={"examples": [{"db_cluster_identifiers": ["orders-cluster"], "keep_newest": 7}]},
    )

    wait_until_final_state: bool = wait_field("Finish only when every snapshot is available.")
    snapshot_identifier_template: str = Field(
        default="{db_cluster_id}-{datetime}",
        min_length=1,
        max_length=255,
        title="Snapshot identifier",
        description=(
            f"Identifier of each snapshot, unique in the region. Placeholders: {{db_cluster_id}}, "
            f"{DATE_PLACEHOLDERS_DOC}. Letters, digits and hyphens; starts with a letter."
        ),
    )
    tags: UserTags = tags_field("snapshot")
    keep_newest: int | None = keep_newest_field("manual snapshots", "DB cluster")

    @field_validator("snapshot_identifier_template")
    @classmethod
    def _check_identifier(cls, value: str) -> str:
        return check_snapshot_template(value, "db_cluster_id")


class AuroraStartDbClusterOperator(RdsStateOperator):
    """Start stopped Aurora DB clusters chosen by id or tag and wait until they are available."""

    parameters_model = AuroraDbClustersParameters
    kind = DB_CLUSTERS
    verb = "Starting"
    infinitive = "start"
    final_state = "available"
    from_states = ("stopped",)
    waiter_name = "db_cluster_available"

    def change(self, identifier: str, parameters: Any) -> None:
        rds.start(self.hook, self.kind, identifier)


class AuroraStopDbClusterOperator(AuroraStartDbClusterOperator):
    """Stop available Aurora DB clusters chosen by id or tag and wait until they are stopped."""

    verb = "Stopping"
    infinitive = "stop"
    final_state = "stopped"
    from_states = ("available",)
    # The provider's own waiter (boto has none for a stop).
    waiter_name = "db_cluster_stopped"

    def change(self, identifier: str, parameters: Any) -> None:
        rds.stop(self.hook, self.kind, identifier)


class AuroraCreateDbClusterSnapshotOperator(RdsSnapshotOperator):
    """Snapshot each Aurora DB cluster chosen by id or tag; optionally keep this job's newest N."""

    parameters_model = AuroraCreateDbClusterSnapshotParameters
    kind = DB_CLUSTERS
    id_placeholder = "db_cluster_id"


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="aurora_start_db_cluster",
        title="Aurora: Start DB clusters",
        description=(
            "Start the stopped Aurora DB clusters given by identifier or tag "
            "and wait until they are available."
        ),
        operator_class=AuroraStartDbClusterOperator,
        iam_actions=("rds:DescribeDBClusters", "rds:StartDBCluster"),
    ),
    ActionType(
        name="aurora_stop_db_cluster",
        title="Aurora: Stop DB clusters",
        description=(
            "Stop the available Aurora DB clusters given by identifier or tag "
            "and wait until they are stopped."
        ),
        operator_class=AuroraStopDbClusterOperator,
        iam_actions=("rds:DescribeDBClusters", "rds:StopDBCluster"),
    ),
    ActionType(
        name="aurora_create_db_cluster_snapshot",
        title="Aurora: Create DB cluster snapshots",
        description=(
            "Create a manual snapshot of each Aurora DB cluster given by identifier or tag, and optionally "
            "keep only the newest snapshots this job made of each cluster."
        ),
        operator_class=AuroraCreateDbClusterSnapshotOperator,
        iam_actions=(
            "rds:DescribeDBClusters",
            "rds:CreateDBClusterSnapshot",
            "rds:AddTagsToResource",
            "rds:DescribeDBClusterSnapshots",
            "rds:DeleteDBClusterSnapshot",
        ),
    ),
)
