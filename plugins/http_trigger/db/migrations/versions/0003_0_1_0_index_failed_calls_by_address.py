"""The call log's address index leads with the outcome too, so the failed-token throttle reads only failed calls.

The throttle counts an address's calls that failed the token in the last window. Indexed by address
and time alone, that count read every call the address made in the window (thousands a minute for
a busy caller, each fetched to check its outcome) on every trigger call; with the outcome in the
index it reads the failed ones only.

Written by hand to match ``http_trigger.db.models`` exactly; the migration test compares the two
with Alembic's autogenerate.

Revision ID: 8c2a4f6e1b37
Revises: 3f7b2d8e5c10
Create Date: 2026-12-07 00:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "8c2a4f6e1b37"
down_revision = "3f7b2d8e5c10"
branch_labels = None
depends_on = None
http_trigger_version = "0.1.0"


def upgrade() -> None:
    """Index the call log by address, outcome and time."""
    op.drop_index("idx_http_trigger_call_source_address_called_at", table_name="http_trigger_call")
    op.create_index(
        "idx_http_trigger_call_source_address_outcome_called_at",
        "http_trigger_call",
        ["source_address", "outcome", "called_at"],
        unique=False,
    )


def downgrade() -> None:
    """Index the call log by address and time again."""
    op.drop_index("idx_http_trigger_call_source_address_outcome_called_at", table_name="http_trigger_call")
    op.create_index(
        "idx_http_trigger_call_source_address_called_at",
        "http_trigger_call",
        ["source_address", "called_at"],
        unique=False,
    )
