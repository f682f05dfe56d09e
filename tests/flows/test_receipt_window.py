"""再次交办 reads the 交办/督办 sent in its look-back window only (flows/receipts.LOOKBACK), by the
partial index of migration 0021; a message sent before the window is not read any more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from flows.receipts import LOOKBACK, first_sent_query
from tests.models.test_queue_sheet_migration import PARENTS

NOW = datetime(2024, 9, 30, 1, 30, tzinfo=UTC)


def _delivery(conn: object, i: int, stage: str, status: str, sent: datetime) -> None:
    conn.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO delivery (key, batch, obligation_id, stage, seq, channel_type, recipient,"
            " status, attempts, permanent, reclaims, created_at, sent_at) VALUES (:k, 'b', :i,"
            " :stage, 's', 'email', 'a@b', :status, 1, false, 0, :t, :t)"
        ),
        {"k": f"k{i}{stage}{status}", "i": i, "stage": stage, "status": status, "t": sent},
    )


def test_it_reads_the_window_of_unsigned_messages_only(engine: Engine) -> None:
    t = "2024-09-01 01:05:00+00:00"
    before = NOW - timedelta(days=2)
    with engine.begin() as conn:
        for sql in PARENTS:
            conn.execute(text(sql), {"t": t})
        for i in range(1, 7):
            conn.execute(
                text(
                    "INSERT INTO obligation (id, plan_id, task_id, milestone_id, unit_id,"
                    " occurrence, role, due_on, due_at, status, escalation_level,"
                    " needs_confirmation, created_at, updated_at, version) VALUES (:i, 1, 1, 1,"
                    " 1, :d, 'lead', :d, :t, 'open', 0, false, :t, :t, 0)"
                ),
                {"i": i, "d": f"2024-10-0{i}", "t": t},
            )
        _delivery(conn, 1, "assign", "sent", before - timedelta(days=3))  # in the window
        _delivery(conn, 2, "office", "sent", before - timedelta(hours=1))  # in the window
        _delivery(conn, 3, "assign", "sent", before - LOOKBACK - timedelta(days=1))  # too old
        _delivery(conn, 4, "assign", "sent", before + timedelta(hours=1))  # not late yet
        _delivery(conn, 5, "assign", "failed", before - timedelta(days=3))  # never delivered
        _delivery(conn, 6, "assign", "sent", before - timedelta(days=3))  # 签收 below
        conn.execute(
            text("INSERT INTO receipt (obligation_id, by, via, at) VALUES (6, 'u', 'portal', :t)"),
            {"t": t},
        )
    with Session(engine) as s:
        got = {(ob, stage) for ob, stage, _ in s.exec(first_sent_query(before, before - LOOKBACK))}
        everything = {ob for ob, _, _ in s.exec(first_sent_query(before))}
    assert got == {(1, "assign"), (2, "office")}
    assert everything == {1, 2, 3}
