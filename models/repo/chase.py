"""Obligation state in the database: claim what is due, record actions and office decisions.

The rules live in schedules/ (pure); this module maps rows to `ObligationState` and back, writes the
audit trail for every transition and keeps `next_action_at` (indexed) true, so a tick finds its work
in O(due items).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, select

from models.repo.audit import record_event
from models.repo.bulk import insert_rows, one_of, update_rows
from models.repo.papers import link_sheets
from models.repo.queue import close_done_sheets, sheet_for
from models.tables import AuditEvent, Obligation, QueueItem
from schedules.calendar import WorkCalendar
from schedules.clock import OFFICE_TZ
from schedules.machine import AuditRecord, Event, TransitionError, apply_event
from schedules.policy import Policy
from schedules.rules import Action, ObligationState, Stage, Status, decide

SEND_EVENTS = {
    Stage.ASSIGN: Event.ASSIGN_SENT,
    Stage.LAPSE: Event.LAPSE,
    Stage.REMIND: Event.REMIND_SENT,
    Stage.CHASE: Event.CHASE_SENT,
    Stage.OFFICE: Event.ESCALATED,
    Stage.LEADER: Event.ESCALATED,
}
QUEUE_LEVEL = {Stage.OFFICE: 2, Stage.LEADER: 3}


def state_of(ob: Obligation) -> ObligationState:
    """The pure engine's view of a row."""
    return ObligationState(
        due=ob.due_on,
        status=Status(ob.status),
        level=ob.escalation_level,
        is_lead=ob.role == "lead",
        since=ob.since,
        last_stage=Stage(ob.last_stage) if ob.last_stage else None,
        last_seq=ob.last_seq,
        last_sent_at=ob.last_action_at,
        requested_due=ob.requested_due,
        assign_at=ob.assign_at,
        chase_requested_at=ob.chase_requested_at,
        # Rows from before lead times were stored: the lead time runs from activation (since).
        starts_on=ob.starts_on or (ob.since.astimezone(OFFICE_TZ).date() if ob.since else None),
        lapses_on=ob.lapses_on,
    )


def due_instant(due: date, policy: Policy) -> datetime:
    """The deadline as an instant: the end of the office window on the due date, Shanghai time."""
    return datetime.combine(due, policy.window_end, tzinfo=OFFICE_TZ)


def state_columns(
    ob: Any, state: ObligationState, policy: Policy, next_at: datetime | None, now: datetime
) -> dict[str, Any]:
    """The obligation's columns after `state` (shared by the single and the bulk writers)."""
    values: dict[str, Any] = {
        "status": state.status.value,
        "escalation_level": state.level,
        "last_stage": state.last_stage.value if state.last_stage else None,
        "last_seq": state.last_seq,
        "last_action_at": state.last_sent_at,
        "since": state.since,
        "requested_due": state.requested_due,
        "chase_requested_at": state.chase_requested_at,
        "next_action_at": next_at,
        "lease_owner": None,
        "lease_until": None,
        "updated_at": now,
        "version": ob.version + 1,
    }
    if state.due != ob.due_on:
        values |= {"due_on": state.due, "due_at": due_instant(state.due, policy)}
    return values


def _store(
    ob: Obligation, state: ObligationState, policy: Policy, cal: WorkCalendar, now: datetime
) -> None:
    nxt = next_action_time(state, policy, cal, now)
    for column, value in state_columns(ob, state, policy, nxt, now).items():
        setattr(ob, column, value)


def next_action_time(
    state: ObligationState, policy: Policy, cal: WorkCalendar, now: datetime
) -> datetime | None:
    """When the tick should look at this obligation again: now if something is due now, else the next slot."""
    d = decide(state, policy, cal, now)
    return now if d.action is not None else d.next_at


def _audit(
    session: Session, ob: Obligation, rec: AuditRecord, data: dict[str, object] | None = None
) -> None:
    payload: dict[str, object] = {"level_before": rec.level_before, "level_after": rec.level_after}
    if rec.due_before != rec.due_after:
        payload |= {
            "due_before": rec.due_before.isoformat(),
            "due_after": rec.due_after.isoformat(),
        }
    if rec.seq:
        payload["seq"] = rec.seq
    record_event(
        session=session,
        at=rec.at,
        actor=rec.actor,
        entity="obligation",
        entity_id=ob.id,
        action=rec.event.value,
        from_status=rec.from_status.value,
        to_status=rec.to_status.value,
        reason=rec.reason,
        data=payload | (data or {}),
    )


def claim_due(
    *, session: Session, now: datetime, limit: int, owner: str, lease: timedelta
) -> list[int]:
    """Lease the due obligations of the units among the `limit` oldest due ones. Commits.

    Whole units: every obligation of such a unit that is due and free is taken in the same round,
    so a unit with many items due the same morning gets them in one message per channel, not one
    per round (a round may so hold more than `limit` rows: one unit's load at most on top).
    One UPDATE over a sub-select (no list of thousands of ids sent back and forth); the claim is
    tagged with a token unique to this call, so the rows it took are read back exactly.
    """
    table = Obligation.__table__  # type: ignore[attr-defined]
    free = or_(table.c.lease_until.is_(None), table.c.lease_until < now)
    oldest = (
        select(table.c.unit_id)
        .where(table.c.next_action_at <= now, free)
        .order_by(table.c.next_action_at)
        .limit(limit)
        .subquery("oldest")
    )
    units = select(oldest.c.unit_id).distinct()
    token = f"{owner}#{uuid.uuid4().hex[:12]}"
    conn = session.connection()
    conn.execute(
        update(table)
        .where(table.c.unit_id.in_(units.scalar_subquery()), table.c.next_action_at <= now, free)
        .values(lease_owner=token, lease_until=now + lease)
    )
    ids = [r[0] for r in conn.execute(select(table.c.id).where(table.c.lease_owner == token)).all()]
    session.commit()
    return ids


def record_action(
    *,
    session: Session,
    ob: Obligation,
    action: Action,
    policy: Policy,
    cal: WorkCalendar,
    now: datetime,
) -> None:
    """The action was delivered (or handed to the queue): advance the state, audit, queue escalations."""
    record_actions(
        session=session, done=[Done(ob, action, policy, ask_again=True)], cal=cal, now=now
    )
    session.expire(ob)  # written in bulk: reload on next access


@dataclass(frozen=True)
class Done:
    """An action that went out, to record: `next_at` is the engine's answer given with it (or None
    to ask the engine again)."""

    ob: Obligation
    action: Action
    policy: Policy
    next_at: datetime | None = None
    ask_again: bool = False


def _state_values(
    ob: Obligation, state: ObligationState, d: Done, cal: WorkCalendar, now: datetime
) -> dict[str, Any]:
    # A send never moves the due date (the machine refuses stale actions), so the bulk UPDATE's
    # fixed column list covers everything that changes.
    nxt = next_action_time(state, d.policy, cal, now) if d.ask_again else d.next_at
    values = state_columns(ob, state, d.policy, nxt, now)
    return {"id": ob.id} | {c: values[c] for c in _COLUMNS}


def _audit_row(ob_id: int | None, rec: AuditRecord, stage: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "level_before": rec.level_before,
        "level_after": rec.level_after,
        "stage": stage,
    }
    if rec.seq:
        data["seq"] = rec.seq
    return {
        "at": rec.at,
        "actor": rec.actor,
        "entity": "obligation",
        "entity_id": ob_id,
        "action": rec.event.value,
        "from_status": rec.from_status.value,
        "to_status": rec.to_status.value,
        "reason": rec.reason,
        "data": data,
    }


_COLUMNS = (
    "status",
    "escalation_level",
    "last_stage",
    "last_seq",
    "last_action_at",
    "since",
    "requested_due",
    "next_action_at",
    "updated_at",
    "version",
)
_RELEASE = {"lease_owner": None, "lease_until": None}
_OBLIGATIONS = Obligation.__table__  # type: ignore[attr-defined]


def record_actions(
    *, session: Session, done: list[Done], cal: WorkCalendar, now: datetime
) -> list[str]:
    """Record a round of sent actions: one bulk UPDATE and one bulk audit INSERT.

    The tick's cost must follow its due items at ~10k per round, so rows are written in bulk
    instead of one ORM flush per obligation. An obligation whose state moved on meanwhile (the
    unit submitted while the message was going out) is left as it is. Returns the stages recorded.
    """
    updates, audits, stages, queued, lapsed = [], [], [], [], []
    for d in done:
        try:
            new, rec = apply_event(
                state_of(d.ob),
                SEND_EVENTS[d.action.stage],
                actor="duban",
                at=now,
                reason=d.action.reason.value,
                action=d.action,
            )
        except TransitionError:
            continue
        updates.append(_state_values(d.ob, new, d, cal, now))
        audits.append(_audit_row(d.ob.id, rec, d.action.stage.value))
        stages.append(d.action.stage.value)
        if d.action.stage in QUEUE_LEVEL:
            queued.append((d.ob, QUEUE_LEVEL[d.action.stage], d.action.seq))
        if d.action.stage is Stage.LAPSE:
            lapsed.append(d.ob)
    update_rows(session, _OBLIGATIONS, updates, constants=_RELEASE)
    insert_rows(session, AuditEvent.__table__, audits)  # type: ignore[attr-defined]
    links = []
    for ob, level, seq in queued:
        item = _enqueue(session, ob, level, now)
        if item.level == level:
            links.append((ob.id or 0, seq, item.sheet_id))
    link_sheets(session, links)  # each 督办单 paper to the sheet its lines went on
    resolve_queues(session, [ob.id or 0 for ob in lapsed], "duban", now, reason=LAPSED_REASON)
    return stages


def reschedule_many(
    *, session: Session, when: list[tuple[int, datetime | None]], now: datetime
) -> None:
    """Nothing to send now: set when to look again and release the claims (one statement)."""
    rows = [{"id": i, "next_action_at": t, "updated_at": now} for i, t in when]
    update_rows(session, _OBLIGATIONS, rows, constants=_RELEASE)


OBLIGATION_STATE_COLUMNS = (
    "id",
    "plan_id",
    "task_id",
    "milestone_id",
    "unit_id",
    "due_on",
    "status",
    "escalation_level",
    "role",
    "since",
    "last_stage",
    "last_seq",
    "last_action_at",
    "requested_due",
    "version",
    "assign_at",
    "chase_requested_at",
    "starts_on",
    "lapses_on",
)


def load_states(session: Session, ids: list[int]) -> list[Any]:
    """Light rows (not ORM objects) with what the engine and the recorder need, for a tick's round."""
    table = Obligation.__table__  # type: ignore[attr-defined]
    cols = [table.c[c] for c in OBLIGATION_STATE_COLUMNS]
    conn = session.connection()
    return [
        r
        for cond in one_of(session, table.c.id, ids)
        for r in conn.execute(select(*cols).where(cond))
    ]


_OPEN = ("open", "acked")
_LEVEL_NAMES = {2: "督办", 3: "通报"}


def _enqueue(session: Session, ob: Obligation, level: int, now: datetime) -> QueueItem:
    """Open (or reopen) the obligation's item at `level`; the queue holds one open item per
    obligation, so a higher level replaces a lower one (its notes and who took it carry over) and a
    lower level never opens beside a higher one."""
    items = session.exec(select(QueueItem).where(QueueItem.obligation_id == ob.id)).all()
    open_items = [i for i in items if i.status in _OPEN]
    above = [i for i in open_items if i.level > level]
    if above:
        return max(above, key=lambda i: i.level)
    item = next((i for i in items if i.level == level), None)
    sheet = sheet_for(session=session, unit_id=ob.unit_id, level=level, now=now)
    if item is None:
        item = QueueItem(obligation_id=ob.id or 0, level=level, created_at=now)
        session.add(item)
    elif item.status == "resolved":  # escalated again after a reopen: on today's sheet
        item.status, item.notes = (
            "open",
            [*item.notes, {"at": now.isoformat(), "by": "duban", "text": "再次升级"}],
        )
    item.sheet_id = sheet.id
    session.flush()
    # Only the escalation levels replace each other; a 无法送达 item (level 0, models/repo/queue.py)
    # asks the office for something else and stays.
    for lower in (i for i in open_items if min(QUEUE_LEVEL.values()) <= i.level < level):
        _supersede(session, lower, item, now)
    record_event(
        session=session,
        at=now,
        actor="duban",
        entity="queue_item",
        entity_id=item.id,
        action="enqueued",
        data={"obligation_id": ob.id, "level": level, "sheet_id": sheet.id},
    )
    superseded = [i.sheet_id for i in open_items if min(QUEUE_LEVEL.values()) <= i.level < level]
    close_done_sheets(session=session, sheet_ids=superseded, by="duban", now=now)
    return item


def _supersede(session: Session, lower: QueueItem, item: QueueItem, now: datetime) -> None:
    text = f"升级为{_LEVEL_NAMES.get(item.level, '更高级别')}，由 Q{item.id} 接替"
    item.notes = [*lower.notes, *item.notes]
    if lower.acked_by and not item.acked_by:
        item.acked_by, item.acked_at, item.status = lower.acked_by, lower.acked_at, "acked"
    before = lower.status
    lower.status, lower.resolved_by, lower.resolved_at = "resolved", "duban", now
    lower.notes = [*lower.notes, {"at": now.isoformat(), "by": "duban", "text": text}]
    record_event(
        session=session,
        at=now,
        actor="duban",
        entity="queue_item",
        entity_id=lower.id,
        action="superseded",
        from_status=before,
        to_status="resolved",
        reason=text,
        data={"replaced_by": item.id},
    )


@dataclass(frozen=True)
class OfficeAction:
    """An office or unit decision on an obligation, as the CLI and pages submit it."""

    event: Event
    actor: str
    reason: str = ""
    new_due: date | None = None
    via: str = ""  # cli | portal | office (the pages), kept in the audit record


def apply_decision(
    *,
    session: Session,
    ob: Obligation,
    act: OfficeAction,
    policy: Policy,
    cal: WorkCalendar,
    now: datetime,
) -> ObligationState:
    """Apply a submit / accept / reopen / extension / waive / confirm; re-plan the chase; audit it."""
    new, rec = apply_event(
        state_of(ob), act.event, actor=act.actor, at=now, reason=act.reason, new_due=act.new_due
    )
    _store(ob, new, policy, cal, now)
    if act.event is Event.SUBMIT:
        ob.submitted_at = now
    if act.event is Event.ACCEPT:
        ob.accepted_at = now
    if act.event in (Event.ACCEPT, Event.WAIVE):
        _resolve_queue(session, ob, act.actor, now)
    _audit(session, ob, rec, {"via": act.via} if act.via else None)
    return new


LAPSED_REASON = "逾期未报：下一期已到期，本期不再催办"


def _resolve_queue(
    session: Session, ob: Any, actor: str, now: datetime, *, reason: str = "义务已销号或免除"
) -> None:
    resolve_queues(session, [ob.id], actor, now, reason=reason)


def resolve_queues(
    session: Session,
    obligation_ids: list[int],
    actor: str,
    now: datetime,
    *,
    reason: str = "义务已销号或免除",
) -> None:
    """Resolve the open queue items of these obligations (one query, one audit INSERT), then
    close the sheets left with no open line."""
    table = QueueItem.__table__  # type: ignore[attr-defined]
    order = {ob_id: k for k, ob_id in enumerate(obligation_ids)}
    items = [
        item
        for cond in one_of(session, table.c.obligation_id, order)
        for item in session.exec(
            select(QueueItem).where(cond, QueueItem.status != "resolved")
        ).all()
    ]
    if not items:
        return
    items.sort(key=lambda i: (order[i.obligation_id], i.id or 0))
    for item in items:
        item.status, item.resolved_by, item.resolved_at = "resolved", actor, now
        session.add(item)
    session.flush()
    audits: list[dict[str, Any]] = [
        {"at": now, "actor": actor, "entity": "queue_item", "entity_id": item.id,
         "action": "resolved", "from_status": None, "to_status": None, "reason": reason,
         "data": {}}
        for item in items
    ]  # fmt: skip
    insert_rows(session, AuditEvent.__table__, audits)  # type: ignore[attr-defined]
    close_done_sheets(
        session=session, sheet_ids=[i.sheet_id for i in items], by=actor, now=now, reason=reason
    )
