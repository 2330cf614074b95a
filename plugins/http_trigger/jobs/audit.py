"""Record every change of a job, and every reveal of its secrets, in Airflow's audit log; read them back.

Airflow's audit log (its ``log`` table, the UI's Browse → Audit Log) is the one store: each
entry names the event, the user (``owner``), the time and the job's DAG, so Airflow shows the
plugin's changes beside its own, under its own permissions, and no table of ours repeats them.
What Airflow has no column for goes in ``extra`` as JSON: the job id, the channel (the pages, the
JSON API or the CLI), the caller's address and the event's details. Details name fields, never
their values, so the audit can be read by anyone allowed to read the job and exported as it is.

An entry is added to the caller's session, so it is committed with the change it records, or not
at all: a service function that commits records the entry before its commit.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Any

from airflow.models.log import Log
from sqlalchemy import func, select

from http_trigger.jobs.spec_names import dag_id_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class JobEvent(StrEnum):
    """What happened to a job; the values are Airflow audit-log events, stored and shown as they are."""

    CREATE = "http_trigger.create"
    UPDATE = "http_trigger.update"
    ENABLE = "http_trigger.enable"
    DISABLE = "http_trigger.disable"
    ROTATE = "http_trigger.rotate"
    DELETE = "http_trigger.delete"
    RUN_NOW = "http_trigger.run_now"
    REVEAL = "http_trigger.reveal"


class DefinitionEvent(StrEnum):
    """What happened to a shared post-processing definition; Airflow audit-log events, like :class:`JobEvent`.

    A definition belongs to no DAG, so its entries name it in ``extra`` (``post_processing``) and
    stay out of every job's own audit; Airflow's Browse → Audit Log shows them.
    """

    CREATE = "http_trigger.post_processing.create"
    UPDATE = "http_trigger.post_processing.update"
    DELETE = "http_trigger.post_processing.delete"


class Channel(StrEnum):
    """Where a change was asked for: the plugin's pages, the JSON API (scripts) or the CLI."""

    PAGE = "page"
    API = "api"
    CLI = "cli"


@dataclass(frozen=True)
class Actor:
    """Who asked for a change, from where (None for the CLI) and through which channel."""

    user_name: str
    channel: Channel
    source_address: str | None = None


# The keys of ``extra`` that every entry has; an event's details come beside them.
_ENTRY_KEYS = ("job_id", "channel", "source_address")
CSV_COLUMNS = ("when", "event", "user", "job_id", "dag_id", "channel", "source_address", "details")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def record(
    session: Session, *, event: JobEvent, actor: Actor, job_id: int, details: Mapping[str, Any] | None = None
) -> Log:
    """Add the audit entry of ``event`` on job ``job_id`` to ``session``; the caller commits it.

    ``details`` must hold names and ids only (changed fields, a run id), never a secret's value:
    the audit is shown to every reader of the job.
    """
    extra = {
        **(details or {}),
        "job_id": job_id,
        "channel": actor.channel.value,
        "source_address": actor.source_address,
    }
    entry = Log(
        event=event.value,
        owner=actor.user_name,
        owner_display_name=actor.user_name,
        dag_id=dag_id_for(job_id),
        extra=json.dumps(extra),
    )
    session.add(entry)
    return entry


def record_definition_change(
    session: Session,
    *,
    event: DefinitionEvent,
    actor: Actor,
    name: str,
    details: Mapping[str, Any] | None = None,
) -> Log:
    """Add the audit entry of ``event`` on definition ``name`` to ``session``; the caller commits it.

    As :func:`record`, ``details`` hold names only (the changed fields, the jobs re-parsed), never a value.
    """
    extra = {
        **(details or {}),
        "post_processing": name,
        "channel": actor.channel.value,
        "source_address": actor.source_address,
    }
    entry = Log(
        event=event.value, owner=actor.user_name, owner_display_name=actor.user_name, extra=json.dumps(extra)
    )
    session.add(entry)
    return entry


def _by_key(value: Any) -> Mapping[str, Any] | None:
    """Return a mapping or a list as a mapping (a list by index), anything else as None."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    return None


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Return the dotted paths of the fields whose value differs, in ``after``'s order, then removed ones.

    Paths are those of the masked fields (``post_processing.on_failure.0.parameters.authorization``);
    a list that changed length is one field. Only names leave this function, so an update's audit
    says that a secret changed without saying how.
    """
    changed = []
    for key in [*after, *(key for key in before if key not in after)]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        old_fields, new_fields = _by_key(old), _by_key(new)
        same_shape = type(old) is type(new) and (not isinstance(old, list) or len(old) == len(new))
        if old_fields is not None and new_fields is not None and same_shape:
            changed += changed_fields(old_fields, new_fields, f"{prefix}{key}.")
        else:
            changed.append(f"{prefix}{key}")
    return changed


@dataclass(frozen=True)
class AuditEntry:
    """One audit entry of a job as read back; ``details`` is what the event recorded besides."""

    when: datetime
    event: JobEvent
    user: str | None
    job_id: int | None
    dag_id: str | None
    channel: str | None
    source_address: str | None
    details: dict[str, Any] = field(default_factory=dict)


def _entry(row: Log) -> AuditEntry:
    try:
        extra = json.loads(row.extra or "{}")
    except ValueError:
        extra = {}  # written by someone else than this module: show what Airflow's columns hold
    if not isinstance(extra, dict):
        extra = {}
    job_id = extra.get("job_id")
    return AuditEntry(
        when=row.dttm,
        event=JobEvent(row.event),
        user=row.owner_display_name or row.owner,
        job_id=job_id if isinstance(job_id, int) else None,
        dag_id=row.dag_id,
        channel=extra.get("channel"),
        source_address=extra.get("source_address"),
        details={key: value for key, value in extra.items() if key not in _ENTRY_KEYS},
    )


def job_audit_entries(
    *,
    session: Session,
    job_id: int | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Return one page of the audit entries of job ``job_id`` (of every job if None), newest first, and their total.

    ``since`` keeps the entries made at or after it. A deleted job's entries stay readable.
    """
    query = select(Log).where(Log.event.in_([event.value for event in JobEvent]))
    if job_id is not None:
        query = query.where(Log.dag_id == dag_id_for(job_id))
    if since is not None:
        query = query.where(Log.dttm >= since)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(Log.dttm.desc(), Log.id.desc()).offset(offset).limit(limit)
    return [_entry(row) for row in session.scalars(page)], total


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def write_csv(entries: Iterable[AuditEntry], out: IO[str]) -> None:
    """Write ``entries`` as CSV with a header row; ``details`` as JSON, times in ISO 8601 (UTC)."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        details = json.dumps(entry.details, sort_keys=True) if entry.details else ""
        row = (
            entry.when.isoformat(),
            entry.event.value,
            entry.user,
            entry.job_id,
            entry.dag_id,
            entry.channel,
            entry.source_address,
            details,
        )
        writer.writerow([_cell(value) for value in row])
