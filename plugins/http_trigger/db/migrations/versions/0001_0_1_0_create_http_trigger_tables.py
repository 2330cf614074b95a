"""Create the http_trigger_job and http_trigger_call tables.

Written by hand to match ``http_trigger.db.models`` exactly (names, types, nullability, indexes);
the migration test compares the two with Alembic's autogenerate.

Revision ID: 6a1e0c3b9d42
Revises:
Create Date: 2026-11-28 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from airflow.utils.sqlalchemy import UtcDateTime

revision = "6a1e0c3b9d42"
down_revision = None
branch_labels = None
depends_on = None
http_trigger_version = "0.1.0"


def upgrade() -> None:
    """Create the trigger-secret table and the trigger-call log."""
    op.create_table(
        "http_trigger_job",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("url_id", sa.String(length=64), nullable=True),
        sa.Column("token_encrypted", sa.Text(), nullable=True),
        sa.Column("token_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("rotated_at", UtcDateTime(), nullable=True),
        sa.Column("deleted_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="http_trigger_job_pkey"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_http_trigger_job_url_id", "http_trigger_job", ["url_id"], unique=True)

    op.create_table(
        "http_trigger_call",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("called_at", UtcDateTime(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("source_address", sa.String(length=64), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("dag_run_id", sa.String(length=250), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="http_trigger_call_pkey"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_http_trigger_call_called_at", "http_trigger_call", ["called_at"], unique=False)
    op.create_index("idx_http_trigger_call_job_id", "http_trigger_call", ["job_id"], unique=False)


def downgrade() -> None:
    """Drop both tables (and with them every trigger secret and the call log)."""
    op.drop_table("http_trigger_call")
    op.drop_table("http_trigger_job")
