"""Redshift actions: pause or resume clusters chosen by id or tag, and snapshot a cluster.

The provider's ``RedshiftPauseClusterOperator`` / ``RedshiftResumeClusterOperator`` /
``RedshiftCreateClusterSnapshotOperator`` each take one cluster when the DAG is built; a job
targets a list or a tag and takes its parameters at run time, so these operators call the
provider's ``RedshiftHook`` through :mod:`http_trigger.actions.aws.redshift` and wait with the
provider's ``cluster_paused`` / ``cluster_resumed`` waiters and Redshift's own ``snapshot_available``
waiter.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from airflow.providers.amazon.aws.hooks.redshift_cluster import RedshiftHook
from pydantic import ConfigDict, Field, field_validator

from http_trigger.actions.aws import redshift
from http_trigger.actions.aws_base import AwsActionOperator
from http_trigger.actions.base import ActionParameters, ActionType
from http_trigger.actions.targets import (
    TargetedParameters,
    tag_key_field,
    tag_value_field,
    wait_field,
)
from http_trigger.field_messages import Rule

if TYPE_CHECKING:
    from airflow.sdk import Context

CLUSTER_ID_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
SNAPSHOT_ID_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"

_ClusterId = Annotated[str, Field(min_length=1, max_length=63, pattern=CLUSTER_ID_PATTERN)]


class RedshiftClustersParameters(TargetedParameters):
    """Choose Redshift clusters by identifier or by one tag, and whether to wait for their final state."""

    ids_field: ClassVar[str] = "cluster_identifiers"
    resources: ClassVar[Rule] = Rule("redshift.clusters", "clusters")

    model_config = ConfigDict(
        title="Redshift clusters",
        json_schema_extra={"examples": [{"cluster_identifiers": ["analytics"]}]},
    )

    cluster_identifiers: list[_ClusterId] = Field(
        default_factory=list,
        title="Cluster identifiers",
        description="The clusters to act on, e.g. analytics-test. Leave empty to choose by tag.",
    )
    tag_key: str | None = tag_key_field("cluster")
    tag_value: str | None = tag_value_field()
    wait_until_final_state: bool = wait_field(
        "Finish only when every cluster is paused (pause) or available (resume)."
    )


_RETENTION_DAYS = Rule("redshift.retention_days", "must be -1 (keep) or from 1 to 3653 days")


class RedshiftSnapshotParameters(ActionParameters):
    """Choose the cluster, the snapshot's name and retention, and whether to wait until it is available."""

    model_config = ConfigDict(
        title="Redshift cluster snapshot",
        json_schema_extra={"examples": [{"cluster_identifier": "analytics", "retention_days": 7}]},
    )

    cluster_identifier: _ClusterId = Field(title="Cluster identifier")
    snapshot_identifier: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=SNAPSHOT_ID_PATTERN,
        title="Snapshot identifier",
        examples=["analytics-before-upgrade"],
        description=(
            "Leave empty for <cluster>-<UTC date>-<time>: a name can be used once, "
            "so a fixed name only suits parameters given at execution."
        ),
    )
    retention_days: int = Field(
        default=-1,
        title="Retention (days)",
        description="Days to keep the manual snapshot, 1 to 3653; -1 keeps it until it is deleted.",
    )
    wait_until_final_state: bool = Field(
        default=True, title="Wait until available", description="Finish only when the snapshot is available."
    )

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value != -1 and not 1 <= value <= 3653:
            raise _RETENTION_DAYS.error()
        return value


class _RedshiftClustersStateOperator(AwsActionOperator[RedshiftHook]):
    """Move Redshift clusters to a state and, optionally, wait until they all reach it."""

    aws_hook_class = RedshiftHook
    ui_color = "#d2a4ff"
    parameters_model: ClassVar[type[RedshiftClustersParameters]] = RedshiftClustersParameters
    # Set by each subclass.
    verb: ClassVar[str]
    final_state: ClassVar[str]
    # Statuses in which nothing needs asking: the cluster is there or on its way.
    settled_states: ClassVar[tuple[str, ...]]
    waiter_name: ClassVar[str]
    # The Redshift call asking for the change, e.g. "pause_cluster".
    change: ClassVar[str]

    def run_action(self, context: Context, parameters: RedshiftClustersParameters) -> dict[str, Any]:
        clusters = parameters.choose(
            by_ids=lambda identifiers: redshift.clusters_named(self.hook, identifiers),
            by_tag=lambda tag: redshift.clusters_tagged(self.hook, tag),
        )
        redshift.change_states(
            self.hook, clusters, change=self.change, verb=self.verb, settled_states=self.settled_states
        )
        identifiers = [cluster["ClusterIdentifier"] for cluster in clusters]
        if not parameters.wait_until_final_state:
            return self.summarize(context, parameters, identifiers=identifiers)
        # The provider's cluster waiters take one cluster each.
        waits = [
            redshift.cluster_wait(identifier, waiter_name=self.waiter_name, final_state=self.final_state)
            for identifier in identifiers
        ]
        return self.wait_each_then(context, parameters, waits, then="summarize", identifiers=identifiers)

    def summarize(
        self, context: Context, parameters: RedshiftClustersParameters, *, identifiers: list[str]
    ) -> dict[str, Any]:
        """Return the clusters and their statuses now."""
        return {
            "cluster_identifiers": identifiers,
            "statuses": {identifier: self.hook.cluster_status(identifier) for identifier in identifiers},
            "waited": parameters.wait_until_final_state,
        }


class RedshiftPauseClustersOperator(_RedshiftClustersStateOperator):
    """Pause Redshift clusters chosen by identifier or tag and wait until they are paused."""

    verb = "Pausing"
    final_state = "paused"
    settled_states = ("paused", "pausing")
    waiter_name = "cluster_paused"
    change = "pause_cluster"


class RedshiftResumeClustersOperator(_RedshiftClustersStateOperator):
    """Resume Redshift clusters chosen by identifier or tag and wait until they are available."""

    verb = "Resuming"
    final_state = "available"
    settled_states = ("available", "resuming")
    waiter_name = "cluster_resumed"
    change = "resume_cluster"


class RedshiftSnapshotClusterOperator(AwsActionOperator[RedshiftHook]):
    """Create a manual snapshot of a Redshift cluster and, optionally, wait until it is available."""

    aws_hook_class = RedshiftHook
    ui_color = "#d2a4ff"
    parameters_model: ClassVar[type[RedshiftSnapshotParameters]] = RedshiftSnapshotParameters

    def run_action(self, context: Context, parameters: RedshiftSnapshotParameters) -> dict[str, Any]:
        cluster = parameters.cluster_identifier
        snapshot = parameters.snapshot_identifier or f"{cluster}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
        redshift.create_snapshot(self.hook, cluster, snapshot, retention_days=parameters.retention_days)
        if not parameters.wait_until_final_state:
            return self.summarize(context, parameters, cluster=cluster, snapshot=snapshot)
        wait = redshift.snapshot_wait(cluster, snapshot)
        return self.wait_then(context, parameters, wait, then="summarize", cluster=cluster, snapshot=snapshot)

    def summarize(
        self, context: Context, parameters: RedshiftSnapshotParameters, *, cluster: str, snapshot: str
    ) -> dict[str, Any]:
        """Return the snapshot and its status now."""
        return {
            "cluster_identifier": cluster,
            "snapshot_identifier": snapshot,
            "status": self.hook.get_cluster_snapshot_status(snapshot),
            "waited": parameters.wait_until_final_state,
        }


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="redshift_pause_cluster",
        title="Redshift: Pause clusters",
        description=(
            "Pause the Redshift clusters given by identifier, or every cluster carrying a tag, "
            "and wait until they are paused."
        ),
        operator_class=RedshiftPauseClustersOperator,
        iam_actions=("redshift:DescribeClusters", "redshift:PauseCluster"),
    ),
    ActionType(
        name="redshift_resume_cluster",
        title="Redshift: Resume clusters",
        description=(
            "Resume the Redshift clusters given by identifier, or every cluster carrying a tag, "
            "and wait until they are available."
        ),
        operator_class=RedshiftResumeClustersOperator,
        iam_actions=("redshift:DescribeClusters", "redshift:ResumeCluster"),
    ),
    ActionType(
        name="redshift_create_cluster_snapshot",
        title="Redshift: Create cluster snapshot",
        description="Create a manual snapshot of a Redshift cluster and wait until it is available.",
        operator_class=RedshiftSnapshotClusterOperator,
        iam_actions=("redshift:CreateClusterSnapshot", "redshift:DescribeClusterSnapshots"),
    ),
)
