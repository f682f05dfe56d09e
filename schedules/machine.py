"""The obligation state machine: every transition yields an audit record (pure).

交办 (assign_sent) leaves an obligation open; open → reminded → overdue → escalated (level 1..3)
→ submitted → accepted (销号); a missed occurrence of a recurring duty closes as lapsed (逾期未报)
when the next one falls due, and may still be reported late, accepted or waived; the office may
ask for one more 催办 (request_chase) while it is chased;
submitted/accepted/waived → reopened (chase resumes); extension requested → granted (new due
date, reminders re-planned from it) or refused (back where it was); waived; past milestones
at activation start in ``to_confirm`` until the office confirms them open (or accepts/waives).
Illegal transitions raise :class:`TransitionError` naming the status and the event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum

from schedules.clock import OFFICE_TZ
from schedules.obligation import CHASED_STATUSES, Action, ObligationState, Stage, Status


class Event(StrEnum):
    """Something that happened to an obligation."""

    ASSIGN_SENT = "assign_sent"
    REMIND_SENT = "remind_sent"
    CHASE_SENT = "chase_sent"
    ESCALATED = "escalated"
    SUBMIT = "submit"
    ACCEPT = "accept"
    REOPEN = "reopen"
    REQUEST_EXTENSION = "request_extension"
    GRANT_EXTENSION = "grant_extension"
    REFUSE_EXTENSION = "refuse_extension"
    WAIVE = "waive"
    CONFIRM_OPEN = "confirm_open"
    REQUEST_CHASE = "request_chase"
    LAPSE = "lapse"


STATUS_LABEL: dict[Status, str] = {
    Status.OPEN: "待办",
    Status.REMINDED: "已提醒",
    Status.OVERDUE: "已逾期",
    Status.ESCALATED: "已升级督办",
    Status.SUBMITTED: "已报送待验收",
    Status.ACCEPTED: "已销号",
    Status.REOPENED: "已退回重办",
    Status.EXTENSION_REQUESTED: "申请延期中",
    Status.WAIVED: "已免除",
    Status.TO_CONFIRM: "待办公室确认",
    Status.LAPSED: "逾期未报",
}
EVENT_LABEL: dict[Event, str] = {
    Event.ASSIGN_SENT: "发送交办",
    Event.REMIND_SENT: "发送提醒",
    Event.CHASE_SENT: "发送催办",
    Event.ESCALATED: "升级督办/通报",
    Event.SUBMIT: "报送",
    Event.ACCEPT: "验收销号",
    Event.REOPEN: "退回重办",
    Event.REQUEST_EXTENSION: "申请延期",
    Event.GRANT_EXTENSION: "批准延期",
    Event.REFUSE_EXTENSION: "驳回延期",
    Event.WAIVE: "免除",
    Event.CONFIRM_OPEN: "确认仍需办理",
    Event.REQUEST_CHASE: "再次催办",
    Event.LAPSE: "逾期未报（下期已到期）",
}

_OPEN_ENDED = frozenset({Status.SUBMITTED, Status.ACCEPTED, Status.WAIVED})
SOURCES: dict[Event, frozenset[Status]] = {
    Event.ASSIGN_SENT: CHASED_STATUSES,
    Event.REMIND_SENT: CHASED_STATUSES,
    Event.CHASE_SENT: CHASED_STATUSES,
    Event.ESCALATED: CHASED_STATUSES,
    Event.SUBMIT: CHASED_STATUSES | {Status.TO_CONFIRM, Status.LAPSED},
    Event.ACCEPT: frozenset({Status.SUBMITTED, Status.TO_CONFIRM}),
    Event.REOPEN: _OPEN_ENDED,
    Event.REQUEST_EXTENSION: CHASED_STATUSES - {Status.EXTENSION_REQUESTED},
    Event.GRANT_EXTENSION: frozenset({Status.EXTENSION_REQUESTED}),
    Event.REFUSE_EXTENSION: frozenset({Status.EXTENSION_REQUESTED}),
    Event.WAIVE: CHASED_STATUSES | {Status.SUBMITTED, Status.TO_CONFIRM, Status.LAPSED},
    Event.CONFIRM_OPEN: frozenset({Status.TO_CONFIRM}),
    Event.REQUEST_CHASE: CHASED_STATUSES,
    Event.LAPSE: CHASED_STATUSES,
}
_SEND_STAGES: dict[Event, frozenset[Stage]] = {
    Event.ASSIGN_SENT: frozenset({Stage.ASSIGN}),
    Event.LAPSE: frozenset({Stage.LAPSE}),
    Event.REMIND_SENT: frozenset({Stage.REMIND}),
    Event.CHASE_SENT: frozenset({Stage.CHASE}),
    Event.ESCALATED: frozenset({Stage.OFFICE, Stage.LEADER}),
}


class TransitionError(ValueError):
    """An event is not allowed in the obligation's current status (or lacks its data)."""


@dataclass(frozen=True)
class AuditRecord:
    """One audit-trail entry: who did what, when, why, and what changed."""

    event: Event
    from_status: Status
    to_status: Status
    actor: str
    at: datetime
    reason: str
    level_before: int
    level_after: int
    due_before: date
    due_after: date
    seq: str | None = None


@dataclass(frozen=True)
class _Ctx:
    at: datetime
    action: Action | None
    new_due: date | None


def _derive_status(level: int, last_stage: Stage | None) -> Status:
    # Where an obligation stands when nothing is pending: derived from what was sent.
    if level >= 2:
        return Status.ESCALATED
    if level == 1:
        return Status.OVERDUE
    return Status.REMINDED if last_stage is Stage.REMIND else Status.OPEN


def _apply_sent(state: ObligationState, ctx: _Ctx) -> ObligationState:
    assert ctx.action is not None
    level = max(state.level, ctx.action.level)
    status = state.status
    if status is not Status.EXTENSION_REQUESTED:
        status = _derive_status(level, ctx.action.stage)
    return replace(
        state,
        status=status,
        level=level,
        last_stage=ctx.action.stage,
        last_seq=ctx.action.seq,
        last_sent_at=ctx.at,
    )


def _apply_grant(state: ObligationState, ctx: _Ctx) -> ObligationState:
    new_due = ctx.new_due or state.requested_due
    if new_due is None:
        raise TransitionError("批准延期需要新的截止日期 new_due（grant_extension needs new_due）")
    if new_due <= state.due:
        raise TransitionError(f"延期后的截止日 {new_due} 必须晚于原截止日 {state.due}")
    return replace(
        state, status=Status.OPEN, due=new_due, level=0, since=ctx.at, requested_due=None
    )


def _apply_lapse(state: ObligationState, ctx: _Ctx) -> ObligationState:
    assert ctx.action is not None
    return replace(
        state,
        status=Status.LAPSED,
        last_seq=ctx.action.seq,
        last_sent_at=ctx.at,
        requested_due=None,
    )


_HANDLERS: dict[Event, Callable[[ObligationState, _Ctx], ObligationState]] = {
    Event.ASSIGN_SENT: _apply_sent,
    Event.LAPSE: _apply_lapse,
    Event.REMIND_SENT: _apply_sent,
    Event.CHASE_SENT: _apply_sent,
    Event.ESCALATED: _apply_sent,
    Event.SUBMIT: lambda s, c: replace(s, status=Status.SUBMITTED),
    Event.ACCEPT: lambda s, c: replace(s, status=Status.ACCEPTED),
    Event.REOPEN: lambda s, c: replace(s, status=Status.REOPENED, level=0, since=c.at),
    Event.REQUEST_EXTENSION: lambda s, c: replace(
        s, status=Status.EXTENSION_REQUESTED, requested_due=c.new_due
    ),
    Event.GRANT_EXTENSION: _apply_grant,
    Event.REFUSE_EXTENSION: lambda s, c: replace(
        s, status=_derive_status(s.level, s.last_stage), requested_due=None
    ),
    Event.WAIVE: lambda s, c: replace(s, status=Status.WAIVED),
    Event.CONFIRM_OPEN: lambda s, c: replace(s, status=Status.OPEN, since=c.at),
    Event.REQUEST_CHASE: lambda s, c: replace(s, chase_requested_at=c.at),
}


def _check(
    state: ObligationState, event: Event, actor: str, at: datetime, action: Action | None
) -> None:
    if state.status not in SOURCES[event]:
        raise TransitionError(
            f"状态「{STATUS_LABEL[state.status]}」({state.status.value}) 不允许事件"
            f"「{EVENT_LABEL[event]}」({event.value})"
        )
    if at.tzinfo is None or at.utcoffset() is None:
        raise TransitionError(f"事件时间必须带时区（收到 {at.isoformat()}）")
    if not actor.strip():
        raise TransitionError(f"事件「{EVENT_LABEL[event]}」缺少操作人 actor")
    if event is Event.REQUEST_CHASE and at.astimezone(OFFICE_TZ).date() <= state.due:
        raise TransitionError(f"截止日 {state.due} 尚未过，不能再次催办（催办针对逾期事项）")
    stages = _SEND_STAGES.get(event)
    if stages is not None:
        if action is None or action.stage not in stages:
            got = action.stage.value if action else "无"
            raise TransitionError(f"事件 {event.value} 需要对应的动作（收到阶段：{got}）")
        if action.due != state.due:
            raise TransitionError(
                f"动作属于截止日 {action.due}，但义务当前截止日为 {state.due}（过期动作）"
            )


def apply_event(
    state: ObligationState,
    event: Event,
    *,
    actor: str,
    at: datetime,
    reason: str = "",
    action: Action | None = None,
    new_due: date | None = None,
) -> tuple[ObligationState, AuditRecord]:
    """Apply ``event`` and return the new state and its audit record.

    ``action`` is required for remind_sent / chase_sent / escalated; ``new_due`` for
    grant_extension (unless given with request_extension). Raises :class:`TransitionError`.
    """
    _check(state, event, actor, at, action)
    new = _HANDLERS[event](state, _Ctx(at.astimezone(UTC), action, new_due))
    return new, _record(state, new, event, actor=actor, at=at, reason=reason, action=action)


def _record(
    old: ObligationState,
    new: ObligationState,
    event: Event,
    *,
    actor: str,
    at: datetime,
    reason: str,
    action: Action | None,
) -> AuditRecord:
    return AuditRecord(
        event=event,
        from_status=old.status,
        to_status=new.status,
        actor=actor,
        at=at.astimezone(UTC),
        reason=reason,
        level_before=old.level,
        level_after=new.level,
        due_before=old.due,
        due_after=new.due,
        seq=action.seq if action else None,
    )
