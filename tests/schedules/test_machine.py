from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from schedules.calendar_data import load_calendar
from schedules.machine import SOURCES, AuditRecord, Event, TransitionError, apply_event
from schedules.policy import LEGACY_POLICY
from schedules.rules import ObligationState, Stage, Status, plan_actions
from tests.schedules.engine_driver import local_at

DUE = date(2024, 9, 26)
T = local_at(date(2024, 9, 27), 10)
OPEN = ObligationState(due=DUE)
TIMELINE = plan_actions(OPEN, LEGACY_POLICY, load_calendar())
REMIND, CHASE, OFFICE, LEADER = (
    next(a for a in TIMELINE if a.stage is s)
    for s in (Stage.REMIND, Stage.CHASE, Stage.OFFICE, Stage.LEADER)
)


@pytest.mark.parametrize(
    ("state", "event", "kwargs", "status", "level"),
    [
        (OPEN, Event.REMIND_SENT, {"action": REMIND}, Status.REMINDED, 0),
        (replace(OPEN, status=Status.REMINDED), Event.CHASE_SENT, {"action": CHASE}, Status.OVERDUE, 1),
        (replace(OPEN, status=Status.OVERDUE, level=1), Event.ESCALATED, {"action": OFFICE}, Status.ESCALATED, 2),
        (replace(OPEN, status=Status.ESCALATED, level=2), Event.ESCALATED, {"action": LEADER}, Status.ESCALATED, 3),
        (replace(OPEN, status=Status.ESCALATED, level=3), Event.CHASE_SENT, {"action": CHASE}, Status.ESCALATED, 3),
        (replace(OPEN, status=Status.ESCALATED, level=3), Event.SUBMIT, {}, Status.SUBMITTED, 3),
        (replace(OPEN, status=Status.SUBMITTED, level=3), Event.ACCEPT, {}, Status.ACCEPTED, 3),
        (replace(OPEN, status=Status.SUBMITTED, level=3), Event.REOPEN, {}, Status.REOPENED, 0),
        (replace(OPEN, status=Status.ACCEPTED, level=2), Event.REOPEN, {}, Status.REOPENED, 0),
        (replace(OPEN, status=Status.OVERDUE, level=1), Event.REQUEST_EXTENSION, {}, Status.EXTENSION_REQUESTED, 1),
        (replace(OPEN, status=Status.EXTENSION_REQUESTED, level=1), Event.CHASE_SENT, {"action": CHASE}, Status.EXTENSION_REQUESTED, 1),
        (replace(OPEN, status=Status.EXTENSION_REQUESTED, level=1), Event.REFUSE_EXTENSION, {}, Status.OVERDUE, 1),
        (replace(OPEN, status=Status.EXTENSION_REQUESTED, level=2), Event.GRANT_EXTENSION, {"new_due": date(2024, 10, 31)}, Status.OPEN, 0),
        (replace(OPEN, status=Status.REMINDED), Event.WAIVE, {}, Status.WAIVED, 0),
        (replace(OPEN, status=Status.TO_CONFIRM), Event.CONFIRM_OPEN, {}, Status.OPEN, 0),
        (replace(OPEN, status=Status.TO_CONFIRM), Event.ACCEPT, {}, Status.ACCEPTED, 0),
    ],
)  # fmt: skip
def test_it_applies_legal_transitions_with_an_audit_record(
    state: ObligationState, event: Event, kwargs: dict[str, object], status: Status, level: int
) -> None:
    new, audit = apply_event(state, event, actor="安委办 张三", at=T, reason="测试", **kwargs)  # type: ignore[arg-type]
    assert (new.status, new.level) == (status, level)
    assert isinstance(audit, AuditRecord)
    assert (audit.event, audit.from_status, audit.to_status) == (event, state.status, status)
    assert (audit.actor, audit.reason, audit.at) == ("安委办 张三", "测试", T.astimezone(UTC))
    assert (audit.level_before, audit.level_after) == (state.level, level)


def test_it_moves_the_due_date_and_restarts_the_clock_on_grant() -> None:
    asked = replace(OPEN, status=Status.EXTENSION_REQUESTED, requested_due=date(2024, 10, 31))
    new, audit = apply_event(asked, Event.GRANT_EXTENSION, actor="安委办", at=T)
    assert (new.due, new.since, new.requested_due) == (date(2024, 10, 31), T.astimezone(UTC), None)
    assert (audit.due_before, audit.due_after) == (DUE, date(2024, 10, 31))


def test_it_records_what_was_sent() -> None:
    new, audit = apply_event(OPEN, Event.ESCALATED, actor="engine", at=T, action=OFFICE)
    assert (new.last_stage, new.last_seq, new.last_sent_at) == (
        Stage.OFFICE,
        OFFICE.seq,
        T.astimezone(UTC),
    )
    assert audit.seq == "office@2024-09-26"


ALL_STATUSES = list(Status)


@pytest.mark.parametrize(
    ("status", "event"),
    [(s, e) for e in Event for s in ALL_STATUSES if s not in SOURCES[e]],
)
def test_it_refuses_illegal_transitions_naming_status_and_event(
    status: Status, event: Event
) -> None:
    with pytest.raises(TransitionError) as info:
        apply_event(replace(OPEN, status=status), event, actor="x", at=T, action=CHASE)
    assert status.value in str(info.value)
    assert event.value in str(info.value)


@pytest.mark.parametrize(
    ("state", "event", "kwargs", "fragment"),
    [
        (OPEN, Event.CHASE_SENT, {}, "chase_sent"),
        (OPEN, Event.CHASE_SENT, {"action": REMIND}, "remind"),
        (replace(OPEN, due=date(2024, 10, 31)), Event.REMIND_SENT, {"action": REMIND}, "过期动作"),
        (replace(OPEN, status=Status.EXTENSION_REQUESTED), Event.GRANT_EXTENSION, {}, "new_due"),
        (replace(OPEN, status=Status.EXTENSION_REQUESTED), Event.GRANT_EXTENSION, {"new_due": DUE}, "必须晚于"),
        (OPEN, Event.SUBMIT, {"actor": " "}, "actor"),
        (OPEN, Event.SUBMIT, {"at": datetime(2024, 9, 27, 10)}, "时区"),
    ],
)  # fmt: skip
def test_it_explains_missing_or_wrong_event_data(
    state: ObligationState, event: Event, kwargs: dict[str, object], fragment: str
) -> None:
    args: dict[str, object] = {"actor": "安委办", "at": T, **kwargs}
    with pytest.raises(TransitionError, match=fragment):
        apply_event(state, event, **args)  # type: ignore[arg-type]
