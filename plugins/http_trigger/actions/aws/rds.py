"""RDS DB instances and Aurora DB clusters over the provider's ``RdsHook``, for the RDS and Aurora actions.

Instances and clusters take the same calls under different names (``describe_db_instances`` /
``describe_db_clusters``, ``DBInstanceIdentifier`` / ``DBClusterIdentifier``…): an :class:`RdsKind`
holds those names, so each look-up, snapshot, rotation and wait is written once for both. Waits use
boto's ``db_instance_available``, ``db_cluster_available`` and snapshot waiters, the provider's
own ``db_instance_stopped`` / ``db_cluster_stopped``, and, for a class change (which has no
waiter), one built with the provider's ``BaseBotoWaiter``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError

from http_trigger.actions.backups import JOB_TAG, aws_tags, older_generations
from http_trigger.actions.targets import Tag, listed
from http_trigger.actions.waiting import Wait, WaitLimits, wait_until

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.rds import RdsHook

log = logging.getLogger(__name__)

# States in which a DB instance's class change has failed for good.
_MODIFY_FAILURE_STATES = (
    "failed",
    "deleting",
    "incompatible-parameters",
    "incompatible-network",
    "inaccessible-encryption-credentials",
    "storage-full",
)


@dataclass(frozen=True)
class RdsKind:
    """How RDS names, describes, waits for and snapshots one family of resources."""

    label: str
    plural: str
    describe: str
    items_key: str
    id_key: str
    status_key: str
    id_filter: str
    not_found_code: str
    start: str
    stop: str
    snapshot_label: str
    create_snapshot: str
    describe_snapshots: str
    snapshots_key: str
    snapshot_id_key: str
    snapshot_id_filter: str
    delete_snapshot: str
    snapshot_available_waiter: str

    def names(self, identifiers: Sequence[str]) -> str:
        return f"{self.plural} {listed(identifiers)}"


DB_INSTANCES = RdsKind(
    label="RDS DB instance",
    plural="RDS DB instances",
    describe="describe_db_instances",
    items_key="DBInstances",
    id_key="DBInstanceIdentifier",
    status_key="DBInstanceStatus",
    id_filter="db-instance-id",
    not_found_code="DBInstanceNotFound",
    start="start_db_instance",
    stop="stop_db_instance",
    snapshot_label="RDS DB snapshot",
    create_snapshot="create_db_snapshot",
    describe_snapshots="describe_db_snapshots",
    snapshots_key="DBSnapshots",
    snapshot_id_key="DBSnapshotIdentifier",
    snapshot_id_filter="db-snapshot-id",
    delete_snapshot="delete_db_snapshot",
    snapshot_available_waiter="db_snapshot_available",
)

DB_CLUSTERS = RdsKind(
    label="Aurora DB cluster",
    plural="Aurora DB clusters",
    describe="describe_db_clusters",
    items_key="DBClusters",
    id_key="DBClusterIdentifier",
    status_key="Status",
    id_filter="db-cluster-id",
    not_found_code="DBClusterNotFoundFault",
    start="start_db_cluster",
    stop="stop_db_cluster",
    snapshot_label="Aurora DB cluster snapshot",
    create_snapshot="create_db_cluster_snapshot",
    describe_snapshots="describe_db_cluster_snapshots",
    snapshots_key="DBClusterSnapshots",
    snapshot_id_key="DBClusterSnapshotIdentifier",
    snapshot_id_filter="db-cluster-snapshot-id",
    delete_snapshot="delete_db_cluster_snapshot",
    snapshot_available_waiter="db_cluster_snapshot_available",
)


def describe_one(hook: RdsHook, kind: RdsKind, identifier: str) -> dict[str, Any]:
    """Return one resource's description; a missing one fails naming it and the region."""
    try:
        return getattr(hook.conn, kind.describe)(**{kind.id_key: identifier})[kind.items_key][0]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == kind.not_found_code:
            raise AirflowException(
                f"{kind.label} {identifier} does not exist in {hook.conn_region_name}"
            ) from error
        raise AirflowException(f"Describing {kind.label} {identifier} failed: {error}") from error


def describe(hook: RdsHook, kind: RdsKind, identifiers: list[str]) -> list[dict[str, Any]]:
    """Return the resources' descriptions in the order given; a missing one fails naming it."""
    return [describe_one(hook, kind, identifier) for identifier in identifiers]


def aurora_member(item: dict[str, Any]) -> str | None:
    """Say why a DB instance of an Aurora cluster cannot be started or stopped alone, if it is one."""
    cluster = item.get("DBClusterIdentifier")
    return f"belongs to Aurora DB cluster {cluster}; start or stop the cluster instead" if cluster else None


def tagged(
    hook: RdsHook,
    kind: RdsKind,
    tag: Tag,
    *,
    selects: Callable[[dict[str, Any]], bool] = lambda item: True,
    label: str = "",
) -> list[dict[str, Any]]:
    """Return the resources carrying the tag that ``selects`` keeps, or fail naming the tag.

    RDS has no tag filter on its describe calls, so every resource is read and checked here.
    ``label`` tells in the error which resources a tag may choose, e.g. "(available)".
    """
    pages = hook.conn.get_paginator(kind.describe).paginate()
    items = [item for page in pages for item in page[kind.items_key]]
    chosen = [item for item in items if tag.on(item.get("TagList")) and selects(item)]
    if not chosen:
        raise AirflowException(f"No {kind.label}{f' {label}' if label else ''} is tagged {tag}")
    log.info("%s tagged %s: %s", kind.plural, tag, listed(item[kind.id_key] for item in chosen))
    return chosen


def split_by_state(
    kind: RdsKind,
    items: list[dict[str, Any]],
    *,
    infinitive: str,
    final_state: str | None,
    from_states: tuple[str, ...],
    blocker: Callable[[dict[str, Any]], str | None] = lambda item: None,
) -> tuple[list[str], list[str]]:
    """Return the identifiers to change and those already ``final_state`` (None: none count as done).

    A resource in neither a ``from_states`` nor the final state, or one ``blocker`` gives a reason
    against, fails the action before anything is changed, naming every such resource;
    ``infinitive`` names the change in that error, e.g. "start".
    """
    to_change: list[str] = []
    unchanged: list[str] = []
    blocked: list[str] = []
    for item in items:
        identifier, status = item[kind.id_key], item[kind.status_key]
        if (reason := blocker(item)) is not None:
            blocked.append(f"{identifier} {reason}")
        elif status == final_state:
            unchanged.append(identifier)
        elif status in from_states:
            to_change.append(identifier)
        else:
            blocked.append(f"{identifier} is {status}")
    if blocked:
        raise AirflowException(f"Cannot {infinitive} {kind.plural}: {'; '.join(blocked)}")
    if unchanged:
        log.info("%s are already %s", kind.names(unchanged), final_state)
    return to_change, unchanged


def change_each(kind: RdsKind, identifiers: list[str], change: Callable[[str], Any], *, verb: str) -> None:
    """Ask RDS for ``change`` of each resource in turn; the first refusal fails naming the resource.

    ``verb`` names the change in the log and the error, e.g. "Starting".
    """
    for identifier in identifiers:
        log.info("%s %s %s", verb, kind.label, identifier)
        try:
            change(identifier)
        except ClientError as error:
            raise AirflowException(f"{verb} {kind.label} {identifier} failed: {error}") from error


def start(hook: RdsHook, kind: RdsKind, identifier: str) -> None:
    """Ask RDS to start one stopped resource."""
    getattr(hook.conn, kind.start)(**{kind.id_key: identifier})


def stop(hook: RdsHook, kind: RdsKind, identifier: str) -> None:
    """Ask RDS to stop one available resource."""
    getattr(hook.conn, kind.stop)(**{kind.id_key: identifier})


def reboot_instance(hook: RdsHook, identifier: str, *, force_failover: bool) -> None:
    """Ask RDS to reboot one DB instance, failing over to its standby if ``force_failover``."""
    # ForceFailover is refused for single-AZ instances, so it is sent only when asked for.
    extra = {"ForceFailover": True} if force_failover else {}
    hook.conn.reboot_db_instance(DBInstanceIdentifier=identifier, **extra)


def state_wait(
    kind: RdsKind,
    identifiers: list[str],
    *,
    waiter_name: str,
    final_state: str,
    model: dict[str, Any] | None = None,
    status_args: list[str] | None = None,
) -> Wait:
    """Describe a wait with ``waiter_name`` (boto's, the provider's or ``model``'s) until all are there."""
    return Wait(
        waiter_name=waiter_name,
        args={"Filters": [{"Name": kind.id_filter, "Values": identifiers}]},
        resources=kind.names(identifiers),
        final_state=final_state,
        status_args=status_args or [f"{kind.items_key}[].[{kind.id_key}, {kind.status_key}]"],
        model=model,
    )


def wait_for(
    hook: RdsHook, kind: RdsKind, identifiers: list[str], *, waiter: str, final_state: str, limits: WaitLimits
) -> None:
    """Wait in the worker with boto's or the provider's ``waiter`` until all are ``final_state``."""
    wait_until(
        hook, state_wait(kind, identifiers, waiter_name=waiter, final_state=final_state), limits=limits
    )


def create_snapshots(
    hook: RdsHook, kind: RdsKind, snapshot_ids: Mapping[str, str], *, job: str, tags: Mapping[str, str]
) -> None:
    """Create a manual snapshot of each resource (``snapshot_ids``: source → identifier) as ``job``'s."""
    for source, snapshot_id in snapshot_ids.items():
        log.info("Creating %s %s of %s %s", kind.snapshot_label, snapshot_id, kind.label, source)
        try:
            getattr(hook.conn, kind.create_snapshot)(
                **{kind.id_key: source, kind.snapshot_id_key: snapshot_id},
                Tags=aws_tags(tags, job=job, source=source),
            )
        except ClientError as error:
            raise AirflowException(
                f"Creating {kind.snapshot_label} {snapshot_id} of {kind.label} {source} failed: {error}"
            ) from error


def snapshots_wait(kind: RdsKind, snapshot_ids: list[str]) -> Wait:
    """Describe a wait with boto's snapshot waiter until every snapshot is available."""
    return Wait(
        waiter_name=kind.snapshot_available_waiter,
        args={"Filters": [{"Name": kind.snapshot_id_filter, "Values": snapshot_ids}]},
        resources=f"{kind.snapshot_label}s {listed(snapshot_ids)}",
        final_state="available",
        status_args=[f"{kind.snapshots_key}[].[{kind.snapshot_id_key}, Status]"],
    )


def wait_for_snapshots(hook: RdsHook, kind: RdsKind, snapshot_ids: list[str], *, limits: WaitLimits) -> None:
    """Wait in the worker until every snapshot is available (see :func:`snapshots_wait`)."""
    wait_until(hook, snapshots_wait(kind, snapshot_ids), limits=limits)


def _snapshot_time(snapshot: dict[str, Any]) -> datetime:
    # A snapshot still being created has no time yet: it is among the newest.
    return snapshot.get("SnapshotCreateTime") or datetime.max.replace(tzinfo=timezone.utc)


def rotate_snapshots(
    hook: RdsHook, kind: RdsKind, snapshot_ids: Mapping[str, str], *, job: str, keep: int
) -> list[str]:
    """Keep ``keep`` of ``job``'s manual snapshots per resource, the new ones counted first.

    Return the deleted snapshot identifiers; every resource is tried before a failure is raised.
    """
    deleted: list[str] = []
    failures: list[str] = []
    for source, new_snapshot_id in snapshot_ids.items():
        pages = hook.conn.get_paginator(kind.describe_snapshots).paginate(
            **{kind.id_key: source}, SnapshotType="manual"
        )
        previous = [
            snapshot
            for page in pages
            for snapshot in page[kind.snapshots_key]
            if snapshot[kind.snapshot_id_key] != new_snapshot_id
            and Tag(JOB_TAG, job).on(snapshot.get("TagList"))
        ]
        for snapshot in older_generations(previous, keep=keep, created_at=_snapshot_time):
            snapshot_id = snapshot[kind.snapshot_id_key]
            log.info(
                "Deleting %s %s of %s (beyond the newest %s)", kind.snapshot_label, snapshot_id, source, keep
            )
            try:
                getattr(hook.conn, kind.delete_snapshot)(**{kind.snapshot_id_key: snapshot_id})
            except ClientError as error:
                failures.append(f"{snapshot_id}: {error}")
            else:
                deleted.append(snapshot_id)
    if failures:
        raise AirflowException(
            f"Created {kind.snapshot_label}s {listed(snapshot_ids.values())}, but deleting older ones "
            f"failed: {'; '.join(failures)}"
        )
    return deleted


def instances_to_reclass(items: list[dict[str, Any]], db_instance_class: str) -> tuple[list[str], list[str]]:
    """Return the DB instances to move to ``db_instance_class`` and those already on it.

    Only available instances can change class: any other to change fails the action first.
    """
    kind = DB_INSTANCES
    to_change = [item for item in items if item["DBInstanceClass"] != db_instance_class]
    unchanged = [item[kind.id_key] for item in items if item["DBInstanceClass"] == db_instance_class]
    if unchanged:
        log.info("%s are already %s", kind.names(unchanged), db_instance_class)
    blocked = [
        f"{item[kind.id_key]} is {item[kind.status_key]}"
        for item in to_change
        if item[kind.status_key] != "available"
    ]
    if blocked:
        raise AirflowException(f"Only available {kind.plural} can change class: {'; '.join(blocked)}")
    return [item[kind.id_key] for item in to_change], unchanged


def modify_instance_classes(hook: RdsHook, identifiers: list[str], db_instance_class: str) -> None:
    """Change the class of each DB instance now, not in its maintenance window."""
    label = DB_INSTANCES.label
    for identifier in identifiers:
        log.info("Changing the class of %s %s to %s", label, identifier, db_instance_class)
        try:
            hook.conn.modify_db_instance(
                DBInstanceIdentifier=identifier, DBInstanceClass=db_instance_class, ApplyImmediately=True
            )
        except ClientError as error:
            raise AirflowException(
                f"Changing the class of {label} {identifier} to {db_instance_class} failed: {error}"
            ) from error


def class_applied_model(db_instance_class: str) -> dict[str, Any]:
    """Build a waiter model for "every instance available on ``db_instance_class``, nothing pending".

    Right after ModifyDBInstance an instance may still say ``available`` with the change pending,
    so boto's ``db_instance_available`` would return before the change has even started.
    """
    pending = (
        f"DBInstances[?DBInstanceStatus != 'available' || DBInstanceClass != '{db_instance_class}' "
        "|| PendingModifiedValues.DBInstanceClass]"
    )
    status = "DBInstances[].DBInstanceStatus"
    failures = [
        {"matcher": "pathAny", "argument": status, "expected": state, "state": "failure"}
        for state in _MODIFY_FAILURE_STATES
    ]
    model = {
        "version": 2,
        "waiters": {
            "db_instance_class_applied": {
                "operation": "DescribeDBInstances",
                "delay": 30,
                "maxAttempts": 60,
                "acceptors": [
                    {
                        "matcher": "path",
                        "argument": f"length({pending}) == `0`",
                        "expected": True,
                        "state": "success",
                    },
                    *failures,
                ],
            }
        },
    }
    return model


def class_wait(identifiers: list[str], db_instance_class: str) -> Wait:
    """Describe a wait until every DB instance is available on ``db_instance_class``, nothing pending."""
    kind = DB_INSTANCES
    return state_wait(
        kind,
        identifiers,
        waiter_name="db_instance_class_applied",
        final_state=f"available as {db_instance_class}",
        model=class_applied_model(db_instance_class),
        status_args=[f"DBInstances[].[{kind.id_key}, {kind.status_key}, DBInstanceClass]"],
    )


def wait_for_class(
    hook: RdsHook, identifiers: list[str], db_instance_class: str, *, limits: WaitLimits
) -> None:
    """Wait in the worker until the class is applied everywhere (see :func:`class_wait`)."""
    wait_until(hook, class_wait(identifiers, db_instance_class), limits=limits)
