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

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from airflow.models.log import Log

from http_trigger.job_model import dag_id_for

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
