"""queue_sheet: one 督办单 per unit, level and office day; queue items become its lines (issue 14)

A unit whose duties reach 督办 together (the year-end: 87 items for 14 units on one day of seed
001) is one sheet for the office to take, note and close, not one item per obligation. Queue items
stay one per obligation and level (the reports read them) and point at their sheet. Existing items
are put on sheets by their unit, level and the Shanghai day they were opened; a sheet is open if
any of its lines is.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_SHANGHAI = ZoneInfo("Asia/Shanghai")


def upgrade() -> None:
    op.create_table(
        "queue_sheet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("office_day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notes", models.types.JSONValue(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acked_by", sa.String(length=200), nullable=True),
        sa.Column("acked_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "unit_id", "level", "office_day", name="uq_queue_sheet_unit_level_day"
        ),
    )
    op.create_index("ix_queue_sheet_status", "queue_sheet", ["status"])
    op.create_index("ix_queue_sheet_unit_id", "queue_sheet", ["unit_id"])
    # queue_item has no dependants, so SQLite's batch copy (needed for the foreign key) is safe.
    with op.batch_alter_table("queue_item") as batch:
        batch.add_column(sa.Column("sheet_id", sa.Integer(), nullable=True))
        batch.create_index("ix_queue_item_sheet_id", ["sheet_id"])
        batch.create_foreign_key(
            "fk_queue_item_sheet_id", "queue_sheet", ["sheet_id"], ["id"], ondelete="SET NULL"
        )
    _sheets_for_existing_items()


def _sheets_for_existing_items() -> None:
    conn = op.get_bind()
    item = sa.table(
        "queue_item",
        sa.column("id"),
        sa.column("obligation_id"),
        sa.column("sheet_id"),
        sa.column("level"),
        sa.column("status"),
        sa.column("created_at", models.types.UTCDateTime()),
    )
    ob = sa.table("obligation", sa.column("id"), sa.column("unit_id"))
    sheet = sa.table(
        "queue_sheet",
        sa.column("id"),
        sa.column("unit_id"),
        sa.column("level"),
        sa.column("office_day"),
        sa.column("status"),
        sa.column("notes", models.types.JSONValue()),
        sa.column("created_at", models.types.UTCDateTime()),
    )
    rows = conn.execute(
        sa.select(item.c.id, item.c.level, item.c.status, item.c.created_at, ob.c.unit_id)
        .join(ob, ob.c.id == item.c.obligation_id)
        .order_by(item.c.created_at, item.c.id)
    ).all()
    groups: dict[tuple[int, int, object], list[tuple[int, str, object]]] = {}
    for r in rows:
        at = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC)
        key = (r.unit_id, r.level, at.astimezone(_SHANGHAI).date())
        groups.setdefault(key, []).append((r.id, r.status, at))
    for (unit_id, level, day), lines in groups.items():
        status = "open" if any(s != "resolved" for _, s, _ in lines) else "resolved"
        sheet_id = conn.execute(
            sheet.insert()
            .values(
                unit_id=unit_id,
                level=level,
                office_day=day,
                status=status,
                notes=[],
                created_at=lines[0][2],
            )
            .returning(sheet.c.id)
        ).scalar_one()
        conn.execute(
            item.update()
            .where(item.c.id.in_([i for i, _, _ in lines]))
            .values(sheet_id=sheet_id)
        )


def downgrade() -> None:
    with op.batch_alter_table("queue_item") as batch:
        batch.drop_constraint("fk_queue_item_sheet_id", type_="foreignkey")
        batch.drop_index("ix_queue_item_sheet_id")
        batch.drop_column("sheet_id")
    op.drop_index("ix_queue_sheet_unit_id", table_name="queue_sheet")
    op.drop_index("ix_queue_sheet_status", table_name="queue_sheet")
    op.drop_table("queue_sheet")
