"""再次交办: re-send, once, the 交办 and 督办 a unit has not 签收 (the rule: schedules/receipt.py).

Run by the tick after its rounds. Reads what was delivered (the first `assign` / `office` rows
sent), the 签收 and the earlier re-sends (audit `receipt_resent`), asks the pure rule about each
obligation, groups what is due into one `receipt` notice per unit and audience, delivers it
through the pipeline (delivery stage `receipt`, so the dedupe key keeps a second tick or a
restart from sending it again) and audits each obligation re-sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from flows.context import flow_context
from flows.tick import Delivered, make_item
from models.directory import Unit
from models.people import Receipt
from models.repo.audit import record_event
from models.repo.bulk import one_of
from models.tables import FIRST_SENT_WHERE, AuditEvent, Delivery, Milestone, Obligation, Plan, Task
from notify.notice import Audience, Notice, group_notices
from schedules.clock import OFFICE_TZ
from schedules.obligation import CHASED_STATUSES, Status
from schedules.receipt import STAGE, ReceiptState, Resent, decide_resend
from schedules.slots import is_in_window

ACTION = "receipt_resent"  # the audit action of one obligation re-sent
ACTOR = "duban"
# A 交办/督办 not 签收 is re-sent at the first opening after receipt_days; one that fell due more
# than this before (re-sends were off then, or no window opened) is not re-sent any more: a
# month-old re-send is noise. The 未签收 page and the 考核 still count it.
LOOKBACK = timedelta(days=31)
_KIND_NAME = {Resent.ASSIGN: "交办", Resent.OFFICE: "督办"}


def first_sent_query(before: datetime, after: datetime | None = None) -> Any:
    """(obligation, stage, first sent) of the `assign`/`office` messages delivered by `before`
    (and after `after`) to obligations not 签收."""
    d = Delivery
    # The predicate of the partial index ix_delivery_first_sent, spelt as its definition (literal
    # values, not parameters), so that PostgreSQL and SQLite read the window by that index.
    stmt = (
        select(d.obligation_id, d.stage, func.min(d.sent_at))
        .where(text(FIRST_SENT_WHERE), col(d.sent_at) <= before)
        .where(~select(Receipt.id).where(Receipt.obligation_id == d.obligation_id).exists())
        .group_by(col(d.obligation_id), col(d.stage))
    )
    return stmt if after is None else stmt.where(col(d.sent_at) > after)


def _first_sent(
    session: Session, ids: list[int] | None, before: datetime, after: datetime | None = None
) -> dict[Any, datetime]:
    """(obligation, stage) → when its first `assign`/`office` message was delivered (of the
    messages sent in (after, before], when `after` is given)."""
    d = Delivery
    stmt = first_sent_query(before, after)
    conds = [None] if ids is None else one_of(session, col(d.obligation_id), set(ids))
    out: dict[Any, datetime] = {}
    for cond in conds:
        for ob_id, stage, at in session.exec(stmt if cond is None else stmt.where(cond)):
            if ob_id is not None and at is not None:
                out[(ob_id, Resent(stage))] = at
    return out


def _resent(session: Session, ids: list[int]) -> dict[int, set[Resent]]:
    out: dict[int, set[Resent]] = {}
    for cond in one_of(session, col(AuditEvent.entity_id), set(ids)):
        stmt = select(AuditEvent.entity_id, AuditEvent.data).where(
            AuditEvent.entity == "obligation", AuditEvent.action == ACTION, cond
        )
        for ob_id, data in session.exec(stmt):
            out.setdefault(ob_id or 0, set()).add(Resent(str((data or {}).get("kind", "assign"))))
    return out


def _rows(session: Session, ids: list[int]) -> list[Any]:
    rows: list[Any] = []
    for cond in one_of(session, col(Obligation.id), set(ids)):
        rows += session.exec(
            select(Obligation, Milestone, Task, Plan, Unit)  # type: ignore[call-overload]  # sqlmodel types select() for at most 4 entities
            .join(Milestone, col(Milestone.id) == col(Obligation.milestone_id))
            .join(Task, col(Task.id) == col(Obligation.task_id))
            .join(Plan, col(Plan.id) == col(Obligation.plan_id))
            .join(Unit, col(Unit.id) == col(Obligation.unit_id))
            .where(cond, Plan.status == "active")
            .where(col(Obligation.status).in_([s.value for s in CHASED_STATUSES]))
        ).all()
    return sorted(rows, key=lambda r: r[0].id)


def plan_resends(session: Session, now: datetime) -> list[tuple[Any, Any]]:
    """The (row, ResendAction) pairs due at `now`, by obligation id."""
    ctx = flow_context()
    weights, window = ctx.policies.assessment, ctx.policies.default
    if not weights.receipt_resend or not is_in_window(now, window, ctx.calendar):
        return []
    # Calendar days are never more than working days: every late message was sent before this.
    # Only the messages of the look-back window before it are read, by index: a tick must not read
    # every delivery ever made (bench/bench_tick.py, "receipt s").
    before = now - timedelta(days=weights.receipt_days)
    old = _first_sent(session, None, before, before - LOOKBACK)
    ids = sorted({ob_id for ob_id, _ in old})
    if not ids:
        return []
    sent = _first_sent(session, ids, now)
    resent = _resent(session, ids)
    out = []
    for row in _rows(session, ids):
        ob = row[0]
        state = ReceiptState(
            status=Status(ob.status),
            due=ob.due_on,
            received=False,
            assign_sent_at=sent.get((ob.id, Resent.ASSIGN)),
            office_sent_at=sent.get((ob.id, Resent.OFFICE)),
            resent=frozenset(resent.get(ob.id, ())),
        )
        action = decide_resend(state, weights, window, ctx.calendar, now)
        if action is not None:
            out.append((row, action))
    return out


def resend_unreceived(
    now: datetime, send: Callable[[list[Notice]], Delivered] | None = None
) -> int:
    """Re-send what is due at `now`, one `receipt` notice per unit and audience; returns how many
    obligations were re-sent (audited)."""
    ctx = flow_context()
    today = now.astimezone(OFFICE_TZ).date()
    with Session(ctx.engine) as session:
        planned = plan_resends(session, now)
        entries = []
        for row, a in planned:
            level = 2 if a.kind is Resent.OFFICE else 0
            item = make_item(ctx, row, stage=STAGE, seq=a.seq, level=level, today=today)
            unit_id = row[4].id
            entries.append((unit_id, Audience.UNIT_CONTACTS, item))
            if a.kind is Resent.OFFICE:
                entries.append((unit_id, Audience.UNIT_HEAD, item))
    if not entries:
        return 0
    notices = [replace(n, kind="receipt") for n in group_notices(entries)]
    if send is None:
        from flows.delivery import deliver_notices

        delivered = deliver_notices(notices, now)
    else:
        delivered = send(notices)
    days = ctx.policies.assessment.receipt_days
    unit = "个工作日" if ctx.policies.assessment.receipt_unit == "workdays" else "天"
    done = 0
    with Session(ctx.engine) as session:
        for row, a in planned:
            ob = row[0]
            if delivered.outcome.get(ob.id) == "retry":
                continue  # tried again by the next tick (the key skips who already has it)
            record_event(
                session=session,
                at=now,
                actor=ACTOR,
                entity="obligation",
                entity_id=ob.id,
                action=ACTION,
                reason=f"{_KIND_NAME[a.kind]}发出后 {days} {unit}仍未签收，再次交办",
                data={
                    "kind": a.kind.value,
                    "seq": a.seq,
                    "sent_at": a.sent_at.isoformat(),
                    "outcome": delivered.outcome.get(ob.id, ""),
                },
            )
            done += 1
        session.commit()
    return done
