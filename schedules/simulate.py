"""Dry-run the engine over in-memory obligations with a simulated clock (pure; nothing is sent).

Event-driven: each obligation is asked again only at the engine's ``next_at``, so a three-year
plan costs O(actions), not O(minutes). A seeded RNG decides which units submit and on which
working day around the due date; ``submit_rate=0`` means nobody reports, so every escalation
shows.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from schedules.calendar import WorkCalendar, describe_fallback
from schedules.clock import OFFICE_TZ
from schedules.machine import Event, apply_event
from schedules.obligation import Action, ObligationState, Stage, Status
from schedules.policy import Policy
from schedules.rules import decide, needs_confirmation
from schedules.slots import make_instant

SIM_ACTOR = "simulation"
SUBMIT_TIME = time(14, 0)
# Working days relative to the due date on which a submitting unit reports (0 = due day).
SUBMIT_OFFSETS = (-3, -2, -1, 0, 0, 0, 1, 2, 3)
STAGE_LABEL = {
    Stage.ASSIGN: "交办",
    Stage.REMIND: "提醒",
    Stage.CHASE: "催办",
    Stage.OFFICE: "督办",
    Stage.LEADER: "通报",
    Stage.LAPSE: "逾期未报",
}
_SEND_EVENT = {
    Stage.ASSIGN: Event.ASSIGN_SENT,
    Stage.LAPSE: Event.LAPSE,
    Stage.REMIND: Event.REMIND_SENT,
    Stage.CHASE: Event.CHASE_SENT,
    Stage.OFFICE: Event.ESCALATED,
    Stage.LEADER: Event.ESCALATED,
}


@dataclass(frozen=True)
class SimObligation:
    """One simulated obligation: a unit owes ``task_ref`` by ``due``.

    ``assign``: this obligation is listed in the unit's 交办 at the start (one per duty and
    unit); ``starts_on``: where its lead time starts (None: the simulation's start);
    ``lapses_on``: the next occurrence's due date of a recurring duty.
    """

    unit: str
    task_ref: str
    due: date
    is_lead: bool = True
    leaders: tuple[str, ...] = ()
    policy: Policy | None = None  # None: the simulation's policy
    assign: bool = False
    starts_on: date | None = None
    lapses_on: date | None = None


@dataclass(frozen=True)
class SimAction:
    """One action the engine would have taken."""

    obligation: SimObligation
    action: Action

    def to_json(self) -> dict[str, Any]:
        """Return the JSON shape of ``duban simulate --json``."""
        return {
            "at": self.action.at.astimezone(OFFICE_TZ).isoformat(),
            "stage": self.action.stage.value,
            "level": self.action.level,
            "unit": self.obligation.unit,
            "task_ref": self.obligation.task_ref,
            "due": self.obligation.due.isoformat(),
            "reason": self.action.reason.value,
            "seq": self.action.seq,
        }


@dataclass(frozen=True)
class SimResult:
    """Actions in time order, totals, and the calendar fallback warnings."""

    actions: tuple[SimAction, ...]
    totals: dict[str, int]
    warnings: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Return ``{"actions": [...], "totals": {...}, "warnings": [...]}``."""
        return {
            "actions": [a.to_json() for a in self.actions],
            "totals": dict(self.totals),
            "warnings": list(self.warnings),
        }


def _draw_submit_instant(ob: SimObligation, rng: random.Random, cal: WorkCalendar) -> datetime:
    offset = rng.choice(SUBMIT_OFFSETS)
    day = cal.workday_on_or_before(ob.due) if offset == 0 else cal.add_workdays(ob.due, offset)
    return make_instant(day, SUBMIT_TIME)


def _make_initial_state(ob: SimObligation, start: datetime) -> ObligationState:
    past = needs_confirmation(ob.due, start)
    return ObligationState(
        due=ob.due,
        is_lead=ob.is_lead,
        since=start,
        status=Status.TO_CONFIRM if past else Status.OPEN,
        assign_at=start if ob.assign and not past else None,
        starts_on=ob.starts_on or start.astimezone(OFFICE_TZ).date(),
        lapses_on=ob.lapses_on,
    )


def _seed_queue(
    obligations: Sequence[SimObligation], cal: WorkCalendar, start: datetime, rate: float, seed: int
) -> list[tuple[datetime, int, int]]:
    # Entries are (instant, kind, index); kind 0 = submit, 1 = ask the engine. Submits sort first.
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"submit_rate 应在 0 到 1 之间，收到 {rate}")
    rng = random.Random(seed)
    queue = [(start, 1, i) for i in range(len(obligations))]
    for i, ob in enumerate(obligations):
        if rng.random() < rate:
            queue.append((_draw_submit_instant(ob, rng, cal), 0, i))
    heapq.heapify(queue)
    return queue


def simulate(
    obligations: Sequence[SimObligation],
    policy: Policy,
    cal: WorkCalendar,
    *,
    start: datetime,
    end: datetime,
    submit_rate: float = 0.7,
    seed: int = 0,
) -> SimResult:
    """Run the engine from ``start`` to ``end`` (aware instants) and collect what it would send."""
    # UTC throughout: comparing instants with different tzinfo costs a zone lookup each time.
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    states = [_make_initial_state(ob, start) for ob in obligations]
    queue = _seed_queue(obligations, cal, start, submit_rate, seed)
    actions = _run(queue, states, obligations, policy, cal, end)
    return _summarise(actions, states, cal, start, end)


def _run(
    queue: list[tuple[datetime, int, int]],
    states: list[ObligationState],
    obligations: Sequence[SimObligation],
    policy: Policy,
    cal: WorkCalendar,
    end: datetime,
) -> list[SimAction]:
    actions: list[SimAction] = []
    while queue and queue[0][0] <= end:
        at, kind, i = heapq.heappop(queue)
        if kind == 0:
            states[i] = _submit(states[i], at)
            continue
        sent, next_at = _ask(states, i, obligations[i], obligations[i].policy or policy, cal, at)
        if sent is not None:
            actions.append(sent)
        if next_at is not None and next_at <= end:
            heapq.heappush(queue, (next_at, 1, i))
    return actions


def _submit(state: ObligationState, at: datetime) -> ObligationState:
    if state.status in (Status.SUBMITTED, Status.ACCEPTED, Status.WAIVED):
        return state
    return apply_event(state, Event.SUBMIT, actor=SIM_ACTOR, at=at)[0]


def _ask(
    states: list[ObligationState],
    i: int,
    ob: SimObligation,
    policy: Policy,
    cal: WorkCalendar,
    at: datetime,
) -> tuple[SimAction | None, datetime | None]:
    # Ask the engine at ``at``; record the send on the state as the service would.
    decision = decide(states[i], policy, cal, at)
    if decision.action is None:
        return None, decision.next_at
    event = _SEND_EVENT[decision.action.stage]
    states[i] = apply_event(states[i], event, actor=SIM_ACTOR, at=at, action=decision.action)[0]
    return SimAction(ob, decision.action), decision.next_at


def _summarise(
    actions: list[SimAction],
    states: list[ObligationState],
    cal: WorkCalendar,
    start: datetime,
    end: datetime,
) -> SimResult:
    by_stage = Counter(a.action.stage.value for a in actions)
    by_status = Counter(s.status.value for s in states)
    totals = {
        "obligations": len(states),
        "actions": len(actions),
        **{stage.value: by_stage.get(stage.value, 0) for stage in Stage},
        "units": len({a.obligation.unit for a in actions}),
        "submitted": by_status.get(Status.SUBMITTED.value, 0),
        "lapsed": by_status.get(Status.LAPSED.value, 0),
        "to_confirm": by_status.get(Status.TO_CONFIRM.value, 0),
        "max_level": max((s.level for s in states), default=0),
    }
    days = (start.astimezone(OFFICE_TZ).date(), end.astimezone(OFFICE_TZ).date())
    warnings = describe_fallback(cal.uncovered_years(*days))
    return SimResult(tuple(actions), totals, warnings)


def render_timeline(result: SimResult) -> str:
    """Render the day-by-day timeline (per unit) and the totals as Chinese text."""
    lines = [*result.warnings]
    current: date | None = None
    for item in result.actions:
        local = item.action.at.astimezone(OFFICE_TZ)
        if local.date() != current:
            current = local.date()
            lines.append(f"{current.isoformat()}（周{'一二三四五六日'[current.weekday()]}）")
        label = STAGE_LABEL[item.action.stage]
        if item.action.stage is not Stage.LAPSE:  # a state change, not a send at a level
            label += f"(L{item.action.level})"
        lines.append(
            f"  {local:%H:%M} {label} {item.obligation.unit}"
            f" 任务 {item.obligation.task_ref} 截止 {item.obligation.due.isoformat()}"
        )
    totals = "，".join(f"{k}={v}" for k, v in result.totals.items())
    lines.append(f"合计：{totals}")
    return "\n".join(lines)
