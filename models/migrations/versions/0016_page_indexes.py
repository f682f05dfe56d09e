"""Indexes for the pages over a million obligations (issue 16)

- `ix_obligation_unit_status_due` (unit_id, status, due_on) replaces `ix_obligation_unit_status`
  (unit_id, status), its prefix: a unit's portal reads its open duties due within the horizon
  and counts the rest from the index alone, instead of visiting each of its rows.
- `ix_obligation_assign_at`: the 交办 still waiting for a 签收 after the policy's `receipt_days`
  are found by their 交办 time.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_obligation_unit_status_due", "obligation", ["unit_id", "status", "due_on"]
    )
    op.drop_index("ix_obligation_unit_status", table_name="obligation")
    op.create_index("ix_obligation_assign_at", "obligation", ["assign_at"])


def downgrade() -> None:
    op.drop_index("ix_obligation_assign_at", table_name="obligation")
    op.create_index("ix_obligation_unit_status", "obligation", ["unit_id", "status"])
    op.drop_index("ix_obligation_unit_status_due", table_name="obligation")
