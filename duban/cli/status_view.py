"""What `duban status` reports (read-only), through SQLAlchemy Core.

Moved out of duban/cli/health.py (which keeps `doctor`): `status` is typed all day and starts in well
under a second only without the ORM and Prefect, which health.py's doctor checks import.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from duban import runtime
from duban.fast_db import FastConn
from schedules.clock import OFFICE_TZ, utc_now

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

OVERDUE = ("overdue", "escalated")
CALM = {
    "messages_waiting": 0,
    "messages_failed": 0,
    "messages_sending": 0,
    "messages_repeated": 0,
    "failing_hosts": [],
}


def delivery_state(conn: Connection | FastConn) -> dict[str, Any]:
    """Messages waiting, failed, in flight or repeated, by host (duban/cli/health.py's counts).

    Those counts need the ORM; they are all zero unless some delivery row has failed, is being
    sent or was re-sent after a crash, which one indexed query tells: only then is the ORM loaded.
    """
    if isinstance(conn, FastConn):
        trouble = conn.scalar(
            "SELECT id FROM delivery WHERE status IN ('failed', 'sending') OR reclaims > 0 LIMIT 1"
        )
    else:
        from sqlalchemy import or_, select

        from duban import read_tables as t

        d = t.delivery.c
        trouble = conn.execute(
            select(d.id).where(or_(d.status.in_(("failed", "sending")), d.reclaims > 0)).limit(1)
        ).first()
    if trouble is None:
        return dict(CALM, failing_hosts=[])
    from sqlmodel import Session

    from duban.cli.health import delivery_state as full_state

    with Session(runtime.migrated_engine()) as session:
        return full_state(session)


def collect_status(lease_name: str) -> dict[str, Any]:
    """Last tick, lag, due and overdue counts, queue size, failing channels, leader, calendar years."""
    from schedules.calendar_data import load_calendar

    now = runtime.current_time()
    calendar = load_calendar(runtime.settings().calendar_file)
    with runtime.fast_reading() as fast:
        if isinstance(fast, FastConn):
            return _fast_status(fast, now, lease_name, sorted(calendar.covered_years))
    from sqlalchemy import func, select

    from duban import read_tables as t

    ob = t.obligation.c
    with runtime.reading() as conn:

        def count(*where: Any) -> int:
            return int(conn.execute(select(func.count()).where(*where)).scalar() or 0)

        tick = conn.execute(
            select(t.tick_run.c.now, t.tick_run.c.actions)
            .where(t.tick_run.c.finished_at.is_not(None))
            .order_by(t.tick_run.c.id.desc())
            .limit(1)
        ).first()
        oldest = conn.execute(
            select(func.min(ob.next_action_at)).where(ob.next_action_at <= now)
        ).scalar()
        failing = conn.execute(
            select(t.unit.c.name, t.channel.c.type)
            .join(t.channel, t.channel.c.unit_id == t.unit.c.id)
            .where(t.channel.c.failing.is_(True))
        ).all()
        leader = conn.execute(  # the lease runs on the wall clock, not the pinned one
            select(t.service_lease.c.holder).where(
                t.service_lease.c.name == lease_name, t.service_lease.c.expires_at > utc_now()
            )
        ).scalar()
        periodic = periodic_state(conn, now)
        return {
            "now": now.astimezone(OFFICE_TZ).isoformat(),
            "last_tick": tick.now.astimezone(OFFICE_TZ).isoformat() if tick else None,
            "last_tick_actions": tick.actions if tick else None,
            "lag_seconds": int((now - oldest).total_seconds()) if oldest else 0,
            "due_now": count(ob.next_action_at <= now),
            "overdue": count(ob.status.in_(OVERDUE)),
            "to_confirm": count(ob.status == "to_confirm"),
            "queue_open": count(t.queue_item.c.status.in_(["open", "acked"])),
            "failing_channels": [f"{u}:{kind}" for u, kind in failing],
            "leader": leader,
            "calendar_years": sorted(calendar.covered_years),
            "periodic": periodic,
            **delivery_state(conn),
        }


def _fast_status(
    conn: FastConn, now: datetime, lease_name: str, years: list[int]
) -> dict[str, Any]:
    """`collect_status` in plain SQL (duban/fast_db.py): the same keys and values."""

    def count(sql: str, *params: Any) -> int:
        return int(conn.scalar(f"SELECT count(*) AS n FROM {sql}", params) or 0)

    # Datetimes are compared as the ORM stores them: naive UTC text on SQLite, timestamptz on PG.
    at = _param(conn, now)
    tick = conn.rows(
        "SELECT now, actions FROM tick_run WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
    )
    oldest = conn.scalar(
        "SELECT min(next_action_at) AS next_action_at FROM obligation WHERE next_action_at <= ?",
        (at,),
    )
    failing = conn.rows(
        "SELECT u.name AS name, c.type AS type FROM unit u JOIN channel c ON c.unit_id = u.id "
        "WHERE c.failing IS TRUE"
    )
    leader = conn.scalar(
        "SELECT holder FROM service_lease WHERE name = ? AND expires_at > ?",
        (lease_name, _param(conn, utc_now())),
    )
    return {
        "now": now.astimezone(OFFICE_TZ).isoformat(),
        "last_tick": tick[0]["now"].astimezone(OFFICE_TZ).isoformat() if tick else None,
        "last_tick_actions": tick[0]["actions"] if tick else None,
        "lag_seconds": int((now - oldest).total_seconds()) if oldest else 0,
        "due_now": count("obligation WHERE next_action_at <= ?", at),
        "overdue": count("obligation WHERE status IN ('overdue', 'escalated')"),
        "to_confirm": count("obligation WHERE status = 'to_confirm'"),
        "queue_open": count("queue_item WHERE status IN ('open', 'acked')"),
        "failing_channels": [f"{r['name']}:{r['type']}" for r in failing],
        "leader": leader,
        "calendar_years": years,
        "periodic": periodic_state(conn, now),
        **delivery_state(conn),
    }


def _param(conn: FastConn, at: datetime) -> Any:
    if conn.dialect == "sqlite":  # models/types.py UTCDateTime: naive UTC, SQLAlchemy's format
        from datetime import UTC

        return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return at


def periodic_state(conn: Connection | FastConn, now: Any) -> list[dict[str, Any]]:
    """Each periodic job: its next run, its last run and what that did, and whether it is late
    (its next run passed more than an hour ago: nothing ticks, or the job keeps failing)."""
    from schedules.periodic import JOBS

    if isinstance(conn, FastConn):
        found = conn.rows("SELECT name, next_run_at, last_run_at, last_outcome FROM periodic_job")
        rows: dict[str, Any] = {r["name"]: _Row(**r) for r in found}
    else:
        from sqlalchemy import select

        from duban import read_tables as t

        p = t.periodic_job.c
        rows = {
            r.name: r
            for r in conn.execute(select(p.name, p.next_run_at, p.last_run_at, p.last_outcome))
        }

    def shown(at: Any) -> str | None:
        return at.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M") if at else None

    out = []
    for job in JOBS:
        row = rows.get(job.name)
        out.append(
            {
                "name": job.name,
                "label": job.label,
                "at": job.at.strftime("%H:%M"),
                "next_run_at": shown(row.next_run_at) if row else None,
                "last_run_at": shown(row.last_run_at) if row else None,
                "last_outcome": row.last_outcome if row else "",
                "late": bool(row and row.next_run_at < now - timedelta(hours=1)),
            }
        )
    return out


class _Row:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)
