"""Where the scheduled sends of one obligation fall (pure working-day math for :mod:`rules`).

A *slot* is one scheduled send: reminders before the due date (early ones for a long lead
time), the chase on each repeat day after it (at most ``chase_max``), and the office and leader
escalations. Chase slot ``j`` is on the ``j``-th working day after the due date; without a limit
chases repeat while overdue, so they are computed by index instead of listed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

from schedules.calendar import WorkCalendar
from schedules.clock import OFFICE_TZ
from schedules.obligation import STAGE_LEVEL, Reason, Stage
from schedules.policy import Policy


class Slot(NamedTuple):
    """One scheduled send (``at`` is aware, UTC)."""

    at: datetime
    stage: Stage
    label: str  # reminder offset, chase day (ISO) or "" for escalations
    reason: Reason


@lru_cache(maxsize=65536)
def make_instant(day: date, at: time) -> datetime:
    """Return the UTC instant of wall time ``at`` in Shanghai on ``day``."""
    return datetime.combine(day, at, tzinfo=OFFICE_TZ).astimezone(UTC)


def _find_offset_day(due: date, n: int, unit: str, cal: WorkCalendar) -> date:
    # The due day (0), or n working / calendar days before it; a calendar day that is not a
    # working day moves to the working day before it.
    if n == 0:
        return cal.workday_on_or_before(due)
    if unit == "days":
        return cal.workday_on_or_before(due - timedelta(days=n))
    return cal.nth_workday_before(due, n)


def _label(n: int, unit: str) -> str:
    # Working-day offsets keep their bare number ("remind-5@…"): existing dedupe keys still match.
    return f"{n}d" if unit == "days" and n else str(n)


def _list_reminder_slots(
    due: date, long_lead: bool, policy: Policy, cal: WorkCalendar
) -> list[Slot]:
    by_day: dict[date, Slot] = {}
    early = sorted(policy.early_offsets, reverse=True) if long_lead else []
    short = sorted(policy.remind_offsets, reverse=True)
    for offset in early:
        day = _find_offset_day(due, offset, policy.early_unit, cal)
        label = _label(offset, policy.early_unit)
        by_day[day] = Slot(
            make_instant(day, policy.send_time), Stage.REMIND, label, Reason.EARLY_REMINDER
        )
    for offset in short:
        day = _find_offset_day(due, offset, policy.remind_unit, cal)
        if offset == 0:
            reason = Reason.DUE_TODAY
        else:
            reason = Reason.FIRST_REMINDER if offset == short[0] else Reason.REPEAT_DUE
        # Two offsets landing on one day (a due day on a weekend) send once: the nearer one.
        label = _label(offset, policy.remind_unit)
        by_day[day] = Slot(make_instant(day, policy.send_time), Stage.REMIND, label, reason)
    return list(by_day.values())


@lru_cache(maxsize=16384)
def list_fixed_slots(
    due: date,
    is_lead: bool,
    policy: Policy,
    cal: WorkCalendar,
    level: int = 0,
    long_lead: bool = False,
) -> tuple[Slot, ...]:
    """Return the reminder and escalation slots of an obligation, in time order.

    Escalations at or below ``level`` (already reached) are left out: never sent twice. The
    early reminders are added when ``long_lead`` (the lead time exceeds ``early_lead``).
    """
    slots: list[Slot] = []
    if is_lead or policy.support_reminders:
        slots += _list_reminder_slots(due, long_lead, policy, cal)
    if is_lead or policy.support_escalations:
        for stage, n, reason in (
            (Stage.OFFICE, policy.office_at, Reason.ESCALATE_OFFICE),
            (Stage.LEADER, policy.leader_at, Reason.ESCALATE_LEADER),
        ):
            if STAGE_LEVEL[stage] <= level or n == 0:
                continue
            day = cal.add_workdays(due, n)
            slots.append(Slot(make_instant(day, policy.send_time), stage, "", reason))
    return tuple(sorted(slots))


def is_chased(is_lead: bool, policy: Policy) -> bool:
    """Return True when this obligation gets automatic 催办 after its deadline."""
    return (is_lead or policy.support_escalations) and policy.chase_max != 0


def _find_last_chase(policy: Policy) -> int | None:
    # The index of the last automatic 催办, or None without a limit.
    if policy.chase_every == 0:
        return policy.chase_after
    if policy.chase_max is None:
        return None
    return policy.chase_after + (policy.chase_max - 1) * policy.chase_every


def make_chase_slot(due: date, j: int, policy: Policy, cal: WorkCalendar) -> Slot:
    """Return the chase slot on the ``j``-th working day after ``due``."""
    day = cal.add_workdays(due, j)
    reason = Reason.FIRST_CHASE if j == policy.chase_after else Reason.REPEAT_CHASE
    return Slot(make_instant(day, policy.send_time), Stage.CHASE, day.isoformat(), reason)


def count_overdue_days(due: date, t: datetime, policy: Policy, cal: WorkCalendar) -> int:
    """Count the working days after ``due`` whose send instant is at or before ``t``."""
    local = t.astimezone(OFFICE_TZ)
    day = local.date()
    if local.time() < policy.send_time:
        day -= timedelta(days=1)
    return cal.workdays_between(due, day)


def find_latest_chase(m: int, policy: Policy) -> int | None:
    """Return the last chase index ``j <= m`` of the repeat sequence, or None."""
    if m < policy.chase_after:
        return None
    if policy.chase_every == 0:
        return policy.chase_after
    j = policy.chase_after + (m - policy.chase_after) // policy.chase_every * policy.chase_every
    last = _find_last_chase(policy)
    return j if last is None else min(j, last)


def find_next_chase(m: int, policy: Policy) -> int | None:
    """Return the first chase index ``j > m`` of the repeat sequence, or None."""
    if m < policy.chase_after:
        return policy.chase_after
    if policy.chase_every == 0:
        return None
    steps = (m - policy.chase_after) // policy.chase_every + 1
    j = policy.chase_after + steps * policy.chase_every
    last = _find_last_chase(policy)
    return j if last is None or j <= last else None


def is_in_window(t: datetime, policy: Policy, cal: WorkCalendar) -> bool:
    """Return True when ``t`` is on a working day inside the office window (Shanghai time)."""
    local = t.astimezone(OFFICE_TZ)
    wall = local.time().replace(tzinfo=None)
    return cal.is_workday(local.date()) and policy.window_start <= wall <= policy.window_end


def find_next_opening(t: datetime, policy: Policy, cal: WorkCalendar) -> datetime:
    """Return the first instant at or after ``t`` that is inside the office window."""
    local = t.astimezone(OFFICE_TZ)
    day = local.date()
    if not cal.is_workday(day) or local.time().replace(tzinfo=None) > policy.window_end:
        day = cal.add_workdays(day, 1)
    opening = make_instant(day, policy.window_start)
    return max(opening, t.astimezone(UTC))
