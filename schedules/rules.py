"""The decision engine: given an obligation's state, its policy, the calendar and ``now``,
return the action to perform now (if any) and when to ask again. Pure: no I/O, no clock.

Catch-up: when ``now`` is past several scheduled sends (the service was down), only the most
severe one is returned (highest level, then latest), once; the older ones are skipped, because
``last_sent_at`` moves past them when it is recorded. An escalation missed outside the office
window waits for the next window opening instead of being replaced by a later chase.

A pending 交办 (``assign_at``) goes before anything else. An office's "催办 again"
(``chase_requested_at``) is one more 催办, outside the automatic limit. When the next occurrence
of a recurring duty falls due (``lapses_on``, at 00:00), a missed one closes as 逾期未报: a
state change with no message, at any hour.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

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
    make_instant,
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


def _is_long_lead(state: ObligationState, policy: Policy) -> bool:
    return state.starts_on is not None and (state.due - state.starts_on).days > policy.early_lead


def _list_allowed_fixed(
    state: ObligationState, policy: Policy, cal: WorkCalendar
) -> tuple[Slot, ...]:
    long_lead = _is_long_lead(state, policy)
    return list_fixed_slots(state.due, state.is_lead, policy, cal, state.level, long_lead)


def _is_pending(at: datetime | None, state: ObligationState) -> bool:
    return at is not None and (state.last_sent_at is None or at > state.last_sent_at)


def _find_assign(state: ObligationState, policy: Policy) -> Slot | None:
    if not policy.assign or state.assign_at is None or not _is_pending(state.assign_at, state):
        return None
    return Slot(state.assign_at.astimezone(UTC), Stage.ASSIGN, "", Reason.ASSIGNED)


def _find_manual_chase(state: ObligationState) -> Slot | None:
    if state.chase_requested_at is None or not _is_pending(state.chase_requested_at, state):
        return None
    at = state.chase_requested_at.astimezone(UTC)
    label = f"m{at.astimezone(OFFICE_TZ):%Y%m%dT%H%M%S}"
    return Slot(at, Stage.CHASE, label, Reason.MANUAL_CHASE)


def _find_lapse(state: ObligationState, policy: Policy) -> Slot | None:
    if not policy.roll_over or state.lapses_on is None or state.lapses_on <= state.due:
        return None  # one-off, or extended past the next occurrence: never rolls over
    return Slot(make_instant(state.lapses_on, time(0)), Stage.LAPSE, "", Reason.ROLLED_OVER)


def _find_chase_base(state: ObligationState) -> date:
    # 催办 count from the due date, or from the day the chase (re)started after it: a reopened
    # (驳回重办) or confirmed obligation gets its bounded 催办 again, counted from then.
    if state.since is None:
        return state.due
    return max(state.due, state.since.astimezone(OFFICE_TZ).date())


def _rank_severity(slot: Slot) -> tuple[int, datetime]:
    return STAGE_LEVEL[slot.stage], slot.at


def _find_latest_missed(
    state: ObligationState, policy: Policy, cal: WorkCalendar, now: datetime
) -> Slot | None:
    assign = _find_assign(state, policy)
    if assign is not None and assign.at <= now:
        return assign  # the 交办 first: the unit learns of the duty before anything else
    found = [
        s for s in _list_allowed_fixed(state, policy, cal) if s.at <= now and _is_live(state, s.at)
    ]
    manual = _find_manual_chase(state)
    if manual is not None and manual.at <= now:
        found.append(manual)
    if is_chased(state.is_lead, policy):
        base = _find_chase_base(state)
        j = find_latest_chase(count_overdue_days(base, now, policy, cal), policy)
        if j is not None:
            slot = make_chase_slot(base, j, policy, cal)
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
    found += [
        s
        for s in (
            _find_assign(state, policy),
            _find_manual_chase(state),
            _find_lapse(state, policy),
        )
        if s is not None and s.at > floor
    ]
    if is_chased(state.is_lead, policy):
        base = _find_chase_base(state)
        j = find_next_chase(count_overdue_days(base, floor, policy, cal), policy)
        if j is not None:
            found.append(make_chase_slot(base, j, policy, cal))
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
    lapse = _find_lapse(state, policy)
    if lapse is not None and lapse.at <= now:
        return Decision(_make_action(lapse, state.due, now), None, Reason.ROLLED_OVER)
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
    fixed = list(_list_allowed_fixed(replace(state, level=0), policy, cal))
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
