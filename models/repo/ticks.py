"""The service's own log of ticks (for `duban status`: last tick, lag)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from models.tables import TickRun


def start_tick(*, session: Session, holder: str, now: datetime, started_at: datetime) -> TickRun:
    """Record that a tick began (committed, so a crash mid-tick stays visible)."""
    run = TickRun(holder=holder, now=now, started_at=started_at)
    session.add(run)
    session.commit()
    return run


def finish_tick(
    *,
    session: Session,
    run_id: int,
    finished_at: datetime,
    claimed: int,
    actions: int,
    deliveries: int,
    errors: int = 0,
    note: str = "",
) -> None:
    """Record what the tick did. Commits."""
    run = session.get(TickRun, run_id)
    if run is None:
        return
    run.finished_at, run.claimed, run.actions, run.deliveries = (
        finished_at,
        claimed,
        actions,
        deliveries,
    )
    run.errors, run.note = errors, note[:2000]
    session.commit()


def last_tick(*, session: Session) -> TickRun | None:
    """The most recent finished tick."""
    stmt = (
        select(TickRun)
        .where(col(TickRun.finished_at).is_not(None))
        .order_by(col(TickRun.id).desc())
    )
    return session.exec(stmt.limit(1)).first()
