from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.machine import Event, apply_event
from schedules.policy import LEGACY_POLICY, Policy
from schedules.rules import (
    ObligationState,
    Reason,
    Recipient,
    Stage,
    Status,
    decide,
    needs_confirmation,
    plan_actions,
)
from tests.schedules.engine_driver import drive, list_days, local_at, record

CAL = load_calendar()
# These tables were written for the policy before bounded chasing (催办 every working day, 通报
# at 10); tests/schedules/test_ladder.py covers the shipped default on the same examples.
POLICY = LEGACY_POLICY

# The worked examples (send days). Office/leader days the issue leaves blank were
# counted by hand on the 2024 State Council schedule (Qingming, Labour Day, National Day).
WORKED = [
    (
        date(2024, 9, 26),
        ["2024-09-19", "2024-09-24", "2024-09-26"],
        "2024-09-27",
        "2024-09-30",  # 09-29 is a make-up Sunday
        "2024-10-15",
    ),
    (
        date(2024, 10, 8),
        ["2024-09-25", "2024-09-29", "2024-10-08"],
        "2024-10-09",
        "2024-10-11",
        "2024-10-21",
    ),
    (
        date(2024, 4, 20),  # a Saturday: the due-day reminder moves to Friday
        ["2024-04-15", "2024-04-18", "2024-04-19"],
        "2024-04-22",
        "2024-04-24",
        "2024-05-07",
    ),
]


@pytest.mark.parametrize(("due", "reminders", "chase_from", "office", "leader"), WORKED)
def test_it_sends_the_worked_examples_on_the_right_days(
    due: date, reminders: list[str], chase_from: str, office: str, leader: str
) -> None:
    start = local_at(due - timedelta(days=30), 0)
    state = ObligationState(due=due, since=start)
    final, sent = drive(state, POLICY, CAL, start, local_at(due + timedelta(days=40), 23))
    assert list_days(sent, Stage.REMIND) == reminders
    assert list_days(sent, Stage.CHASE)[0] == chase_from
    assert list_days(sent, Stage.OFFICE) == [office]
    assert list_days(sent, Stage.LEADER) == [leader]
    assert final.level == 3 and final.status is Status.ESCALATED
    assert all(a.at.astimezone(OFFICE_TZ).hour == 9 and a.at.minute == 0 for a in sent)
    timeline = plan_actions(state, POLICY, CAL)
    assert [a.scheduled_at for a in timeline] == [a.at for a in sent][: len(timeline)]


def test_it_chases_every_working_day_and_lets_escalations_replace_that_days_chase() -> None:
    due = date(2024, 9, 26)
    state = ObligationState(due=due, since=local_at(due, 10))
    _, sent = drive(state, POLICY, CAL, local_at(due, 10), local_at(date(2024, 10, 17), 23))
    assert list_days(sent, Stage.CHASE) == [
        "2024-09-27", "2024-09-29", "2024-10-08", "2024-10-09", "2024-10-10",
        "2024-10-11", "2024-10-12", "2024-10-14", "2024-10-16", "2024-10-17",
    ]  # fmt: skip
    assert [a.reason for a in sent[:2]] == [Reason.FIRST_CHASE, Reason.REPEAT_CHASE]
    office = next(a for a in sent if a.stage is Stage.OFFICE)
    assert office.recipients == (
        Recipient.UNIT_CONTACTS,
        Recipient.UNIT_HEAD,
        Recipient.OFFICE_QUEUE,
    )
    assert len({a.seq for a in sent}) == len(sent)


DUE = date(2024, 9, 26)
REMINDED_5 = ObligationState(
    due=DUE,
    status=Status.REMINDED,
    since=local_at(date(2024, 9, 1)),
    last_stage=Stage.REMIND,
    last_seq="remind-5@2024-09-26",
    last_sent_at=local_at(date(2024, 9, 19)),
)


@pytest.mark.parametrize(
    ("state", "now", "stage", "seq", "next_day"),
    [
        (REMINDED_5, local_at(date(2024, 9, 27), 10), Stage.CHASE, "chase-2024-09-27@2024-09-26", "2024-09-29"),
        (REMINDED_5, local_at(date(2024, 10, 15), 11), Stage.LEADER, "leader@2024-09-26", "2024-10-16"),
        (REMINDED_5, local_at(date(2024, 10, 8), 9), Stage.OFFICE, "office@2024-09-26", "2024-10-09"),
        (replace(REMINDED_5, last_sent_at=None), local_at(date(2024, 9, 25), 12), Stage.REMIND, "remind-2@2024-09-26", "2024-09-26"),
        (REMINDED_5, local_at(date(2024, 9, 26), 17, 30), Stage.REMIND, "remind-0@2024-09-26", "2024-09-27"),
    ],
)  # fmt: skip
def test_it_catches_up_with_the_latest_stage_only_once(
    state: ObligationState, now: datetime, stage: Stage, seq: str, next_day: str
) -> None:
    decision = decide(state, POLICY, CAL, now)
    assert decision.action is not None
    assert (decision.action.stage, decision.action.seq) == (stage, seq)
    assert decision.action.at == now and decision.action.scheduled_at <= now
    after = record(state, decision.action, now)
    again = decide(after, POLICY, CAL, now + timedelta(minutes=1))
    assert again.action is None
    assert again.next_at is not None
    assert again.next_at.astimezone(OFFICE_TZ).date().isoformat() == next_day


def test_it_waits_for_the_window_and_keeps_a_missed_escalation() -> None:
    evening = local_at(date(2024, 9, 30), 20)  # office day, service back after hours
    decision = decide(REMINDED_5, POLICY, CAL, evening)
    assert decision.action is None and decision.reason is Reason.OUTSIDE_WINDOW
    assert decision.next_at == local_at(date(2024, 10, 8))  # after the National Day holiday
    morning = decide(REMINDED_5, POLICY, CAL, decision.next_at)
    assert morning.action is not None and morning.action.stage is Stage.OFFICE


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (Status.SUBMITTED, Reason.AWAITING_ACCEPTANCE),
        (Status.ACCEPTED, Reason.RESOLVED),
        (Status.WAIVED, Reason.RESOLVED),
        (Status.TO_CONFIRM, Reason.AWAITING_CONFIRMATION),
    ],
)
def test_it_does_nothing_while_paused_or_resolved(status: Status, reason: Reason) -> None:
    state = replace(REMINDED_5, status=status)
    decision = decide(state, POLICY, CAL, local_at(date(2024, 10, 15)))
    assert (decision.action, decision.next_at, decision.reason) == (None, None, reason)


@pytest.mark.parametrize(
    ("policy", "stages"),
    [
        (POLICY, {Stage.REMIND}),
        (replace(POLICY, support_escalations=True), set(Stage) - {Stage.ASSIGN, Stage.LAPSE}),
        (replace(POLICY, support_reminders=False), set()),
    ],
)
def test_it_lets_escalation_follow_the_lead_for_supporting_units(
    policy: Policy, stages: set[Stage]
) -> None:
    state = ObligationState(due=DUE, is_lead=False)
    _, sent = drive(state, policy, CAL, local_at(date(2024, 9, 1)), local_at(date(2024, 11, 1)))
    assert {a.stage for a in sent} == stages


def test_it_replans_reminders_from_a_granted_extension() -> None:
    state, _ = drive(
        ObligationState(due=DUE),
        POLICY,
        CAL,
        local_at(date(2024, 9, 1)),
        local_at(date(2024, 10, 9), 12),
    )
    assert state.level == 2
    state, _ = apply_event(
        state,
        Event.REQUEST_EXTENSION,
        actor="区应急局",
        at=local_at(date(2024, 10, 9), 13),
        new_due=date(2024, 10, 31),
    )
    state, audit = apply_event(
        state,
        Event.GRANT_EXTENSION,
        actor="安委办",
        at=local_at(date(2024, 10, 9), 14),
        reason="同意延期",
    )
    assert (audit.level_before, audit.level_after, state.due) == (2, 0, date(2024, 10, 31))
    _, sent = drive(
        state, POLICY, CAL, local_at(date(2024, 10, 9), 15), local_at(date(2024, 11, 1), 23)
    )
    assert list_days(sent, Stage.REMIND) == ["2024-10-24", "2024-10-29", "2024-10-31"]
    assert list_days(sent, Stage.CHASE) == ["2024-11-01"]
    assert all(a.seq.endswith("@2024-10-31") for a in sent)


def test_it_resumes_the_chase_after_reopen() -> None:
    state, _ = drive(
        ObligationState(due=DUE),
        POLICY,
        CAL,
        local_at(date(2024, 9, 1)),
        local_at(date(2024, 9, 27), 12),
    )
    state, _ = apply_event(
        state, Event.SUBMIT, actor="区应急局", at=local_at(date(2024, 9, 27), 15)
    )
    assert decide(state, POLICY, CAL, local_at(date(2024, 10, 9))).action is None
    state, audit = apply_event(
        state, Event.REOPEN, actor="安委办", at=local_at(date(2024, 10, 9), 10), reason="材料不全"
    )
    assert (audit.to_status, state.level) == (Status.REOPENED, 0)
    _, sent = drive(
        state, POLICY, CAL, local_at(date(2024, 10, 9), 10), local_at(date(2024, 10, 15), 12)
    )
    assert list_days(sent, Stage.CHASE) == ["2024-10-10", "2024-10-11", "2024-10-12", "2024-10-14"]
    assert list_days(sent, Stage.LEADER) == ["2024-10-15"]
    assert list_days(sent, Stage.OFFICE) == []  # its day was before the reopen


def test_it_flags_milestones_past_at_activation() -> None:
    activated = local_at(date(2024, 4, 15), 10)
    assert needs_confirmation(date(2024, 3, 31), activated)
    assert not needs_confirmation(date(2024, 4, 15), activated)
    assert not needs_confirmation(date(2024, 4, 20), activated)


def test_it_rejects_a_naive_now() -> None:
    with pytest.raises(ValueError, match="时区"):
        decide(REMINDED_5, POLICY, CAL, datetime(2024, 9, 27, 9))
