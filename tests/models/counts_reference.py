"""The reference for the dashboard's counts: the GROUP BY over every obligation that
`models/repo/overview.board` ran before `obligation_count` (migration 0022), and the table's
invariant (one row per key with its exact count, no zero rows)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, text
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from models.directory import Unit
from models.repo.boards import LATE_DAYS, SOON_DAYS
from models.repo.overview import board, fold_board
from models.tables import Obligation, Plan


def old_statement(today: date, by: str) -> Any:
    """`board`'s statement as it was: a GROUP BY over every obligation of the active plans."""
    key = Obligation.plan_id if by == "plan" else Obligation.unit_id
    bucket = case(
        (col(Obligation.due_on) < today - timedelta(days=LATE_DAYS), "late"),
        (col(Obligation.due_on) < today, "slight"),
        (col(Obligation.due_on) <= today + timedelta(days=SOON_DAYS), "soon"),
        else_="later",
    )
    escalated = col(Obligation.escalation_level) >= 2
    return (
        select(key, Obligation.status, escalated, bucket, func.count())  # type: ignore[call-overload]
        .join(Plan, col(Plan.id) == col(Obligation.plan_id))
        .where(col(Plan.status) == "active")
        .group_by(key, Obligation.status, escalated, bucket)
    )


def old_board(session: Session, today: date, *, by: str) -> list[dict[str, Any]]:
    """`board` as it was: two GROUP BYs over every obligation of the active plans."""
    stmt = old_statement(today, by)
    # the same folding of counts into figures as `board` (what changed is where the counts come from)
    acc = fold_board(session.exec(stmt).all())
    if by == "plan":
        names = dict(session.exec(select(Plan.id, Plan.title)).all())
    else:
        names = dict(session.exec(select(Unit.id, Unit.name)).all())
    out = [r | {"name": names.get(r["id"], str(r["id"]))} for r in acc.values()]
    out.sort(key=lambda r: (-r["red"], -r["yellow"], r["name"]))
    return out


def counted(conn: Connection) -> list[tuple[Any, ...]]:
    """What `obligation_count` holds, key order (every row, zero ones too)."""
    rows = conn.execute(
        text(
            "SELECT plan_id, unit_id, status, escalated, due_on, n FROM obligation_count "
            "ORDER BY plan_id, unit_id, status, escalated, due_on"
        )
    ).all()
    return [(p, u, s, bool(e), str(d), n) for p, u, s, e, d, n in rows]


def recount(conn: Connection) -> list[tuple[Any, ...]]:
    """What it must hold: every obligation (of any plan) grouped by the same key."""
    rows = conn.execute(
        text(
            "SELECT plan_id, unit_id, status, escalation_level >= 2 AS e, due_on, count(*) "
            "FROM obligation GROUP BY plan_id, unit_id, status, escalation_level >= 2, due_on "
            "ORDER BY plan_id, unit_id, status, e, due_on"
        )
    ).all()
    return [(p, u, s, bool(e), str(d), n) for p, u, s, e, d, n in rows]


def days_around(dues: list[date]) -> list[date]:
    """Todays that put each due date in every bucket (late, slight, soon, later) and on their edges."""
    out = set()
    for d in dues:
        for shift in (-SOON_DAYS - 1, -SOON_DAYS, -1, 0, 1, LATE_DAYS, LATE_DAYS + 1, 30):
            out.add(d + timedelta(days=shift))
    return sorted(out)


def assert_counts_match(session: Session, days: list[date] | None = None) -> None:
    """The table holds exactly the obligations' counts, and `board` answers as the old GROUP BY
    on each of `days` (default: around every due date stored)."""
    conn = session.connection()
    assert counted(conn) == recount(conn)
    if days is None:
        dues = conn.execute(text("SELECT DISTINCT due_on FROM obligation")).scalars().all()
        days = days_around([d if isinstance(d, date) else date.fromisoformat(d) for d in dues])
    for today in days:
        for by in ("plan", "unit"):
            assert board(session, today, by=by) == old_board(session, today, by=by), (by, today)
