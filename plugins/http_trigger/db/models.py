"""Tables the plugin owns in the Airflow metadata DB: trigger secrets, the trigger-call log, idempotency keys.

They sit on their own ``MetaData`` (with Airflow's naming convention, so constraint and index
names look like Airflow's) rather than on Airflow's ``Base``: Airflow's migrations and its
``db check`` then ignore them, and our :mod:`http_trigger.db.manager` migrates them instead.
Change a column here only together with a new revision in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from airflow.models.base import naming_convention
from airflow.utils.sqlalchemy import UtcDateTime
# airflow.utils.timezone is a deprecated alias of this in Airflow 3.3.
from airflow.sdk.timezone import utcnow

metadata = MetaData(naming_convention=naming_convention)


class Base(DeclarativeBase):
    """Declarative base bound to the plugin's own metadata, never to Airflow's."""

    metadata = metadata


class JobRegistration(Base):
    """One job id with its trigger URL id and access token.

    A deleted job keeps its row (``deleted_at`` set, secrets cleared) so its id is never handed
    out again; SQLite's AUTOINCREMENT keeps that true even for the highest id.
    """

    __tablename__ = "http_trigger_job"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url_id: Mapped[str | None] = mapped_column(String(64), unique=True, index=True, nullable=True)
    token_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The URL id and token a rotation replaced, still accepted until previous_valid_until when the
    # job asks for a grace period (``trigger.rotation_grace_seconds``).
    previous_url_id: Mapped[str | None] = mapped_column(String(64), unique=True, index=True, nullable=True)
    previous_token_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    previous_valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The secret signed calls are checked with (Standard Webhooks, ``trigger.require_signature``),
    # Fernet-encrypted like the token, and the one a rotation replaced, during its grace.
    signing_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    previous_signing_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)

    def __repr__(self) -> str:
        # Never show url_id or token: reprs end up in logs and tracebacks.
        return f"<JobRegistration id={self.id} deleted={self.deleted_at is not None}>"


class TriggerCall(Base):
    """One call of a trigger URL, whatever its outcome.

    It holds neither the token nor the URL id, so the log can be shown to anyone who may see the
    job. ``job_id`` has no foreign key on purpose: recording a call must never fail.
    """

    __tablename__ = "http_trigger_call"
    # A job's calls, and an address's calls of one outcome, newest first: the execution log, the
    # job's rate limit and the failed-token throttle read them.
    __table_args__ = (
        Index("idx_http_trigger_call_job_id_called_at", "job_id", "called_at"),
        Index("idx_http_trigger_call_source_address_outcome_called_at", "source_address", "outcome", "called_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    called_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow, index=True)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    dag_run_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)

    def __repr__(self) -> str:
        return f"<TriggerCall id={self.id} job_id={self.job_id} outcome={self.outcome}>"


class IdempotencyKey(Base):
    """An ``Idempotency-Key`` a caller sent with a trigger call that started a run, and that run.

    A retry with the same key gets the same run back instead of a second one, until the key is
    older than ``[http_trigger] idempotency_ttl``. ``request_sha256`` tells a retry (same
    parameters) from a key reused for another request. Only committed starts leave a row.
    """

    __tablename__ = "http_trigger_idempotency_key"
    __table_args__ = (Index("idx_http_trigger_idempotency_key_created_at", "created_at"),)

    job_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idempotency_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    dag_run_id: Mapped[str] = mapped_column(String(250), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<IdempotencyKey job_id={self.job_id} dag_run_id={self.dag_run_id}>"
