"""Record every call of a trigger URL, read a job's recent calls back for its execution log, clean old ones.

A call is recorded whatever its outcome, including unknown URL ids (``job_id`` None), so operators
can see who knocks; the token and the URL id are never stored. Committing is left to the caller.

A call refused because the database is unavailable cannot be written then: it waits in
:data:`backlog`, in the API server's memory, until a later call reaches the database (or the
server stops), and is written then with the time it was made.

The record grows by one row per call and ``airflow db clean`` knows only Airflow's tables, so
:func:`delete_calls_before` (``airflow http-trigger calls clean``) removes the calls made before a
date, as ``airflow db clean`` does for runs.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from airflow.sdk.timezone import utcnow
from sqlalchemy import delete, func, select

from http_trigger.db.models import TriggerCall

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

SOURCE_ADDRESS_LENGTH = 64  # the column's size; longer values are cut, because recording must not fail
BACKLOG_LIMIT = 10_000  # calls kept per process while the database is away: a few MB at most
# Rows deleted per transaction by a clean: each batch holds its rows' locks briefly, so trigger calls
# recording themselves meanwhile never wait long.
CLEAN_BATCH = 5_000


class TriggerOutcome(StrEnum):
    """What became of a trigger call; the values are stored and shown as they are."""

    STARTED = "started"
    REPLAYED = "replayed"
    """A retry with an ``Idempotency-Key`` answered with the run an earlier call started."""
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
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
    called_at: datetime | None = None,
) -> TriggerCall:
    """Add one trigger call to the log; an unknown ``outcome`` raises ValueError, so typos never land."""
    call = TriggerCall(
        job_id=job_id,
        source_address=source_address[:SOURCE_ADDRESS_LENGTH] if source_address else source_address,
        status_code=status_code,
        outcome=TriggerOutcome(outcome).value,
        dag_run_id=dag_run_id,
        message=message,
        called_at=called_at or utcnow(),
    )
    session.add(call)
    session.flush()
    return call


@dataclass(frozen=True)
class Call:
    """A trigger call not recorded yet, with the time it was made."""

    job_id: int | None
    source_address: str | None
    status_code: int
    outcome: TriggerOutcome
    message: str | None = None
    called_at: datetime = field(default_factory=utcnow)


def record_calls(*, session: Session, calls: Iterable[Call]) -> None:
    """Add calls made earlier to the log."""
    for call in calls:
        record_call(session=session, **dataclasses.asdict(call))


class CallBacklog:
    """Calls waiting for the database to answer again, shared by the threads of one process.

    Bounded: past ``limit`` the oldest are dropped, and the drop is logged, so a long outage under
    heavy traffic cannot exhaust the server's memory.
    """

    def __init__(self, limit: int) -> None:
        self._calls: deque[Call] = deque()
        self._limit = limit
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._calls)

    def keep(self, calls: Iterable[Call]) -> int:
        """Add ``calls``; return how many are waiting now."""
        with self._lock:
            self._calls.extend(calls)
            dropped = max(0, len(self._calls) - self._limit)
            for _ in range(dropped):
                self._calls.popleft()
            waiting = len(self._calls)
        if dropped:
            log.error("Dropped %d unrecorded trigger calls: more than %d waited for the database", dropped, self._limit)
        return waiting

    def take(self) -> list[Call]:
        """Remove and return every waiting call; give back with :meth:`keep` what could not be written."""
        with self._lock:
            calls = list(self._calls)
            self._calls.clear()
        return calls


backlog = CallBacklog(BACKLOG_LIMIT)


def recent_calls(*, session: Session, job_id: int, limit: int = 50) -> list[TriggerCall]:
    """Return a job's latest calls, newest first."""
    query = (
        select(TriggerCall)
        .where(TriggerCall.job_id == job_id)
        .order_by(TriggerCall.called_at.desc(), TriggerCall.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def count_calls_before(*, session: Session, before: datetime) -> int:
    """Return how many recorded calls were made before ``before``."""
    return session.scalar(select(func.count()).select_from(TriggerCall).where(TriggerCall.called_at < before))


def delete_calls_before(*, session: Session, before: datetime, batch: int = CLEAN_BATCH) -> Iterator[int]:
    """Delete the calls made before ``before``, oldest first, committing each batch; yield each batch's size.

    A run whose call is deleted keeps its run in Airflow; only its caller's address is forgotten.
    """
    while True:
        oldest = (
            select(TriggerCall.id)
            .where(TriggerCall.called_at < before)
            .order_by(TriggerCall.called_at, TriggerCall.id)
            .limit(batch)
        )
        deleted = session.execute(
            delete(TriggerCall).where(TriggerCall.id.in_(oldest.scalar_subquery())).execution_options(
                synchronize_session=False
            )
        ).rowcount
        session.commit()
        if not deleted:
            return
        yield deleted
