"""Migration 0022: the obligations already there are counted; the triggers keep the counts from
then on; a downgrade removes table and triggers (writes work without them)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.migrate import downgrade, upgrade
from tests.models.counts_reference import assert_counts_match, counted, recount
from tests.models.test_queue_sheet_migration import PARENTS

INSERT = (
    "INSERT INTO obligation (id, plan_id, task_id, milestone_id, unit_id, occurrence, role,"
    " due_on, due_at, status, escalation_level, needs_confirmation, created_at, updated_at,"
    " version) VALUES (:i, 1, 1, 1, :u, :d, 'lead', :due, :t, :s, :lvl, false, :t, :t, 0)"
)


def _rows(start: int, count: int) -> list[dict[str, object]]:
    statuses = ("open", "reminded", "escalated", "submitted", "accepted")
    return [
        {"i": i, "u": 1 + i % 2, "d": f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}",
         "due": f"2024-09-{20 + i % 7}", "t": "2024-09-30 01:05:00+00:00",
         "s": statuses[i % 5], "lvl": i % 4}
        for i in range(start, start + count)
    ]  # fmt: skip


def test_it_counts_the_existing_rows_and_keeps_counting(engine: Engine) -> None:
    downgrade(engine, "0021")
    with engine.begin() as conn:
        for sql in PARENTS:
            conn.execute(text(sql), {"t": "2024-09-30 01:05:00+00:00"})
        conn.execute(text(INSERT), _rows(1, 60))
    upgrade(engine)
    with engine.begin() as conn:
        assert sum(r[-1] for r in counted(conn)) == 60
        assert counted(conn) == recount(conn)
        conn.execute(text(INSERT), _rows(61, 10))
        conn.execute(text("UPDATE obligation SET status = 'accepted' WHERE id % 3 = 0"))
    with Session(engine) as s:
        assert_counts_match(s, [date(2024, 9, d) for d in range(10, 31)])
    downgrade(engine, "0021")
    with engine.begin() as conn:  # no trigger left behind to write a missing table
        conn.execute(text("UPDATE obligation SET status = 'open'"))
        conn.execute(text("DELETE FROM obligation WHERE id > 60"))
    upgrade(engine)
    with engine.begin() as conn:
        assert counted(conn) == recount(conn) and sum(r[-1] for r in counted(conn)) == 60
