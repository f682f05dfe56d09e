"""paper: numbered 督办单 / 催办单 with their DOCX and PDF; plan.parent_task_id (issue 17)

One row per obligation and escalation action (`seq`): each 督办 issues a 督办单, each second 催办
a 催办单, numbered in order per kind and year; the files are kept as issued so that every resend
attaches the same bytes. `plan.parent_task_id` links a unit's sub-plan (子方案) to the task of the
parent plan it implements (added in place: no foreign key, so SQLite does not copy the table).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.String(length=200), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("docx", sa.LargeBinary(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["obligation_id"], ["obligation.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("obligation_id", "seq", name="uq_paper_action"),
        sa.UniqueConstraint("kind", "year", "number", name="uq_paper_number"),
    )
    op.create_index("ix_paper_obligation_id", "paper", ["obligation_id"])
    with op.batch_alter_table("plan") as batch:
        batch.add_column(sa.Column("parent_task_id", sa.Integer(), nullable=True))
    op.create_index("ix_plan_parent_task_id", "plan", ["parent_task_id"])


def downgrade() -> None:
    op.drop_index("ix_plan_parent_task_id", table_name="plan")
    with op.batch_alter_table("plan") as batch:
        batch.drop_column("parent_task_id")
    op.drop_index("ix_paper_obligation_id", table_name="paper")
    op.drop_table("paper")
