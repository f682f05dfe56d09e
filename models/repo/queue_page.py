"""The office's queue page in three reads a page each: reports to accept, extensions to answer,
and the 督办单 (督办/通报 sheets, and obligations nobody could be told of).

Each list picks its page from its own table first (the sheets from `queue_sheet` alone: a few
thousand rows, sorted without touching the million obligations), then reads the lines of those
sheets with their obligations' details in one statement. SQLAlchemy Core, no ORM objects. The CLI's `duban
queue list --sheet` (duban/office_views.py) gives the same sheets with their total and offsets.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlmodel import Session

from models.directory import Unit
from models.documents import Paper
from models.labels import LEVEL_LABEL, QUEUE_LEVEL_LABEL, QUEUE_STATUS_LABEL, ROLE_LABEL
from models.repo.boards import waiting_on_office
from models.tables import Milestone, Obligation, Plan, QueueItem, QueueSheet, Task
from schedules.clock import OFFICE_TZ
from schedules.machine import STATUS_LABEL
from schedules.obligation import Status

_Q = QueueItem.__table__.c  # type: ignore[attr-defined]
_SH = QueueSheet.__table__.c  # type: ignore[attr-defined]
_OB = Obligation.__table__  # type: ignore[attr-defined]
_MS = Milestone.__table__  # type: ignore[attr-defined]
_TK = Task.__table__  # type: ignore[attr-defined]
_PL = Plan.__table__  # type: ignore[attr-defined]
_UN = Unit.__table__  # type: ignore[attr-defined]
OPEN_ITEM = ("open", "acked")


@lru_cache(maxsize=16)
def _sheets_stmt(by_level: bool, by_plan: bool, by_unit: bool) -> Any:
    """The page of open 督办单, picked from `queue_sheet` alone (by plan through its lines),
    then joined to the units of those rows only."""
    page = select(_SH.id, _SH.unit_id).where(_SH.status.in_(OPEN_ITEM))
    if by_level:
        page = page.where(_SH.level == bindparam("level"))
    if by_unit:
        page = page.where(_SH.unit_id == bindparam("unit"))
    if by_plan:
        on_plan = (
            select(_Q.sheet_id)
            .join(_OB, _OB.c.id == _Q.obligation_id)
            .where(_OB.c.plan_id == bindparam("plan"), _Q.sheet_id.is_not(None))
        )
        page = page.where(_SH.id.in_(on_plan))
    picked = (
        page.order_by(_SH.level.desc(), _SH.created_at, _SH.id)
        .limit(bindparam("limit"))
        .subquery("picked")
    )
    return (
        select(
            _SH.id,
            _SH.level,
            _SH.status,
            _SH.office_day,
            _SH.notes,
            _SH.acked_by,
            _SH.created_at,
            _UN.c.name.label("unit"),
        )
        .select_from(picked)
        .join(QueueSheet.__table__, _SH.id == picked.c.id)  # type: ignore[attr-defined]
        .join(_UN, _UN.c.id == picked.c.unit_id)
    )


_ob = _OB.c
# A line's own columns and its obligation's, in one read (the unit is the sheet's).
_LINE_COLUMNS = (
    _Q.id.label("queue_id"),
    _Q.sheet_id,
    _Q.status.label("queue_status"),
    _ob.id,
    _ob.plan_id,
    _PL.c.title.label("plan"),
    _TK.c.ref,
    _TK.c.title,
    _MS.c.label,
    _MS.c.source_text,
    _ob.role,
    _ob.due_on,
    _ob.status,
    _ob.escalation_level,
    _ob.next_action_at,
)


@lru_cache(maxsize=4)
def _lines_stmt(dialect: str) -> Any:
    """The lines of a page of sheets with their obligations. On PostgreSQL the sheet ids are one
    array parameter (`= ANY`): one statement text whatever the page's size, which psycopg
    prepares once; elsewhere an expanding IN list."""
    ids = (
        _Q.sheet_id == any_(bindparam("ids", type_=postgresql.ARRAY(Integer)))
        if dialect == "postgresql"
        else _Q.sheet_id.in_(bindparam("ids", expanding=True))
    )
    return (
        select(*_LINE_COLUMNS)
        .select_from(QueueItem.__table__)  # type: ignore[attr-defined]
        .join(_OB, _ob.id == _Q.obligation_id)
        .join(_MS, _MS.c.id == _ob.milestone_id)
        .join(_TK, _TK.c.id == _ob.task_id)
        .join(_PL, _PL.c.id == _ob.plan_id)
        .where(ids)
    )


def queue_sheets(
    conn: Connection,
    *,
    level: int | None = None,
    plan: int | None = None,
    unit: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The open 督办单, most severe and oldest first (one page), each with its lines and their
    obligations (same keys as `duban queue list --sheet --json`'s items); by plan, only the
    lines of that plan. Two reads: the page, then all its lines with their details."""
    stmt = _sheets_stmt(level is not None, plan is not None, unit is not None)
    args = {"level": level, "plan": plan, "unit": unit, "limit": limit}
    page = sorted(conn.execute(stmt, args), key=lambda r: (-r.level, r.created_at, r.id))
    by_sheet: dict[int, list[dict[str, Any]]] = {r.id: [] for r in page}
    unit_of = {r.id: r.unit for r in page}
    if page:
        ids = [r.id for r in page]
        for q in conn.execute(_lines_stmt(conn.dialect.name), {"ids": ids}):
            if plan is not None and q.plan_id != plan:
                continue
            by_sheet[q.sheet_id].append(
                {
                    "queue_id": q.queue_id,
                    "queue_status": q.queue_status,
                    "queue_status_label": QUEUE_STATUS_LABEL.get(q.queue_status, q.queue_status),
                    **_obligation_row(q, unit_of[q.sheet_id]),
                }
            )
    for found in by_sheet.values():
        found.sort(key=lambda line: (line["due"], line["queue_id"]))
    return [
        {
            "sheet_id": r.id,
            "queue_level": r.level,
            "queue_label": QUEUE_LEVEL_LABEL.get(r.level, str(r.level)),
            "queue_status": r.status,
            "queue_status_label": QUEUE_STATUS_LABEL.get(r.status, r.status),
            "office_day": r.office_day.isoformat(),
            "unit": r.unit,
            "acked_by": r.acked_by,
            "notes": r.notes or [],
            "queued_at": r.created_at.astimezone(OFFICE_TZ).isoformat(),
            "open_lines": sum(1 for x in by_sheet[r.id] if x["queue_status"] != "resolved"),
            "lines": by_sheet[r.id],
        }
        for r in page
    ]


def _obligation_row(r: Any, unit: str) -> dict[str, Any]:
    """A line's obligation as the office reads it (keys of office_views.obligation_row)."""
    nxt = r.next_action_at
    return {
        "id": r.id,
        "plan_id": r.plan_id,
        "plan": r.plan,
        "task_ref": r.ref,
        "task": r.title,
        "milestone": r.label or r.source_text,
        "unit": unit,
        "role": r.role,
        "role_label": ROLE_LABEL.get(r.role, r.role),
        "due": r.due_on.isoformat(),
        "status": r.status,
        "status_label": STATUS_LABEL[Status(r.status)],
        "level": r.escalation_level,
        "level_label": LEVEL_LABEL.get(r.escalation_level, ""),
        "next_action_at": nxt.astimezone(OFFICE_TZ).isoformat() if nxt else None,
    }


def queue_page(
    session: Session,
    today: date,
    *,
    plan: int | None = None,
    unit: int | None = None,
    level: int | None = None,
    limit: int = 50,
) -> dict[str, list[dict[str, Any]]]:
    """Everything the queue page lists: `submitted`, `extensions` and the 督办单 (`sheets`), a
    page each.

    The level filters the sheets only (reports and extension requests have none)."""
    return {
        "submitted": waiting_on_office(
            session, today, status="submitted", plan=plan, unit=unit, limit=limit
        ),
        "extensions": waiting_on_office(
            session, today, status="extension_requested", plan=plan, unit=unit, limit=limit
        ),
        "sheets": queue_sheets(
            session.connection(), level=level, plan=plan, unit=unit, limit=limit
        ),
    }


_PA = Paper.__table__.c  # type: ignore[attr-defined]


@lru_cache(maxsize=4)
def _papers_stmt(dialect: str) -> Any:
    ids = (
        _PA.sheet_id == any_(bindparam("ids", type_=postgresql.ARRAY(Integer)))
        if dialect == "postgresql"
        else _PA.sheet_id.in_(bindparam("ids", expanding=True))
    )
    has_pdf = (func.length(_PA.pdf) > 0).label("has_pdf")
    return select(_PA.id, _PA.sheet_id, _PA.title, has_pdf).where(ids).order_by(_PA.id)


def sheet_papers(conn: Connection, sheets: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """queue sheet → its 督办单 papers (id, title, whether a PDF is stored), oldest first, for
    every sheet of `sheets` (one paper per unit and pass lists the sheet's items); without the
    files (the PDF's length only)."""
    ids = sorted({q["sheet_id"] for q in sheets})
    out: dict[int, list[dict[str, Any]]] = {}
    if ids:
        for p in conn.execute(_papers_stmt(conn.dialect.name), {"ids": ids}):
            out.setdefault(p.sheet_id, []).append(
                {"id": p.id, "title": p.title, "pdf": bool(p.has_pdf)}
            )
    return out


_ACTIVE_PLANS = select(_PL.c.id, _PL.c.title).where(_PL.c.status == "active").order_by(_PL.c.id)


def active_plans(conn: Connection) -> list[Any]:
    """The active plans (id, title), for the page's filter."""
    return list(conn.execute(_ACTIVE_PLANS))
