"""periodic_job: the periodic jobs' own schedule state (issue 15)

The monthly report cycle, the office's daily digest and the leaders' weekly summary are due by
their `next_run_at` on the logical clock (schedules/periodic.py), so `duban tick` (cron, drills with
DUBAN_NOW) runs them as the service does, once each, and once after downtime. No rows: each job's
row is written on its first decision.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "periodic_job",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_run_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("periodic_job")
