"""Test helper: step the pure engine through time the way the service does (no I/O)."""

from __future__ import annotations

from datetime import date, datetime

from schedules.calendar import WorkCalendar
from schedules.clock import OFFICE_TZ
from schedules.machine import Event, apply_event
from schedules.policy import Policy
from schedules.rules import Action, ObligationState, Stage, decide

SEND_EVENT = {
    Stage.ASSIGN: Event.ASSIGN_SENT,
    Stage.LAPSE: Event.LAPSE,
    Stage.REMIND: Event.REMIND_SENT,
    Stage.CHASE: Event.CHASE_SENT,
    Stage.OFFICE: Event.ESCALATED,
    Stage.LEADER: Event.ESCALATED,
}


def local_at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """Return Shanghai wall time on ``day`` as an aware instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=OFFICE_TZ)


def record(state: ObligationState, action: Action, when: datetime) -> ObligationState:
    """Record a send on the state, as the delivery pipeline does."""
    return apply_event(state, SEND_EVENT[action.stage], actor="engine", at=when, action=action)[0]


def drive(
    state: ObligationState, policy: Policy, cal: WorkCalendar, start: datetime, end: datetime
) -> tuple[ObligationState, list[Action]]:
    """Ask the engine at ``start`` and then only at each ``next_at`` until ``end``."""
    t, sent = start, []
    while t <= end:
        decision = decide(state, policy, cal, t)
        if decision.action is not None:
            state = record(state, decision.action, t)
            sent.append(decision.action)
        if decision.next_at is None:
            break
        assert decision.next_at > t, "the engine must always move forward"
        t = decision.next_at
    return state, sent


def list_days(actions: list[Action], stage: Stage) -> list[str]:
    """Return the Shanghai send days (ISO) of the actions of one stage."""
    return [a.at.astimezone(OFFICE_TZ).date().isoformat() for a in actions if a.stage is stage]
