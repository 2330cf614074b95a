"""Redshift clusters and snapshots over the provider's ``RedshiftHook``, for the Redshift actions.

The provider's pause, resume and snapshot operators each take one cluster when the DAG is built;
a job targets a list or a tag, so clusters are chosen here, paused or resumed one by one, and
waited on with the provider's ``cluster_paused`` / ``cluster_resumed`` waiters and Redshift's own
``snapshot_available`` waiter.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError

from http_trigger.actions.targets import Tag, listed
from http_trigger.actions.waiting import Wait

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.redshift_cluster import RedshiftHook

log = logging.getLogger(__name__)


def clusters_named(hook: RedshiftHook, identifiers: list[str]) -> list[dict[str, Any]]:
    """Return the clusters' descriptions in the order given; an unknown one fails naming it."""
    clusters = []
    for identifier in identifiers:
        try:
            clusters += hook.conn.describe_clusters(ClusterIdentifier=identifier)["Clusters"]
        except hook.conn.exceptions.ClusterNotFoundFault:
            raise AirflowException(f"No Redshift cluster {identifier}") from None
    return clusters


def clusters_tagged(hook: RedshiftHook, tag: Tag) -> list[dict[str, Any]]:
    """Return the clusters carrying the tag, or fail naming the tag."""
    pages = hook.conn.get_paginator("describe_clusters").paginate(TagKeys=[tag.key], TagValues=[tag.value])
    # Redshift matches any of the given keys with any of the given values; check the pair here.
    clusters = [cluster for page in pages for cluster in page["Clusters"] if tag.on(cluster.get("Tags"))]
    if not clusters:
        raise AirflowException(f"No Redshift cluster is tagged {tag}")
    log.info(
        "Redshift clusters tagged %s: %s", tag, listed(cluster["ClusterIdentifier"] for cluster in clusters)
    )
    return clusters


def change_states(
    hook: RedshiftHook,
    clusters: list[dict[str, Any]],
    *,
    change: str,
    verb: str,
    settled_states: tuple[str, ...],
) -> None:
    """Call ``change`` (``pause_cluster``, ``resume_cluster``) on each cluster not in ``settled_states``.

    ``verb`` names the change in the log and the error, e.g. "Pausing"; a cluster already there or
    on its way is left alone.
    """
    for cluster in clusters:
        identifier, status = cluster["ClusterIdentifier"], cluster["ClusterStatus"]
        if status in settled_states:
            log.info("Redshift cluster %s is already %s", identifier, status)
            continue
        log.info("%s Redshift cluster %s (now %s)", verb, identifier, status)
        try:
            getattr(hook.conn, change)(ClusterIdentifier=identifier)
        except ClientError as error:
            raise AirflowException(
                f"{verb} Redshift cluster {identifier} (status {status}) failed: {error}"
            ) from error


def cluster_wait(identifier: str, *, waiter_name: str, final_state: str) -> Wait:
    """Describe a wait with the provider's ``waiter_name`` until the cluster is ``final_state``."""
    return Wait(
        waiter_name=waiter_name,
        args={"ClusterIdentifier": identifier},
        resources=f"Redshift cluster {identifier}",
        final_state=final_state,
        status_args=["Clusters[0].ClusterStatus"],
    )


def snapshot_wait(cluster: str, snapshot: str) -> Wait:
    """Describe a wait with Redshift's ``snapshot_available`` waiter until the snapshot is available."""
    return Wait(
        waiter_name="snapshot_available",
        args={"ClusterIdentifier": cluster, "SnapshotIdentifier": snapshot},
        resources=f"Snapshot {snapshot} of Redshift cluster {cluster}",
        final_state="available",
        status_args=["Snapshots[0].Status"],
    )


def create_snapshot(hook: RedshiftHook, cluster: str, snapshot: str, *, retention_days: int) -> None:
    """Create a manual snapshot of the cluster, or fail naming both."""
    log.info("Creating snapshot %s of Redshift cluster %s", snapshot, cluster)
    try:
        hook.create_cluster_snapshot(
            snapshot_identifier=snapshot, cluster_identifier=cluster, retention_period=retention_days
        )
    except ClientError as error:
        raise AirflowException(
            f"Creating snapshot {snapshot} of Redshift cluster {cluster} failed: {error}"
        ) from error
