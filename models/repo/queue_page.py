"""The office's queue page in three reads a page each: reports to accept, extensions to answer,
督办/通报 items (and obligations nobody could be told of).

Each list picks its page from its own table first (the items from `queue_item` alone: a few
thousand rows, sorted without touching the million obligations), then reads the details of
those rows only, by primary key. SQLAlchemy Core, no ORM objects. The CLI's `duban queue list`
(duban/office_views.py) gives the same items with their total and offsets.
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
from models.tables import Milestone, Obligation, Plan, QueueItem, Task
from schedules.clock import OFFICE_TZ
from schedules.machine import STATUS_LABEL
from schedules.obligation import Status

_Q = QueueItem.__table__.c  # type: ignore[attr-defined]
_OB = Obligation.__table__  # type: ignore[attr-defined]
_MS = Milestone.__table__  # type: ignore[attr-defined]
_TK = Task.__table__  # type: ignore[attr-defined]
_PL = Plan.__table__  # type: ignore[attr-defined]
_UN = Unit.__table__  # type: ignore[attr-defined]
OPEN_ITEM = ("open", "acked")


@lru_cache(maxsize=16)
def _items_stmt(by_level: bool, by_plan: bool, by_unit: bool) -> Any:
    """The page of open items (from `queue_item` alone, unless filtered by plan or unit)."""
    page = select(
        _Q.id, _Q.obligation_id, _Q.level, _Q.status, _Q.acked_by, _Q.notes, _Q.created_at
    ).where(_Q.status.in_(OPEN_ITEM))
    if by_level:
        page = page.where(_Q.level == bindparam("level"))
    if by_plan or by_unit:  # through the obligation's own columns
        page = page.join(_OB, _OB.c.id == _Q.obligation_id)
        if by_plan:
            page = page.where(_OB.c.plan_id == bindparam("plan"))
        if by_unit:
            page = page.where(_OB.c.unit_id == bindparam("unit"))
    return page.order_by(_Q.level.desc(), _Q.created_at, _Q.id).limit(bindparam("limit"))


def queue_items(
    conn: Connection,
    *,
    level: int | None = None,
    plan: int | None = None,
    unit: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The open queue items, most severe and oldest first (one page), with their obligation's
    plan, task, milestone and unit. Same keys as `duban queue list --json`'s items."""
    stmt = _items_stmt(level is not None, plan is not None, unit is not None)
    page = list(conn.execute(stmt, {"level": level, "plan": plan, "unit": unit, "limit": limit}))
    details = _obligations(conn, [q.obligation_id for q in page])
    out = []
    for q in page:
        d = details.get(q.obligation_id)
        if d is None:
            continue
        out.append(
            {
                "queue_id": q.id,
                "queue_level": q.level,
                "queue_label": QUEUE_LEVEL_LABEL.get(q.level, str(q.level)),
                "queue_status": q.status,
                "queue_status_label": QUEUE_STATUS_LABEL.get(q.status, q.status),
                "acked_by": q.acked_by,
                "notes": q.notes or [],
                "queued_at": q.created_at.astimezone(OFFICE_TZ).isoformat(),
                **d,
            }
        )
    return out


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
    """Everything the queue page lists: `submitted`, `extensions` and `items`, a page each.

    The level filters the items only (reports and extension requests have none)."""
    return {
        "submitted": waiting_on_office(
            session, today, status="submitted", plan=plan, unit=unit, limit=limit
        ),
        "extensions": waiting_on_office(
            session, today, status="extension_requested", plan=plan, unit=unit, limit=limit
        ),
        "items": queue_items(session.connection(), level=level, plan=plan, unit=unit, limit=limit),
    }
