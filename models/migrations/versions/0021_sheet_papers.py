"""paper per 督办单: paper.sheet_id and paper_item; delivery index for 再次交办 (issue 21)

A 督办单 (and a 催办单) is now issued once per unit and pass, listing every item of the unit that
reached 督办 (or a second 催办) together: `paper_item` holds its lines (obligation, seq), unique per
obligation and action as the paper itself was, and `paper.sheet_id` the queue sheet (督办单 of the
unit, level and day) its lines went on. `paper.obligation_id` / `seq` stay as they were: the
paper's first line. Existing papers (one obligation each) get their one line, and a 督办单 its sheet
(the unit's level-2 sheet of the Shanghai day it was issued), so every old paper reads as before.

`ix_delivery_first_sent` (partial: sent 交办/督办 rows) lets the tick's 再次交办 step read the
messages sent in its look-back window by index instead of scanning every delivery row.

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0021"
down_revision = "0017"
branch_labels = None
depends_on = None

_SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST_SENT_WHERE = "status = 'sent' AND stage IN ('assign', 'office')"


def upgrade() -> None:
    # No foreign key on the added column: SQLite would copy the table (and its files) for one.
    op.add_column("paper", sa.Column("sheet_id", sa.Integer(), nullable=True))
    op.create_index("ix_paper_sheet_id", "paper", ["sheet_id"])
    op.create_table(
        "paper_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["paper.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["obligation_id"], ["obligation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("obligation_id", "seq", name="uq_paper_item_action"),
    )
    op.create_index("ix_paper_item_paper_id", "paper_item", ["paper_id"])
    op.create_index(
        "ix_delivery_first_sent",
        "delivery",
        ["sent_at", "obligation_id", "stage"],
        postgresql_where=sa.text(FIRST_SENT_WHERE),
        sqlite_where=sa.text(FIRST_SENT_WHERE),
    )
    _lines_for_existing_papers()


def _lines_for_existing_papers() -> None:
    conn = op.get_bind()
    paper = sa.table(
        "paper",
        sa.column("id"),
        sa.column("kind"),
        sa.column("obligation_id"),
        sa.column("seq"),
        sa.column("unit_id"),
        sa.column("sheet_id"),
        sa.column("created_at", models.types.UTCDateTime()),
    )
    line = sa.table(
        "paper_item",
        sa.column("paper_id"),
        sa.column("obligation_id"),
        sa.column("seq"),
        sa.column("position"),
    )
    sheet = sa.table(
        "queue_sheet", sa.column("id"), sa.column("unit_id"), sa.column("level"),
        sa.column("office_day"),
    )  # fmt: skip
    rows = conn.execute(sa.select(paper)).all()
    if not rows:
        return
    conn.execute(
        sa.insert(line),
        [{"paper_id": r.id, "obligation_id": r.obligation_id, "seq": r.seq, "position": 0}
         for r in rows],
    )  # fmt: skip
    for r in rows:
        if r.kind != "office" or r.unit_id is None:
            continue
        day = r.created_at.astimezone(UTC).astimezone(_SHANGHAI).date()
        found = conn.execute(
            sa.select(sheet.c.id).where(
                sheet.c.unit_id == r.unit_id, sheet.c.level == 2, sheet.c.office_day == day
            )
        ).first()
        if found is not None:
            conn.execute(sa.update(paper).where(paper.c.id == r.id).values(sheet_id=found[0]))


def downgrade() -> None:
    op.drop_index("ix_delivery_first_sent", table_name="delivery")
    op.drop_index("ix_paper_item_paper_id", table_name="paper_item")
    op.drop_table("paper_item")
    op.drop_index("ix_paper_sheet_id", table_name="paper")
    with op.batch_alter_table("paper") as batch:
        batch.drop_column("sheet_id")
