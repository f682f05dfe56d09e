"""The office's queue page in three reads a page each: reports to accept, extensions to answer,
and the 督办单 (督办/通报 sheets, and obligations nobody could be told of).

Each list picks its page from its own table first (the sheets from `queue_sheet` alone: a few
thousand rows, sorted without touching the million obligations), then reads the lines and the
details of those rows only, by primary key. SQLAlchemy Core, no ORM objects. The CLI's `duban
queue list --sheet` (duban/office_views.py) gives the same sheets with their total and offsets.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from models.directory import Unit
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
    """The page of open 督办单 (from `queue_sheet` alone; by plan through its lines)."""
    page = (
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
        .join(_UN, _UN.c.id == _SH.unit_id)
        .where(_SH.status.in_(OPEN_ITEM))
    )
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
    return page.order_by(_SH.level.desc(), _SH.created_at, _SH.id).limit(bindparam("limit"))


_LINES = (
    select(_Q.id, _Q.sheet_id, _Q.obligation_id, _Q.status)
    .where(_Q.sheet_id.in_(bindparam("ids", expanding=True)))
    .order_by(_Q.id)
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
    lines of that plan."""
    stmt = _sheets_stmt(level is not None, plan is not None, unit is not None)
    page = list(conn.execute(stmt, {"level": level, "plan": plan, "unit": unit, "limit": limit}))
    lines = list(conn.execute(_LINES, {"ids": [r.id for r in page]})) if page else []
    details = _obligations(conn, [q.obligation_id for q in lines])
    by_sheet: dict[int, list[dict[str, Any]]] = {r.id: [] for r in page}
    for q in lines:
        d = details.get(q.obligation_id)
        if d is None or (plan is not None and d["plan_id"] != plan):
            continue
        by_sheet[q.sheet_id].append(
            {
                "queue_id": q.id,
                "queue_status": q.status,
                "queue_status_label": QUEUE_STATUS_LABEL.get(q.status, q.status),
                **d,
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


_ob = _OB.c
_DETAILS = (
    select(
        _ob.id,
        _ob.plan_id,
        _PL.c.title.label("plan"),
        _TK.c.ref,
        _TK.c.title,
        _MS.c.label,
        _MS.c.source_text,
        _UN.c.name.label("unit"),
        _ob.role,
        _ob.due_on,
        _ob.status,
        _ob.escalation_level,
        _ob.next_action_at,
    )
    .select_from(_OB)
    .join(_MS, _MS.c.id == _ob.milestone_id)
    .join(_TK, _TK.c.id == _ob.task_id)
    .join(_PL, _PL.c.id == _ob.plan_id)
    .join(_UN, _UN.c.id == _ob.unit_id)
    .where(_ob.id.in_(bindparam("ids", expanding=True)))
)


def _obligations(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The rows of `ids` as the office reads them (keys of office_views.obligation_row)."""
    if not ids:
        return {}
    out = {}
    for r in conn.execute(_DETAILS, {"ids": sorted(set(ids))}):
        nxt = r.next_action_at
        out[r.id] = {
            "id": r.id,
            "plan_id": r.plan_id,
            "plan": r.plan,
            "task_ref": r.ref,
            "task": r.title,
            "milestone": r.label or r.source_text,
            "unit": r.unit,
            "role": r.role,
            "role_label": ROLE_LABEL.get(r.role, r.role),
            "due": r.due_on.isoformat(),
            "status": r.status,
            "status_label": STATUS_LABEL[Status(r.status)],
            "level": r.escalation_level,
            "level_label": LEVEL_LABEL.get(r.escalation_level, ""),
            "next_action_at": nxt.astimezone(OFFICE_TZ).isoformat() if nxt else None,
        }
    return out


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
