"""delivery.channel_id: ON DELETE SET NULL

A unit's channel removed from the directory file (a robot URL corrected, a robot retired) is
deleted; its past deliveries stay, keeping the channel's type and recipient, with no link.
Without this the directory import failed with a foreign-key error once anything had been sent
through the channel.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite's constraints are unnamed: batch mode names them by this convention when it reflects
# the table, so the old one can be dropped by name.
_CONVENTION = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
_SQLITE_NAME = "fk_delivery_channel_id_channel"
_PG_NAME = "delivery_channel_id_fkey"


def _replace(ondelete: str | None) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("delivery", naming_convention=_CONVENTION) as batch:
            batch.drop_constraint(_SQLITE_NAME, type_="foreignkey")
            batch.create_foreign_key(
                _SQLITE_NAME, "channel", ["channel_id"], ["id"], ondelete=ondelete
            )
        return
    op.drop_constraint(_PG_NAME, "delivery", type_="foreignkey")
    op.create_foreign_key(
        _PG_NAME, "delivery", "channel", ["channel_id"], ["id"], ondelete=ondelete
    )


def upgrade() -> None:
    _replace("SET NULL")


def downgrade() -> None:
    _replace(None)
