"""report_document: the monthly 通报 as a numbered document (issue 17)

Drafted on the first working day of the month per active plan (scope `plan:N`) and for the office
across plans (scope `office`); edited and approved in the console or the CLI; the number (期号) is
given on approval, in order per kind and year. An index on obligation (plan_id, due_on): the
通报 and the 任务清单 read one plan's rows of one month.

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("data", models.types.JSONValue(), nullable=False),
        sa.Column("edits", sa.Integer(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "scope", "period", name="uq_report_document_period"),
        sa.UniqueConstraint("kind", "year", "number", name="uq_report_document_number"),
    )
    op.create_index("ix_report_document_status", "report_document", ["status"])
    op.create_index("ix_obligation_plan_due", "obligation", ["plan_id", "due_on"])


def downgrade() -> None:
    op.drop_index("ix_obligation_plan_due", table_name="obligation")
    op.drop_index("ix_report_document_status", table_name="report_document")
    op.drop_table("report_document")
