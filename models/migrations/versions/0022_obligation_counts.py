"""obligation_count: the dashboard's counts, kept by triggers on obligation (issue 16)

The office's dashboard (`/office`) counted every obligation of the active plans twice per request
(GROUP BY plan and by unit, with a due-date bucket relative to today): 3.2 s at 1M rows.
`obligation_count` holds how many obligations share (plan_id, unit_id, status, escalated,
due_on), escalated meaning escalation_level >= 2; the dashboard sums its rows by bucket.

The counts are kept by the database itself, in the transaction of every statement that writes
`obligation` (the ORM, the set-based activation and roll-over, raw SQL, cascaded deletes):
- PostgreSQL: statement-level AFTER INSERT / UPDATE / DELETE triggers over the transition tables
  (one grouped upsert per statement, so a 100,000-row `INSERT … SELECT` costs one aggregate, not
  100,000 trigger calls); AFTER TRUNCATE empties the counts.
- SQLite: row triggers (the UPDATE one only when a counted column changes).
A key whose count falls to 0 is deleted (`ix_obligation_count_zero`, normally empty, finds them).
No foreign keys: a plan's delete cascades to its obligations, whose trigger then takes the
counts down (a cascade on the counts as well would race it).

The existing rows are counted here, after the triggers exist, in the same transaction.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

KEY = "plan_id, unit_id, status, escalated, due_on"
# An obligation's key, from a row of `obligation` (or of a transition table / NEW / OLD row).
ROW_KEY = "{r}plan_id, {r}unit_id, {r}status, {r}escalation_level >= 2, {r}due_on"

_UPSERT_PG = f"""
    INSERT INTO obligation_count AS c ({KEY}, n)
    SELECT {KEY}, sum(d) FROM (
        {{rows}}
    ) AS delta
    GROUP BY {KEY} HAVING sum(d) <> 0
    ORDER BY {KEY}
    ON CONFLICT ({KEY}) DO UPDATE SET n = c.n + excluded.n
"""


def _side(table: str, d: int) -> str:
    # the key columns named as obligation_count's (escalated from escalation_level)
    return (
        f"SELECT plan_id, unit_id, status, escalation_level >= 2 AS escalated, due_on, "
        f"{d} AS d FROM {table}"
    )


_PG_FUNCTIONS = {
    "insert": _UPSERT_PG.format(rows=_side("new_rows", 1)),
    "update": _UPSERT_PG.format(rows=_side("old_rows", -1) + " UNION ALL " + _side("new_rows", 1)),
    "delete": _UPSERT_PG.format(rows=_side("old_rows", -1)),
}
_PG_REFERENCING = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
}


def _create_pg() -> None:
    for verb, upsert in _PG_FUNCTIONS.items():
        tidy = "" if verb == "insert" else "DELETE FROM obligation_count WHERE n = 0;"
        op.execute(
            f"CREATE FUNCTION obligation_count_{verb}() RETURNS trigger AS $$ BEGIN "
            f"{upsert}; {tidy} RETURN NULL; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            f"CREATE TRIGGER obligation_count_{verb} AFTER {verb.upper()} ON obligation "
            f"{_PG_REFERENCING[verb]} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION obligation_count_{verb}()"
        )
    op.execute(
        "CREATE FUNCTION obligation_count_truncate() RETURNS trigger AS $$ BEGIN "
        "TRUNCATE obligation_count; RETURN NULL; END; $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE TRIGGER obligation_count_truncate AFTER TRUNCATE ON obligation "
        "FOR EACH STATEMENT EXECUTE FUNCTION obligation_count_truncate()"
    )


def _sqlite_add(row: str, d: int) -> str:
    return (
        f"INSERT INTO obligation_count ({KEY}, n) VALUES ({ROW_KEY.format(r=row + '.')}, {d}) "
        f"ON CONFLICT ({KEY}) DO UPDATE SET n = n + excluded.n;"
    )


def _sqlite_tidy() -> str:
    return (
        "DELETE FROM obligation_count WHERE plan_id = old.plan_id AND unit_id = old.unit_id "
        "AND status = old.status AND escalated = (old.escalation_level >= 2) "
        "AND due_on = old.due_on AND n = 0;"
    )


def _create_sqlite() -> None:
    changed = " OR ".join(
        [f"old.{c} IS NOT new.{c}" for c in ("plan_id", "unit_id", "status", "due_on")]
        + ["(old.escalation_level >= 2) IS NOT (new.escalation_level >= 2)"]
    )
    op.execute(
        "CREATE TRIGGER obligation_count_insert AFTER INSERT ON obligation "
        f"BEGIN {_sqlite_add('new', 1)} END"
    )
    op.execute(
        "CREATE TRIGGER obligation_count_update "
        "AFTER UPDATE OF plan_id, unit_id, status, escalation_level, due_on ON obligation "
        f"WHEN {changed} "
        f"BEGIN {_sqlite_add('old', -1)} {_sqlite_tidy()} {_sqlite_add('new', 1)} END"
    )
    op.execute(
        "CREATE TRIGGER obligation_count_delete AFTER DELETE ON obligation "
        f"BEGIN {_sqlite_add('old', -1)} {_sqlite_tidy()} END"
    )


def upgrade() -> None:
    op.create_table(
        "obligation_count",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", "unit_id", "status", "escalated", "due_on"),
    )
    op.create_index(
        "ix_obligation_count_zero",
        "obligation_count",
        ["plan_id"],
        postgresql_where=sa.text("n = 0"),
        sqlite_where=sa.text("n = 0"),
    )
    if op.get_bind().dialect.name == "postgresql":
        _create_pg()
    else:
        _create_sqlite()
    # The rows already there (the triggers exist now: no write of this transaction is missed;
    # on PostgreSQL, CREATE TRIGGER holds off other writers of obligation until the commit).
    op.execute(
        f"INSERT INTO obligation_count ({KEY}, n) SELECT {ROW_KEY.format(r='')}, count(*) "
        f"FROM obligation GROUP BY {ROW_KEY.format(r='')}"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for verb in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS obligation_count_{verb} ON obligation")
            op.execute(f"DROP FUNCTION IF EXISTS obligation_count_{verb}()")
    else:
        for verb in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS obligation_count_{verb}")
    op.drop_index("ix_obligation_count_zero", table_name="obligation_count")
    op.drop_table("obligation_count")
