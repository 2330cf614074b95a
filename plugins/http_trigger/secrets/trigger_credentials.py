"""Issue, look up, rotate and retire the per-job trigger secrets: a random URL id and an access token.

Every function takes a SQLAlchemy ``session`` and leaves committing to the caller, so a secret and
the job file that needs it can succeed or fail together (:mod:`http_trigger.jobs_service` orders
the two). The token is kept twice: encrypted with Airflow's Fernet key so the job page can show it
again, and as a SHA-256 digest so checking a trigger call needs no decryption and compares in
constant time. Nothing here logs a token or URL id.

A registration row is also the lock of its job: writers take it with ``SELECT ... FOR UPDATE``
(:func:`registration`), so two API servers never interleave their changes of one job.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from airflow.models.crypto import get_fernet
from airflow.sdk.timezone import utcnow
from cryptography.fernet import InvalidToken
from sqlalchemy import and_, false, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite

from http_trigger.db.models import JobRegistration
from http_trigger.errors import HttpTriggerError, JobConflictError, JobDeletedError, JobNotFoundError

if TYPE_CHECKING:
    from collections.abc import Collection

    from sqlalchemy import ColumnElement, Row
    from sqlalchemy.orm import Session

SECRET_BYTES = 24  # 192 random bits each for the URL id and the token; 32 URL-safe characters.
# Signing secrets in the Standard Webhooks form: "whsec_" and 32 random bytes in base64.
SIGNING_SECRET_PREFIX = "whsec_"
SIGNING_SECRET_BYTES = 32
# The dialects whose INSERT can skip an existing row atomically (ON CONFLICT DO NOTHING).
_INSERT_BY_DIALECT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}

# Compared against when the URL id is unknown, so a miss costs what a wrong token costs.
_DUMMY_DIGEST = hashlib.sha256(b"http-trigger: no such url id").hexdigest()
# What a URL id can look like (secrets.token_urlsafe, at most the column's width): anything else,
# a NUL character say, which PostgreSQL refuses in any text, is no URL id and never queried.
_URL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class IssuedSecret:
    """A job's current trigger secrets, as shown on its detail page.

    ``previous_valid_until`` is set while the URL and token a rotation replaced still work.
    """

    job_id: int
    url_id: str = field(repr=False)
    token: str = field(repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    previous_valid_until: datetime | None = field(default=None, repr=False)


class Registration(Enum):
    """Where a job id stands in the registration table."""

    NONE = "none"  # never registered: a new id, or a spec written by hand not looked at yet
    LIVE = "live"
    DELETED = "deleted"  # retired for good: its secrets are gone and the id is never reused


def register_job(*, session: Session, job_id: int | None = None) -> IssuedSecret:
    """Register a job with fresh secrets: under a new id, or under ``job_id`` if it was never registered.

    Ids are never reused, even after a delete.
    """
    if job_id is None:
        row = JobRegistration()
        _issue(row)
        session.add(row)
        session.flush()
        return _secret_of(row)
    if not claim_job_id(session=session, job_id=job_id):
        if registration(session=session, job_id=job_id) is Registration.DELETED:
            raise JobDeletedError(job_id)
        raise JobConflictError(f"Job {job_id} already exists")
    return _secret_of(_live_row(session, job_id))


def claim_job_id(*, session: Session, job_id: int) -> bool:
    """Register ``job_id`` with fresh secrets unless it has a registration; return whether this call did.

    It is one ``INSERT ... ON CONFLICT DO NOTHING``, so concurrent callers never both insert nor
    fail: on PostgreSQL a second INSERT of the same id waits for the first transaction to end,
    then inserts nothing.
    """
    dialect = session.get_bind().dialect.name
    insert = _INSERT_BY_DIALECT.get(dialect)
    if insert is None:
        raise HttpTriggerError(f"Registering a job id needs a PostgreSQL or SQLite metadata database, not {dialect}")
    statement = (
        insert(JobRegistration.__table__)
        .values(id=job_id, **_fresh_secret_columns())
        .on_conflict_do_nothing(index_elements=["id"])
    )
    inserted = session.execute(statement).rowcount == 1
    if inserted:
        _keep_id_sequence_ahead(session)
    return inserted


def registration(*, session: Session, job_id: int, lock: bool = False) -> Registration:
    """Return where ``job_id`` stands; with ``lock``, hold its row until the transaction ends.

    The lock is PostgreSQL's ``FOR UPDATE``: a second writer of the same job waits here, then reads
    the row as the first one committed it. SQLite has no row locks; it lets one writer at a time.
    """
    query = select(JobRegistration).where(JobRegistration.id == job_id)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query.execution_options(populate_existing=True))
    if row is None:
        return Registration.NONE
    return Registration.DELETED if row.deleted_at is not None else Registration.LIVE


def deleted_job_ids(*, session: Session) -> set[int]:
    """Return the ids of every deleted job: a spec file under one of them is a leftover."""
    return set(session.scalars(select(JobRegistration.id).where(JobRegistration.deleted_at.is_not(None))))


def get_secrets(*, session: Session, job_ids: Collection[int]) -> dict[int, IssuedSecret]:
    """Return the decrypted secrets of the live jobs among ``job_ids``, in one query.

    A page of fifty jobs then costs one query, not fifty; a job missing from the answer is read
    alone (:func:`get_secret`), as unknown, deleted or not issued yet.
    """
    if not job_ids:
        return {}
    rows = session.scalars(
        select(JobRegistration).where(
            JobRegistration.id.in_(job_ids),
            JobRegistration.deleted_at.is_(None),
            JobRegistration.url_id.is_not(None),
            JobRegistration.token_encrypted.is_not(None),
        )
    )
    return {row.id: _secret_of(row) for row in rows}


def get_secret(*, session: Session, job_id: int) -> IssuedSecret | None:
    """Return the decrypted secrets of a live job, or None for an unknown or deleted one."""
    row = session.get(JobRegistration, job_id)
    if row is None or row.deleted_at is not None:
        return None
    return _secret_of(row)


def rotate(*, session: Session, job_id: int, grace: timedelta = timedelta(0)) -> IssuedSecret:
    """Replace both the URL id and the token; the old pair keeps matching for ``grace``, then never again.

    With no grace the old pair stops matching as soon as this commits. A pair kept from an earlier
    rotation is dropped either way: only the last one replaced can overlap the new one.
    """
    row = _live_row(session, job_id)
    now = utcnow()
    if grace > timedelta(0):
        row.previous_url_id, row.previous_token_sha256 = row.url_id, row.token_sha256
        row.previous_signing_secret_encrypted = row.signing_secret_encrypted
        row.previous_valid_until = now + grace
    else:
        _forget_previous(row)
    _issue(row)
    row.rotated_at = now
    session.flush()
    return _secret_of(row)


def _forget_previous(row: JobRegistration) -> None:
    row.previous_url_id = row.previous_token_sha256 = row.previous_valid_until = None
    row.previous_signing_secret_encrypted = None


# What a trigger call needs of a registration row to tell whether its token matches.
CREDENTIAL_COLUMNS = (
    JobRegistration.id,
    JobRegistration.url_id,
    JobRegistration.token_sha256,
    JobRegistration.previous_token_sha256,
)


def live_with_url_id(url_id: str, now: datetime) -> ColumnElement[bool]:
    """The condition on a live job's registration whose URL id, or previous one still valid, is ``url_id``.

    A text that cannot be a URL id matches nothing (and is never sent to the database).
    """
    if not _URL_ID.fullmatch(url_id):
        return false()
    return and_(
        or_(
            JobRegistration.url_id == url_id,
            and_(JobRegistration.previous_url_id == url_id, JobRegistration.previous_valid_until > now),
        ),
        JobRegistration.deleted_at.is_(None),
    )


def matching_job_id(row: Row | None, url_id: str, token: str) -> int | None:
    """Return the job id of ``row`` (:data:`CREDENTIAL_COLUMNS`, or all None) when ``token`` is its token.

    Each call hashes and compares once, a missing row against a dummy digest, so an unknown URL id,
    a wrong token and a deleted job cost the same.
    """
    job_id = row.id if row is not None else None
    expected = _DUMMY_DIGEST
    if job_id is not None:
        expected = (row.token_sha256 if row.url_id == url_id else row.previous_token_sha256) or _DUMMY_DIGEST
    matches = hmac.compare_digest(_digest(token), expected)
    return job_id if matches else None


def find_job_id(*, session: Session, url_id: str, token: str) -> int | None:
    """Return the id of the live job whose URL id and token both match, else None.

    The same None answers an unknown URL id, a wrong token and a deleted job (:func:`matching_job_id`).
    """
    if not _URL_ID.fullmatch(url_id):
        return None
    row = session.execute(select(*CREDENTIAL_COLUMNS).where(live_with_url_id(url_id, utcnow()))).first()
    return matching_job_id(row, url_id, token)


def unregister(*, session: Session, job_id: int) -> None:
    """Retire a job: its URL id and token stop working, and its id stays reserved forever.

    Unregistering a job that is already deleted does nothing, so a retried delete succeeds.
    """
    row = session.get(JobRegistration, job_id)
    if row is None:
        raise JobNotFoundError(job_id)
    if row.deleted_at is not None:
        return
    row.deleted_at = utcnow()
    row.url_id = None
    row.token_encrypted = None
    row.token_sha256 = None
    row.signing_secret_encrypted = None
    _forget_previous(row)
    session.flush()


def _issue(row: JobRegistration) -> None:
    """Give ``row`` a fresh URL id, token and signing secret."""
    for column, value in _fresh_secret_columns().items():
        setattr(row, column, value)


def _fresh_secret_columns() -> dict[str, str]:
    """Return a new URL id, token and signing secret as stored; the plain secrets live only encrypted."""
    fernet = get_fernet()
    if not fernet.is_encrypted:
        raise HttpTriggerError("[core] fernet_key is empty: set it so trigger tokens are stored encrypted")
    token = secrets.token_urlsafe(SECRET_BYTES)
    signing_secret = SIGNING_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SIGNING_SECRET_BYTES)).decode()
    return {
        "url_id": secrets.token_urlsafe(SECRET_BYTES),
        "token_encrypted": fernet.encrypt(token.encode()).decode(),
        "token_sha256": _digest(token),
        "signing_secret_encrypted": fernet.encrypt(signing_secret.encode()).decode(),
    }


def signing_secrets(*, session: Session, job_id: int) -> list[str]:
    """Return the secrets a signed call of the job may be signed with: the current one, and during a
    rotation's grace the one it replaced. Empty for a job registered before signing secrets existed."""
    row = _live_row(session, job_id)
    encrypted = [row.signing_secret_encrypted]
    if row.previous_valid_until is not None and row.previous_valid_until > utcnow():
        encrypted.append(row.previous_signing_secret_encrypted)
    return [_decrypted(row.id, value) for value in encrypted if value]


def _decrypted(job_id: int, value: str) -> str:
    try:
        return get_fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        raise HttpTriggerError(
            f"The secrets of job {job_id} cannot be decrypted with the configured [core] fernet_key; "
            "rotate the job's secrets to issue new ones"
        ) from None


def _secret_of(row: JobRegistration) -> IssuedSecret:
    """Decrypt the stored secrets; a changed Fernet key is named, never shown as a bare crypto error."""
    if row.url_id is None or row.token_encrypted is None:
        raise JobNotFoundError(row.id)
    previous_valid_until = row.previous_valid_until
    if previous_valid_until is not None and previous_valid_until <= utcnow():
        previous_valid_until = None  # over: nothing to show, and nothing matches it any more
    return IssuedSecret(
        job_id=row.id,
        url_id=row.url_id,
        token=_decrypted(row.id, row.token_encrypted),
        signing_secret=_decrypted(row.id, row.signing_secret_encrypted) if row.signing_secret_encrypted else None,
        previous_valid_until=previous_valid_until,
    )


def _live_row(session: Session, job_id: int) -> JobRegistration:
    """Return the row of a job that exists and is not deleted."""
    row = session.get(JobRegistration, job_id)
    if row is None or row.deleted_at is not None:
        raise JobNotFoundError(job_id)
    return row


def _digest(token: str) -> str:
    """Return the hex SHA-256 of a token, the form kept for lookups."""
    return hashlib.sha256(token.encode()).hexdigest()


def _keep_id_sequence_ahead(session: Session) -> None:
    """Move PostgreSQL's id sequence past an id inserted by hand, so ``register_job`` never collides.

    SQLite's AUTOINCREMENT and MySQL's AUTO_INCREMENT follow explicit ids by themselves;
    a PostgreSQL sequence does not. GREATEST ignores the NULL of a never-used sequence.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('http_trigger_job', 'id'), GREATEST("
            "(SELECT MAX(id) FROM http_trigger_job), "
            "pg_sequence_last_value(pg_get_serial_sequence('http_trigger_job', 'id')::regclass)))"
        )
    )
