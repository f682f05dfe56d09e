"""The decision engine: given an obligation's state, its policy, the calendar and ``now``,
return the action to perform now (if any) and when to ask again. Pure: no I/O, no clock.

Catch-up: when ``now`` is past several scheduled sends (the service was down), only the most
severe one is returned (highest level, then latest), once; the older ones are skipped, because
``last_sent_at`` moves past them when it is recorded. An escalation missed outside the office
window waits for the next window opening instead of being replaced by a later chase.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from schedules.calendar import WorkCalendar
from schedules.clock import OFFICE_TZ
from schedules.obligation import (
    CHASED_STATUSES,
    STAGE_LEVEL,
    STAGE_RECIPIENTS,
    TERMINAL_STATUSES,
    Action,
    Decision,
    ObligationState,
    Reason,
    Recipient,
    Stage,
    Status,
)
from schedules.policy import Policy
from schedules.slots import (
    Slot,
    count_overdue_days,
    find_latest_chase,
    find_next_chase,
    find_next_opening,
    is_chased,
    is_in_window,
    list_fixed_slots,
    make_chase_slot,
)

__all__ = [
    "Action",
    "Decision",
    "ObligationState",
    "Reason",
    "Recipient",
    "Stage",
    "Status",
    "decide",
    "needs_confirmation",
    "plan_actions",
]

_PAUSED = {
    Status.SUBMITTED: Reason.AWAITING_ACCEPTANCE,
    Status.TO_CONFIRM: Reason.AWAITING_CONFIRMATION,
}
_EPSILON = timedelta(microseconds=1)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now 必须带时区（收到无时区时间 {now.isoformat()}）")


def _is_live(state: ObligationState, at: datetime) -> bool:
    if state.since is not None and at < state.since:
        return False
    return state.last_sent_at is None or at > state.last_sent_at


def _list_allowed_fixed(
    state: ObligationState, policy: Policy, cal: WorkCalendar
) -> tuple[Slot, ...]:
    return list_fixed_slots(state.due, state.is_lead, policy, cal, state.level)


def _rank_severity(slot: Slot) -> tuple[int, datetime]:
    return STAGE_LEVEL[slot.stage], slot.at


def _find_latest_missed(
    state: ObligationState, policy: Policy, cal: WorkCalendar, now: datetime
) -> Slot | None:
    found = [
        s for s in _list_allowed_fixed(state, policy, cal) if s.at <= now and _is_live(state, s.at)
    ]
    if is_chased(state.is_lead, policy):
        j = find_latest_chase(count_overdue_days(state.due, now, policy, cal), policy)
        if j is not None:
            slot = make_chase_slot(state.due, j, policy, cal)
            if _is_live(state, slot.at):
                found.append(slot)
    return max(found, key=_rank_severity, default=None)


def _find_next_slot(
    state: ObligationState, policy: Policy, cal: WorkCalendar, now: datetime
) -> Slot | None:
    floor = max(now, state.last_sent_at or now)
    if state.since is not None and state.since > floor:
        floor = state.since - _EPSILON
    found = [s for s in _list_allowed_fixed(state, policy, cal) if s.at > floor]
    if is_chased(state.is_lead, policy):
        j = find_next_chase(count_overdue_days(state.due, floor, policy, cal), policy)
        if j is not None:
            found.append(make_chase_slot(state.due, j, policy, cal))
    # On an escalation day the escalation replaces the chase (same instant, higher level).
    return min(found, key=lambda s: (s.at, -STAGE_LEVEL[s.stage]), default=None)


def _make_seq(slot: Slot, due: date) -> str:
    label = f"-{slot.label}" if slot.label else ""
    return f"{slot.stage.value}{label}@{due.isoformat()}"


def _make_action(slot: Slot, due: date, at: datetime) -> Action:
    return Action(
        stage=slot.stage,
        level=STAGE_LEVEL[slot.stage],
        at=at.astimezone(UTC),
        recipients=STAGE_RECIPIENTS[slot.stage],
        reason=slot.reason,
        seq=_make_seq(slot, due),
        due=due,
        scheduled_at=slot.at,
    )


def decide(state: ObligationState, policy: Policy, cal: WorkCalendar, now: datetime) -> Decision:
    """Return the action to perform at ``now`` (or None) and the next instant to decide again.

    ``next_at`` assumes the returned action is sent (recorded with ``last_sent_at = now``); it is
    None when nothing will ever be due (resolved, paused, or no slots left).
    """
    _require_aware(now)
    now = now.astimezone(UTC)
    if state.status in TERMINAL_STATUSES:
        return Decision(None, None, Reason.RESOLVED)
    if state.status not in CHASED_STATUSES:
        return Decision(None, None, _PAUSED.get(state.status, Reason.NONE))
    best = _find_latest_missed(state, policy, cal, now)
    upcoming = _find_next_slot(state, policy, cal, now)
    next_at = upcoming.at if upcoming is not None else None
    if best is None:
        return Decision(None, next_at, Reason.WAITING if next_at else Reason.NONE)
    if not is_in_window(now, policy, cal):
        return Decision(None, find_next_opening(now, policy, cal), Reason.OUTSIDE_WINDOW)
    return Decision(_make_action(best, state.due, now), next_at, best.reason)


def plan_actions(
    state: ObligationState, policy: Policy, cal: WorkCalendar, *, until: date | None = None
) -> tuple[Action, ...]:
    """List the scheduled timeline from the due date and policy (for previews and tests).

    Ignores status, ``since`` and ``last_sent_at``. Chases repeat forever, so they are listed
    up to ``until`` (default: the leader-escalation day, or the first chase day).
    """
    fixed = list(list_fixed_slots(state.due, state.is_lead, policy, cal))
    horizon = until or _pick_horizon(state, policy, cal, fixed)
    taken = {s.at for s in fixed if s.stage in (Stage.OFFICE, Stage.LEADER)}
    chases = [s for s in _list_chase_slots(state, policy, cal, horizon) if s.at not in taken]
    slots = sorted(fixed + chases)
    return tuple(_make_action(s, state.due, s.at) for s in slots)


def _pick_horizon(
    state: ObligationState, policy: Policy, cal: WorkCalendar, fixed: list[Slot]
) -> date:
    last = max((s.at for s in fixed), default=None)
    if last is not None and last.astimezone(OFFICE_TZ).date() > state.due:
        return last.astimezone(OFFICE_TZ).date()
    return cal.add_workdays(state.due, policy.chase_after)


def _list_chase_slots(
    state: ObligationState, policy: Policy, cal: WorkCalendar, until: date
) -> list[Slot]:
    if not is_chased(state.is_lead, policy):
        return []
    out: list[Slot] = []
    j: int | None = policy.chase_after
    while j is not None and cal.add_workdays(state.due, j) <= until:
        out.append(make_chase_slot(state.due, j, policy, cal))
        j = find_next_chase(j, policy)
    return out


def needs_confirmation(due: date, activated_at: datetime) -> bool:
    """Return True when a milestone is already past at activation: it goes to the office's
    "confirm status" list (status ``to_confirm``) instead of being chased blindly."""
    _require_aware(activated_at)
    return due < activated_at.astimezone(OFFICE_TZ).date()
