"""obligation: 交办, office 催办 again, lead time and roll-over columns (issue 14)

`assign_at` (the 交办 is due then), `chase_requested_at` (the office asked for one more 催办),
`starts_on` (where the lead time starts) and `lapses_on` (a recurring duty's next occurrence).
Existing obligations keep their history: no 交办 is sent for them (assign_at stays NULL); each
occurrence of a recurring duty gets its neighbours' due dates, so the new policy's roll-over and
lead-time rules apply from the next decision; the first occurrence's lead time runs from `since`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = ("assign_at", "chase_requested_at", "starts_on", "lapses_on")

# Same milestone and unit, the neighbouring occurrence (occurrence is the original due date).
_NEXT = """
UPDATE obligation SET lapses_on = (
    SELECT MIN(o2.occurrence) FROM obligation o2
    WHERE o2.milestone_id = obligation.milestone_id AND o2.unit_id = obligation.unit_id
      AND o2.occurrence > obligation.occurrence)
WHERE milestone_id IN (SELECT id FROM milestone WHERE rrule IS NOT NULL)
"""
_PREVIOUS = """
UPDATE obligation SET starts_on = (
    SELECT MAX(o2.occurrence) FROM obligation o2
    WHERE o2.milestone_id = obligation.milestone_id AND o2.unit_id = obligation.unit_id
      AND o2.occurrence < obligation.occurrence)
"""


def upgrade() -> None:
    with op.batch_alter_table("obligation") as batch:
        batch.add_column(
            sa.Column("assign_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("chase_requested_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("lapses_on", sa.Date(), nullable=True))
    op.execute(_NEXT)
    op.execute(_PREVIOUS)


def downgrade() -> None:
    with op.batch_alter_table("obligation") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
