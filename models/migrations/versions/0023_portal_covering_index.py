"""The unit's index covers the plan too (issue 16)

`ix_obligation_unit_status_due_plan` (unit_id, status, due_on, plan_id) replaces
`ix_obligation_unit_status_due` (unit_id, status, due_on), its prefix. The portal counts a
unit's duties beyond the 60-day horizon on active plans only: without plan_id in the index, the
count visited each of those rows in the table (500 heap pages for a unit of 500 rows; 0.9 ms of
the database's CPU per portal page, the most of its four reads); with it, the count is an
index-only scan (0.12 ms). Measured in docs/benchmarks.md.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_obligation_unit_status_due_plan",
        "obligation",
        ["unit_id", "status", "due_on", "plan_id"],
    )
    op.drop_index("ix_obligation_unit_status_due", table_name="obligation")


def downgrade() -> None:
    op.create_index(
        "ix_obligation_unit_status_due", "obligation", ["unit_id", "status", "due_on"]
    )
    op.drop_index("ix_obligation_unit_status_due_plan", table_name="obligation")
