"""Hypothesis property tests for the engine's invariants, under random outages and events.

1. nothing is sent while an obligation is accepted (or waived);
2. the escalation level never drops except on reopen or a granted extension;
3. at most one action per obligation, stage and occurrence (``seq``);
4. every send is a working-day instant inside the office window.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.machine import AuditRecord, Event, TransitionError, apply_event
from schedules.policy import Policy
from schedules.rules import Action, ObligationState, Status, decide
from tests.schedules.engine_driver import local_at, record

CAL = load_calendar()
POLICIES = [
    Policy(),
    replace(Policy(), chase_every=2, office_at=2, leader_at=5, send_time=Policy().window_start),
    replace(Policy(), remind_offsets=(1, 0), chase_every=0, support_escalations=True),
]
EXTERNAL = [
    Event.SUBMIT,
    Event.ACCEPT,
    Event.REOPEN,
    Event.REQUEST_EXTENSION,
    Event.GRANT_EXTENSION,
    Event.REFUSE_EXTENSION,
    Event.WAIVE,
]
# Outages: how late the service wakes after the engine's next_at.
DELAYS = [timedelta(0), timedelta(minutes=7), timedelta(hours=3), timedelta(hours=9), timedelta(days=2), timedelta(days=6)]  # fmt: skip


@dataclass
class Run:
    """What happened in one simulated life of an obligation."""

    state: ObligationState
    policy: Policy
    actions: list[Action] = field(default_factory=list)
    audits: list[AuditRecord] = field(default_factory=list)
    sent_while_closed: int = 0


def _apply_external(run: Run, event: Event, when: datetime, days: int) -> None:
    new_due = run.state.due + timedelta(days=days) if event is Event.REQUEST_EXTENSION else None
    try:
        run.state, audit = apply_event(run.state, event, actor="办公室", at=when, new_due=new_due)
    except TransitionError:
        return  # illegal in this status: the UI would not offer it
    run.audits.append(audit)


def _ask_engine(run: Run, when: datetime) -> datetime | None:
    closed = run.state.status in (Status.ACCEPTED, Status.WAIVED)
    decision = decide(run.state, run.policy, CAL, when)
    if decision.action is not None:
        run.sent_while_closed += closed
        run.actions.append(decision.action)
        run.state = record(run.state, decision.action, when)
    assert decision.next_at is None or decision.next_at > when
    if closed:
        assert decision.next_at is None
    return decision.next_at


def _run_life(
    run: Run,
    events: list[tuple[datetime, Event, int]],
    delays: list[timedelta],
    start: datetime,
    end: datetime,
) -> None:
    wake: datetime | None = start
    for tick in range(10_000):
        if events and (wake is None or events[0][0] <= wake):
            when, event, days = events.pop(0)
            _apply_external(run, event, when, days)
            wake = when  # the service re-decides after every state change
            continue
        if wake is None or wake > end:
            return
        nxt = _ask_engine(run, wake)
        wake = None if nxt is None else nxt + delays[tick % len(delays)]
    raise AssertionError("the engine did not settle")


@st.composite
def draw_lives(
    draw: st.DrawFn,
) -> tuple[Run, list[tuple[datetime, Event, int]], list[timedelta], datetime]:
    due = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31)))
    start = local_at(due - timedelta(days=draw(st.integers(0, 20))), draw(st.integers(0, 23)))
    state = ObligationState(due=due, is_lead=draw(st.booleans()), since=start)
    run = Run(state, draw(st.sampled_from(POLICIES)))
    raw = draw(
        st.lists(
            st.tuples(st.integers(0, 60 * 24 * 45), st.sampled_from(EXTERNAL), st.integers(1, 30)),
            max_size=8,
        )
    )
    events = sorted((start + timedelta(minutes=m), e, d) for m, e, d in raw)
    delays = draw(st.lists(st.sampled_from(DELAYS), min_size=1, max_size=6))
    return run, events, delays, start


@settings(max_examples=300, deadline=None)
@given(draw_lives())
def test_it_keeps_the_four_invariants(
    life: tuple[Run, list[tuple[datetime, Event, int]], list[timedelta], datetime],
) -> None:
    run, events, delays, start = life
    _run_life(run, events, delays, start, start + timedelta(days=60))
    assert run.sent_while_closed == 0
    for audit in run.audits:
        if audit.event not in (Event.REOPEN, Event.GRANT_EXTENSION):
            assert audit.level_after >= audit.level_before, audit
    keys = [(a.stage, a.seq) for a in run.actions]
    assert len(keys) == len(set(keys))
    for action in run.actions:
        local = action.at.astimezone(OFFICE_TZ)
        assert CAL.is_workday(local.date()), action
        assert run.policy.window_start <= local.time() <= run.policy.window_end, action
        assert action.at >= action.scheduled_at
