"""``Idempotency-Key``: a caller that retries a trigger call it never got an answer to starts one run, not two.

The key is remembered with the run it started, in the run's own transaction, so "the first call
committed but its answer was lost" and "two calls race" end the same way: one run, and every call
with that key answers with it. The key's row is the lock: a second call inserting the same key
waits for the first one's transaction, then finds its row (or, if the first failed, inserts its
own). A key sent again with other parameters is a caller's mistake (422), not a retry.

Written by hand: Airflow has no idempotency for run creation, and no maintained library offers
one for a database the caller shares with Airflow.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk.timezone import utcnow
from sqlalchemy import delete, select, tuple_
from sqlalchemy.exc import IntegrityError

from http_trigger import settings
from http_trigger.db.models import IdempotencyKey
from http_trigger.errors import IdempotencyKeyReusedError, InvalidIdempotencyKeyError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MAX_KEY_LENGTH = 128
_FORGET_BATCH = 100
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")


def checked_key(key: str | None) -> str | None:
    """Return the key a caller sent (None when none), refusing one that is not 1-128 printable ASCII characters."""
    if key is None:
        return None
    if not 0 < len(key) <= MAX_KEY_LENGTH or not _PRINTABLE_ASCII.fullmatch(key):
        raise InvalidIdempotencyKeyError(
            f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
        )
    return key


def request_digest(parameters: dict[str, Any]) -> str:
    """Digest the parameters of a call, so that a retry matches however its JSON was spaced or ordered."""
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _live(row: IdempotencyKey | None, now: datetime) -> IdempotencyKey | None:
    return row if row is not None and row.created_at > now - settings.idempotency_ttl() else None


def _find(session: Session, job_id: int, key: str) -> IdempotencyKey | None:
    return session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.job_id == job_id, IdempotencyKey.idempotency_key == key)
    )


def _replay(row: IdempotencyKey, digest: str) -> str:
    if row.request_sha256 != digest:
        raise IdempotencyKeyReusedError(
            "This Idempotency-Key was already used for this job with other parameters; "
            "use a new key for a new request",
            job_id=row.job_id,
        )
    return row.dag_run_id


def _forget_expired(session: Session, now: datetime) -> None:
    """Delete expired keys, a bounded batch at a time, skipping rows another call holds.

    Each claim takes a batch along, so the table holds about one TTL's worth of keys without a
    separate clean-up job.
    """
    expired = (
        select(IdempotencyKey.job_id, IdempotencyKey.idempotency_key)
        .where(IdempotencyKey.created_at <= now - settings.idempotency_ttl())
        .limit(_FORGET_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(IdempotencyKey).where(tuple_(IdempotencyKey.job_id, IdempotencyKey.idempotency_key).in_(expired))
    )


def claim(*, session: Session, job_id: int, key: str, digest: str) -> str | None:
    """Claim ``key`` for a new run of ``job_id``; return the run id it already started, if any.

    After None, the caller starts the run and passes its id to :func:`settle` in the same
    transaction; until that transaction ends, a concurrent claim of the key waits.
    """
    now = utcnow()
    existing = _live(_find(session, job_id, key), now)
    if existing is not None:
        return _replay(existing, digest)
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.job_id == job_id,
            IdempotencyKey.idempotency_key == key,
            IdempotencyKey.created_at <= now - settings.idempotency_ttl(),
        )
    )
    _forget_expired(session, now)
    try:
        with session.begin_nested():
            session.add(
                IdempotencyKey(job_id=job_id, idempotency_key=key, request_sha256=digest, dag_run_id="", created_at=now)
            )
    except IntegrityError:
        # A concurrent call holding the same key committed first: its run is the answer.
        won = _find(session, job_id, key)
        if won is None:  # deleted again meanwhile (the job was deleted): let the caller retry
            raise
        return _replay(won, digest)
    return None


def settle(*, session: Session, job_id: int, key: str, dag_run_id: str) -> None:
    """Record the run a claimed key started; it commits (or rolls back) with the run."""
    row = _find(session, job_id, key)
    assert row is not None, "settle() follows a successful claim() in the same transaction"
    row.dag_run_id = dag_run_id
