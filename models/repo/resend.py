"""Failed deliveries the office re-sends: find them, mark them retryable (audited), look up keys.

A permanently failed row is skipped by every later claim of its key, so nothing re-sends it on
its own. The office fixes the channel, then asks for a resend: the rows are marked failed and
*not* permanent (the claim re-takes exactly those), each with an audit event naming who asked.
A row whose key has left the directory (a corrected address) is closed with a `resend_replaced`
event once the message went to its replacement, and is no longer listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import false, or_, true, update
from sqlmodel import Session, col, select

from models.directory import Channel, Unit
from models.repo.bulk import one_of
from models.repo.deliveries import audit_delivery
from models.tables import AuditEvent, Delivery, Milestone, Obligation, Plan, Task

REQUESTED = "resend_requested"
REPLACED = "resend_replaced"

ObligationRow = tuple[Obligation, Milestone, Task, Plan, Unit]


def _audited(action: str) -> Any:
    return select(AuditEvent.entity_id).where(
        AuditEvent.entity == "delivery", AuditEvent.action == action
    )


def select_failed(
    session: Session,
    *,
    unit_id: int | None = None,
    channel_id: int | None = None,
    channel_type: str | None = None,
    since: datetime | None = None,
    pending: bool = False,
) -> list[Delivery]:
    """Failed rows nothing will send again: permanent failures, and rows a resend left failed;
    with `pending`, also the rows that failed transiently and that a later tick tries again.

    Rows closed as replaced are left out. Oldest first.
    """
    kinds = [col(Delivery.permanent) == true(), col(Delivery.id).in_(_audited(REQUESTED))]
    if pending:
        kinds.append(col(Delivery.permanent) == false())
    stmt = select(Delivery).where(
        col(Delivery.status) == "failed",
        or_(*kinds),
        col(Delivery.id).not_in(_audited(REPLACED)),
    )
    if unit_id is not None:
        stmt = stmt.where(col(Delivery.unit_id) == unit_id)
    if channel_id is not None:
        stmt = stmt.where(col(Delivery.channel_id) == channel_id)
    if channel_type is not None:
        stmt = stmt.where(col(Delivery.channel_type) == channel_type)
    if since is not None:
        stmt = stmt.where(col(Delivery.created_at) >= since)
    return list(session.exec(stmt.order_by(col(Delivery.id))).all())


def deliveries_by_id(session: Session, ids: Iterable[int]) -> dict[int, Delivery]:
    """The rows with these ids (missing ids are simply absent)."""
    return {
        row.id or 0: row
        for cond in one_of(session, col(Delivery.id), set(ids))
        for row in session.exec(select(Delivery).where(cond))
    }


def replaced_ids(session: Session, ids: Iterable[int]) -> set[int]:
    """Which of these rows were closed as replaced by an earlier resend."""
    return {
        int(i)
        for cond in one_of(session, col(AuditEvent.entity_id), set(ids))
        for i in session.exec(_audited(REPLACED).where(cond))
        if i is not None
    }


def deliveries_by_key(session: Session, keys: Iterable[str]) -> dict[str, Delivery]:
    """The rows of the keys that have one."""
    return {
        r.key: r
        for cond in one_of(session, col(Delivery.key), set(keys))
        for r in session.exec(select(Delivery).where(cond))
    }


def obligation_rows(session: Session, ids: Iterable[int]) -> dict[int, ObligationRow]:
    """Each obligation with its milestone, task, plan and unit (what a message says about it)."""
    out: dict[int, ObligationRow] = {}
    for cond in one_of(session, col(Obligation.id), set(ids)):
        stmt = (
            select(Obligation, Milestone, Task, Plan, Unit)  # type: ignore[call-overload]
            .join(Milestone, col(Milestone.id) == col(Obligation.milestone_id))
            .join(Task, col(Task.id) == col(Obligation.task_id))
            .join(Plan, col(Plan.id) == col(Obligation.plan_id))
            .join(Unit, col(Unit.id) == col(Obligation.unit_id))
            .where(cond)
        )
        for row in session.exec(stmt).all():
            out[row[0].id or 0] = row
    return out


def unit_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Unit id → name."""
    wanted = {i for i in ids if i is not None}
    return {
        uid or 0: name
        for cond in one_of(session, col(Unit.id), wanted)
        for uid, name in session.exec(select(Unit.id, Unit.name).where(cond))
    }


def channels_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, Channel]:
    """Channel id → row (enabled or not)."""
    wanted = {i for i in ids if i is not None}
    return {
        c.id or 0: c
        for cond in one_of(session, col(Channel.id), wanted)
        for c in session.exec(select(Channel).where(cond))
    }


def mark_for_resend(
    session: Session, rows: Sequence[Delivery], *, now: datetime, actor: str, reason: str
) -> list[int]:
    """Make failed rows retryable (failed, not permanent), one audit event each.

    Compare-and-set on `failed`: a row another sender took or sent meanwhile is left alone and
    not returned. Flushed, not committed: the caller's transaction holds all of them or none.
    """
    marked = []
    for row in rows:
        stmt = (
            update(Delivery)
            .where(col(Delivery.id) == row.id, col(Delivery.status) == "failed")
            .values(permanent=false())
            .execution_options(synchronize_session=False)
        )
        if not session.execute(stmt).rowcount:  # type: ignore[attr-defined]
            continue
        audit_delivery(
            session,
            row,
            now=now,
            actor=actor,
            action=REQUESTED,
            reason=reason,
            data={
                "key": row.key,
                "batch": row.batch,
                "permanent": row.permanent,
                "attempts": row.attempts,
                "last_error": row.last_error,
            },
        )
        marked.append(row.id or 0)
    session.flush()
    return marked


def note_replaced(
    session: Session,
    row: Delivery,
    *,
    now: datetime,
    actor: str,
    reason: str,
    to: dict[str, str],
) -> None:
    """Close a row whose recipient left the directory: its message went to `to` (key → status)."""
    audit_delivery(
        session,
        row,
        now=now,
        actor=actor,
        action=REPLACED,
        reason=reason,
        data={"key": row.key, "recipient": row.recipient, "to": to},
    )
