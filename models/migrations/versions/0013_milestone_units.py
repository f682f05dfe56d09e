"""milestone.lead_units / support_units: the units of a milestone's own clause (issue 13)

A numbered item can hold several duties with different owners ("2024年4月中旬，镇安委会有关成员单位
…制定子方案…每月26日前各村居、各部门…报送"); the importer reads each milestone's own units, and
the obligations of that milestone are owed by them, not by every unit of the task. Empty lists:
the milestone is owed by the task's units, as before (existing rows keep that meaning).

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0013"
down_revision = "0008"
branch_labels = None
depends_on = None

_COLUMNS = ("lead_units", "support_units")


def upgrade() -> None:
    # ADD COLUMN in place (no table copy on SQLite: a copy would drop the old table, and with it,
    # through ON DELETE CASCADE, every obligation). The '[]' default fills the existing rows.
    with op.batch_alter_table("milestone") as batch:
        for name in _COLUMNS:
            batch.add_column(
                sa.Column(name, models.types.JSONValue(), nullable=False, server_default="[]")
            )


def downgrade() -> None:
    with op.batch_alter_table("milestone") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
