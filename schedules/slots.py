"""Where the scheduled sends of one obligation fall (pure working-day math for :mod:`rules`).

A *slot* is one scheduled send: reminders before the due date, the chase on each repeat day
after it, and the office and leader escalations. Chase slot ``j`` is on the ``j``-th working
day after the due date; chases repeat forever while overdue, so they are computed by index
instead of listed.
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


def _list_reminder_slots(due: date, policy: Policy, cal: WorkCalendar) -> list[Slot]:
    by_day: dict[date, Slot] = {}
    first = max(policy.remind_offsets, default=0)
    for offset in sorted(policy.remind_offsets, reverse=True):
        day = cal.workday_on_or_before(due) if offset == 0 else cal.nth_workday_before(due, offset)
        if offset == 0:
            reason = Reason.DUE_TODAY
        else:
            reason = Reason.FIRST_REMINDER if offset == first else Reason.REPEAT_DUE
        # Two offsets landing on one day (a due day on a weekend) send once: the nearer one.
        by_day[day] = Slot(make_instant(day, policy.send_time), Stage.REMIND, str(offset), reason)
    return list(by_day.values())


@lru_cache(maxsize=16384)
def list_fixed_slots(
    due: date, is_lead: bool, policy: Policy, cal: WorkCalendar, level: int = 0
) -> tuple[Slot, ...]:
    """Return the reminder and escalation slots of an obligation, in time order.

    Escalations at or below ``level`` (already reached) are left out: never sent twice.
    """
    slots: list[Slot] = []
    if is_lead or policy.support_reminders:
        slots += _list_reminder_slots(due, policy, cal)
    if is_lead or policy.support_escalations:
        for stage, n, reason in (
            (Stage.OFFICE, policy.office_at, Reason.ESCALATE_OFFICE),
            (Stage.LEADER, policy.leader_at, Reason.ESCALATE_LEADER),
        ):
            if STAGE_LEVEL[stage] <= level:
                continue
            day = cal.add_workdays(due, n)
            slots.append(Slot(make_instant(day, policy.send_time), stage, "", reason))
    return tuple(sorted(slots))


def is_chased(is_lead: bool, policy: Policy) -> bool:
    """Return True when this obligation is chased after its deadline."""
    return is_lead or policy.support_escalations


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
    return policy.chase_after + (m - policy.chase_after) // policy.chase_every * policy.chase_every


def find_next_chase(m: int, policy: Policy) -> int | None:
    """Return the first chase index ``j > m`` of the repeat sequence, or None."""
    if m < policy.chase_after:
        return policy.chase_after
    if policy.chase_every == 0:
        return None
    steps = (m - policy.chase_after) // policy.chase_every + 1
    return policy.chase_after + steps * policy.chase_every


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
