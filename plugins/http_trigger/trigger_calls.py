"""Record every call of a trigger URL and read a job's recent calls back for its execution log.

A call is recorded whatever its outcome, including unknown URL ids (``job_id`` None), so operators
can see who knocks; the token and the URL id are never stored. Committing is left to the caller.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select

from http_trigger.db.models import TriggerCall

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SOURCE_ADDRESS_LENGTH = 64  # the column's size; longer values are cut, because recording must not fail


class TriggerOutcome(StrEnum):
    """What became of a trigger call; the values are stored and shown as they are."""

    STARTED = "started"
    NOT_FOUND = "not_found"
    PAUSED = "paused"
    INVALID_SPEC = "invalid_spec"
    NOT_READY = "not_ready"
    BUSY = "busy"
    BAD_REQUEST = "bad_request"
    ERROR = "error"


def record_call(
    *,
    session: Session,
    job_id: int | None,
    source_address: str | None,
    status_code: int,
    outcome: TriggerOutcome | str,
    dag_run_id: str | None = None,
    message: str | None = None,
) -> TriggerCall:
    """Add one trigger call to the log; an unknown ``outcome`` raises ValueError, so typos never land."""
    call = TriggerCall(
        job_id=job_id,
        source_address=source_address[:SOURCE_ADDRESS_LENGTH] if source_address else source_address,
        status_code=status_code,
        outcome=TriggerOutcome(outcome).value,
        dag_run_id=dag_run_id,
        message=message,
    )
    session.add(call)
    session.flush()
    return call


def recent_calls(*, session: Session, job_id: int, limit: int = 50) -> list[TriggerCall]:
    """Return a job's latest calls, newest first."""
    query = (
        select(TriggerCall)
        .where(TriggerCall.job_id == job_id)
        .order_by(TriggerCall.called_at.desc(), TriggerCall.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
