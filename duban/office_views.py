"""Read-side views of obligations and the queue, shared by the CLI (and later the pages)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from models.directory import Unit
from models.repo.units import find_unit
from models.tables import AuditEvent, Milestone, Obligation, Plan, QueueItem, Task
from schedules.clock import OFFICE_TZ
from schedules.machine import STATUS_LABEL
from schedules.rules import Status

LEVEL_LABEL = {0: "无法送达", 1: "催办", 2: "督办", 3: "通报"}


def obligation_row(
    ob: Obligation, ms: Milestone, tk: Task, plan: Plan, unit: Unit
) -> dict[str, Any]:
    """One obligation as the office reads it."""
    nxt = ob.next_action_at.astimezone(OFFICE_TZ).isoformat() if ob.next_action_at else None
    return {
        "id": ob.id,
        "plan_id": plan.id,
        "plan": plan.title,
        "task_ref": tk.ref,
        "task": tk.title,
        "milestone": ms.label or ms.source_text,
        "unit": unit.name,
        "role": ob.role,
        "due": ob.due_on.isoformat(),
        "status": ob.status,
        "status_label": STATUS_LABEL[Status(ob.status)],
        "level": ob.escalation_level,
        "next_action_at": nxt,
    }


def list_obligations(
    session: Session,
    *,
    unit: str | None = None,
    plan: int | None = None,
    status: str | None = None,
    due_from: date | None = None,
    due_to: date | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Obligations filtered as the office asks, earliest due first."""
    stmt = (
        select(Obligation, Milestone, Task, Plan, Unit)
        .join(Milestone, col(Milestone.id) == col(Obligation.milestone_id))
        .join(Task, col(Task.id) == col(Obligation.task_id))
        .join(Plan, col(Plan.id) == col(Obligation.plan_id))
        .join(Unit, col(Unit.id) == col(Obligation.unit_id))
    )
    if unit:
        u = find_unit(session=session, name=unit)
        stmt = stmt.where(Obligation.unit_id == (u.id if u else -1))
    if plan is not None:
        stmt = stmt.where(Obligation.plan_id == plan)
    if status:
        stmt = stmt.where(Obligation.status == status)
    if due_from:
        stmt = stmt.where(col(Obligation.due_on) >= due_from)
    if due_to:
        stmt = stmt.where(col(Obligation.due_on) <= due_to)
    stmt = stmt.order_by(col(Obligation.due_on), col(Unit.name)).limit(limit)
    return [obligation_row(*r) for r in session.exec(stmt).all()]


def list_queue(
    session: Session,
    *,
    level: int | None = None,
    unit: str | None = None,
    plan: int | None = None,
    status: str | None = "open",
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The escalation queue, most severe and oldest first (the first `limit` items).

    The items are picked first (ordered and limited on their own, joined to the obligation only
    to filter by plan or unit), then joined to what the rows show: a page of 50 out of thousands
    does not join them all.
    """
    order = (col(QueueItem.level).desc(), col(QueueItem.created_at), col(QueueItem.id))
    pick = select(QueueItem.id)
    if plan is not None or unit:
        pick = pick.join(Obligation, col(Obligation.id) == col(QueueItem.obligation_id))
    if level is not None:
        pick = pick.where(QueueItem.level == level)
    if status and status != "all":
        pick = pick.where(
            col(QueueItem.status).in_(["open", "acked"] if status == "open" else [status])
        )
    if plan is not None:
        pick = pick.where(Obligation.plan_id == plan)
    if unit:
        u = find_unit(session=session, name=unit)
        pick = pick.where(Obligation.unit_id == (u.id if u else -1))
    pick = pick.order_by(*order)
    if limit is not None:
        pick = pick.limit(limit)
    stmt = (
        select(QueueItem, Obligation, Milestone, Task, Plan, Unit)
        .join(Obligation, col(Obligation.id) == col(QueueItem.obligation_id))
        .join(Milestone, col(Milestone.id) == col(Obligation.milestone_id))
        .join(Task, col(Task.id) == col(Obligation.task_id))
        .join(Plan, col(Plan.id) == col(Obligation.plan_id))
        .join(Unit, col(Unit.id) == col(Obligation.unit_id))
        .where(col(QueueItem.id).in_(pick.scalar_subquery()))
        .order_by(*order)
    )
    out = []
    for item, *rest in session.exec(stmt).all():
        row = obligation_row(*rest)
        out.append(
            {
                "queue_id": item.id,
                "queue_level": item.level,
                "queue_label": LEVEL_LABEL[item.level],
                "queue_status": item.status,
                "acked_by": item.acked_by,
                "notes": item.notes,
                "queued_at": item.created_at.astimezone(OFFICE_TZ).isoformat(),
                **row,
            }
        )
    return out


def history(session: Session, obligation_id: int) -> list[dict[str, Any]]:
    """Every audit event of an obligation and of its queue items, in order."""
    queue_ids = session.exec(
        select(QueueItem.id).where(QueueItem.obligation_id == obligation_id)
    ).all()
    stmt = (
        select(AuditEvent)
        .where(
            ((AuditEvent.entity == "obligation") & (AuditEvent.entity_id == obligation_id))
            | ((AuditEvent.entity == "queue_item") & col(AuditEvent.entity_id).in_(list(queue_ids)))
        )
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    )
    return [
        {
            "at": e.at.astimezone(OFFICE_TZ).isoformat(),
            "actor": e.actor,
            "entity": e.entity,
            "action": e.action,
            "from": e.from_status,
            "to": e.to_status,
            "reason": e.reason,
            "data": e.data,
        }
        for e in session.exec(stmt).all()
    ]
