"""Idempotency keys; the call log indexed by job and address; secrets kept in a rotation's grace; signing secrets.

Written by hand to match ``http_trigger.db.models`` exactly; the migration test compares the two
with Alembic's autogenerate.

Revision ID: 3f7b2d8e5c10
Revises: 6a1e0c3b9d42
Create Date: 2026-12-01 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from airflow.utils.sqlalchemy import UtcDateTime

revision = "3f7b2d8e5c10"
down_revision = "6a1e0c3b9d42"
branch_labels = None
depends_on = None
http_trigger_version = "0.1.0"


def upgrade() -> None:
    """Create the table of idempotency keys of started runs."""
    op.create_table(
        "http_trigger_idempotency_key",
        sa.Column("job_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("dag_run_id", sa.String(length=250), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "idempotency_key", name="http_trigger_idempotency_key_pkey"),
    )
    op.create_index(
        "idx_http_trigger_idempotency_key_created_at", "http_trigger_idempotency_key", ["created_at"], unique=False
    )
    with op.batch_alter_table("http_trigger_job") as batch:
        batch.add_column(sa.Column("previous_url_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("previous_token_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("previous_valid_until", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("signing_secret_encrypted", sa.Text(), nullable=True))
        batch.add_column(sa.Column("previous_signing_secret_encrypted", sa.Text(), nullable=True))
    op.create_index(
        "idx_http_trigger_job_previous_url_id", "http_trigger_job", ["previous_url_id"], unique=True
    )
    op.drop_index("idx_http_trigger_call_job_id", table_name="http_trigger_call")
    op.create_index(
        "idx_http_trigger_call_job_id_called_at", "http_trigger_call", ["job_id", "called_at"], unique=False
    )
    op.create_index(
        "idx_http_trigger_call_source_address_called_at",
        "http_trigger_call",
        ["source_address", "called_at"],
        unique=False,
    )


def downgrade() -> None:
    """Drop the table (retries sent afterwards start new runs) and put the call log's index back."""
    op.drop_index("idx_http_trigger_call_source_address_called_at", table_name="http_trigger_call")
    op.drop_index("idx_http_trigger_call_job_id_called_at", table_name="http_trigger_call")
    op.create_index("idx_http_trigger_call_job_id", "http_trigger_call", ["job_id"], unique=False)
    op.drop_index("idx_http_trigger_job_previous_url_id", table_name="http_trigger_job")
    with op.batch_alter_table("http_trigger_job") as batch:
        batch.drop_column("previous_signing_secret_encrypted")
        batch.drop_column("signing_secret_encrypted")
        batch.drop_column("previous_valid_until")
        batch.drop_column("previous_token_sha256")
        batch.drop_column("previous_url_id")
    op.drop_table("http_trigger_idempotency_key")
