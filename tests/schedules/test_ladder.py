"""The shipped default ladder: 交办, reminders by lead time, bounded 催办, one 督办, roll-over."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.machine import Event, TransitionError, apply_event
from schedules.policy import LEGACY_POLICY, Policy
from schedules.rules import ObligationState, Reason, Recipient, Stage, Status, decide
from tests.schedules.engine_driver import drive, list_days, local_at

CAL = load_calendar()
DEFAULT = Policy()

# The worked examples of tests/schedules/test_rules.py under the default: the same reminder,
# first-chase and 督办 days (调休 included), a second 催办 the next working day, and then nothing.
WORKED = [
    (date(2024, 9, 26), ["2024-09-19", "2024-09-24", "2024-09-26"], ["2024-09-27", "2024-09-29"], "2024-09-30"),
    (date(2024, 10, 8), ["2024-09-25", "2024-09-29", "2024-10-08"], ["2024-10-09", "2024-10-10"], "2024-10-11"),
    (date(2024, 4, 20), ["2024-04-15", "2024-04-18", "2024-04-19"], ["2024-04-22", "2024-04-23"], "2024-04-24"),
]  # fmt: skip


@pytest.mark.parametrize(("due", "reminders", "chases", "office"), WORKED)
def test_it_chases_twice_escalates_once_and_then_stays_quiet(
    due: date, reminders: list[str], chases: list[str], office: str
) -> None:
    start = local_at(due - timedelta(days=30), 0)
    state = ObligationState(due=due, since=start)
    final, sent = drive(state, DEFAULT, CAL, start, local_at(due + timedelta(days=400), 23))
    assert list_days(sent, Stage.REMIND) == reminders
    assert list_days(sent, Stage.CHASE) == chases
    assert list_days(sent, Stage.OFFICE) == [office]
    assert list_days(sent, Stage.LEADER) == []
    assert [a.reason for a in sent if a.stage is Stage.CHASE] == [
        Reason.FIRST_CHASE,
        Reason.REPEAT_CHASE,
    ]
    assert (final.status, final.level) == (Status.ESCALATED, 2)
    assert decide(final, DEFAULT, CAL, local_at(due + timedelta(days=500))).next_at is None


def test_it_never_sends_more_than_the_limit_of_chases() -> None:
    for k in range(0, 366, 3):
        due = date(2024, 1, 1) + timedelta(days=k)
        for policy in (DEFAULT, replace(DEFAULT, chase_every=2, chase_max=3, office_at=6)):
            state = ObligationState(due=due, since=local_at(due - timedelta(days=20), 0))
            _, sent = drive(state, policy, CAL, state.since, local_at(due + timedelta(days=90)))  # type: ignore[arg-type]
            assert len(list_days(sent, Stage.CHASE)) == policy.chase_max, due
            assert len(list_days(sent, Stage.OFFICE)) == 1


def _escalated(due: date) -> ObligationState:
    start = local_at(due - timedelta(days=10), 0)
    final, _ = drive(
        ObligationState(due=due, since=start),
        DEFAULT,
        CAL,
        start,
        local_at(due + timedelta(days=20)),
    )
    return final


def test_it_sends_one_more_chase_when_the_office_asks_and_audits_it() -> None:
    state = _escalated(date(2024, 9, 26))
    asked = local_at(date(2024, 10, 10), 11)
    state, audit = apply_event(
        state, Event.REQUEST_CHASE, actor="王科长", at=asked, reason="电话未接"
    )
    assert (audit.event, audit.actor, audit.reason) == (Event.REQUEST_CHASE, "王科长", "电话未接")
    decision = decide(state, DEFAULT, CAL, asked)
    assert decision.action is not None
    assert (decision.action.stage, decision.action.reason) == (Stage.CHASE, Reason.MANUAL_CHASE)
    assert decision.action.recipients == (Recipient.UNIT_CONTACTS,)
    assert decision.action.seq == "chase-m20241010T110000@2024-09-26"
    final, sent = drive(state, DEFAULT, CAL, asked, local_at(date(2025, 3, 1)))
    assert [a.reason for a in sent] == [Reason.MANUAL_CHASE]
    assert final.level == 2 and final.status is Status.ESCALATED


def test_it_holds_an_office_chase_asked_after_hours_for_the_next_window() -> None:
    state = _escalated(date(2024, 9, 26))
    evening = local_at(date(2024, 9, 30), 20)  # then the National Day holiday
    state, _ = apply_event(state, Event.REQUEST_CHASE, actor="王科长", at=evening)
    decision = decide(state, DEFAULT, CAL, evening)
    assert decision.action is None and decision.reason is Reason.OUTSIDE_WINDOW
    assert decision.next_at == local_at(date(2024, 10, 8))
    morning = decide(state, DEFAULT, CAL, local_at(date(2024, 10, 8)))
    assert morning.action is not None and morning.action.reason is Reason.MANUAL_CHASE


def test_it_refuses_an_office_chase_on_a_closed_obligation() -> None:
    closed = replace(_escalated(date(2024, 9, 26)), status=Status.ACCEPTED)
    with pytest.raises(TransitionError, match="再次催办"):
        apply_event(closed, Event.REQUEST_CHASE, actor="王科长", at=local_at(date(2024, 10, 10)))


@pytest.mark.parametrize("policy", [DEFAULT, replace(LEGACY_POLICY, roll_over=True)])
def test_it_rolls_a_missed_monthly_report_over_when_the_next_falls_due(policy: Policy) -> None:
    september = ObligationState(
        due=date(2024, 9, 26), since=local_at(date(2024, 9, 1), 0), lapses_on=date(2024, 10, 26)
    )
    final, sent = drive(september, policy, CAL, september.since, local_at(date(2024, 12, 31)))  # type: ignore[arg-type]
    lapse = [a for a in sent if a.stage is Stage.LAPSE]
    assert len(lapse) == 1 and lapse[0].recipients == () and lapse[0].reason is Reason.ROLLED_OVER
    assert lapse[0].at == local_at(date(2024, 10, 26), 0)  # a Saturday: no window needed
    assert sent[-1] is lapse[0]  # nothing after it
    assert all(a.at < lapse[0].at for a in sent[:-1])
    assert final.status is Status.LAPSED
    assert decide(final, policy, CAL, local_at(date(2024, 11, 1))).reason is Reason.RESOLVED
    late, audit = apply_event(final, Event.SUBMIT, actor="区应急局", at=local_at(date(2024, 11, 1)))
    assert (audit.from_status, late.status) == (Status.LAPSED, Status.SUBMITTED)


def test_it_chases_a_missed_report_alongside_the_next_without_roll_over() -> None:
    september = ObligationState(
        due=date(2024, 9, 26), since=local_at(date(2024, 9, 1), 0), lapses_on=date(2024, 10, 26)
    )
    end = local_at(date(2024, 12, 31))
    final, sent = drive(september, LEGACY_POLICY, CAL, september.since, end)  # type: ignore[arg-type]
    assert Stage.LAPSE not in {a.stage for a in sent} and final.status is Status.ESCALATED
    assert list_days(sent, Stage.CHASE)[-1] == "2024-12-31"  # the old policy's endless chase


def test_it_does_not_roll_over_what_was_extended_past_the_next_occurrence() -> None:
    extended = ObligationState(
        due=date(2024, 11, 15), since=local_at(date(2024, 9, 1), 0), lapses_on=date(2024, 10, 26)
    )
    _, sent = drive(extended, DEFAULT, CAL, extended.since, local_at(date(2024, 12, 31)))  # type: ignore[arg-type]
    assert Stage.LAPSE not in {a.stage for a in sent}


def test_it_sends_the_assignment_first_then_the_reminders() -> None:
    activated = local_at(date(2024, 9, 2), 8)  # before the window opens
    state = ObligationState(due=date(2024, 9, 26), since=activated, assign_at=activated)
    _, sent = drive(state, DEFAULT, CAL, activated, local_at(date(2024, 9, 26), 12))
    assert sent[0].stage is Stage.ASSIGN and sent[0].reason is Reason.ASSIGNED
    assert sent[0].at == local_at(date(2024, 9, 2), 9) and sent[0].seq == "assign@2024-09-26"
    assert sent[0].recipients == (Recipient.UNIT_CONTACTS,)
    assert list_days(sent, Stage.REMIND) == ["2024-09-19", "2024-09-24", "2024-09-26"]
    _, quiet = drive(
        state, replace(DEFAULT, assign=False), CAL, activated, local_at(date(2024, 9, 20))
    )
    assert Stage.ASSIGN not in {a.stage for a in quiet}


def test_it_sends_the_assignment_on_catch_up_before_a_missed_reminder() -> None:
    activated = local_at(date(2024, 9, 2), 10)
    state = ObligationState(due=date(2024, 9, 26), since=activated, assign_at=activated)
    decision = decide(state, DEFAULT, CAL, local_at(date(2024, 9, 20), 10))
    assert decision.action is not None and decision.action.stage is Stage.ASSIGN


@pytest.mark.parametrize(
    ("starts_on", "due", "policy", "reminders"),
    [
        # 260 days of lead time: 30 calendar days before is Sunday 12-01 -> Friday 11-29.
        (date(2024, 4, 15), date(2024, 12, 31), DEFAULT, ["2024-11-29", "2024-12-24", "2024-12-27", "2024-12-31"]),
        # A month of lead time (a monthly report): only the short ones.
        (date(2024, 10, 26), date(2024, 11, 26), DEFAULT, ["2024-11-19", "2024-11-22", "2024-11-26"]),
        # 30 days before 10-29 is Sunday 09-29, a make-up working day (调休): sent that day.
        (date(2024, 4, 15), date(2024, 10, 29), DEFAULT, ["2024-09-29", "2024-10-22", "2024-10-25", "2024-10-29"]),
        # In working days: 20 working days before 10-29 skip the National Day holiday and count
        # the make-up days 10-12 and 09-29.
        (date(2024, 4, 15), date(2024, 10, 29), replace(DEFAULT, early_unit="workdays", early_offsets=(20,)),
         ["2024-09-26", "2024-10-22", "2024-10-25", "2024-10-29"]),
        # Short reminders in calendar days: 7 days before Sunday 11-10 is Sunday 11-03 -> Friday.
        (date(2024, 10, 1), date(2024, 11, 10), replace(DEFAULT, remind_unit="days", remind_offsets=(7, 0)),
         ["2024-11-01", "2024-11-08"]),
    ],
)  # fmt: skip
def test_it_scales_reminders_with_the_lead_time(
    starts_on: date, due: date, policy: Policy, reminders: list[str]
) -> None:
    since = local_at(starts_on, 0)
    state = ObligationState(due=due, since=since, starts_on=starts_on)
    _, sent = drive(state, policy, CAL, since, local_at(due, 12))
    assert list_days(sent, Stage.REMIND) == reminders
    first = sent[0]
    long_lead = (due - starts_on).days > policy.early_lead
    assert first.reason is (Reason.EARLY_REMINDER if long_lead else Reason.FIRST_REMINDER)
    if long_lead and policy.early_unit == "days":
        assert first.seq == f"remind-30d@{due.isoformat()}"
    assert all(a.at.astimezone(OFFICE_TZ).hour == 9 for a in sent)


@pytest.mark.parametrize("event", [Event.REOPEN, Event.CONFIRM_OPEN])
def test_it_chases_twice_again_after_a_reopen_or_a_confirmation(event: Event) -> None:
    due = date(2024, 9, 26)
    if event is Event.REOPEN:
        state = replace(_escalated(due), status=Status.SUBMITTED)
    else:
        state = ObligationState(due=due, status=Status.TO_CONFIRM, since=local_at(date(2024, 9, 2)))
    at = local_at(date(2024, 10, 9), 10)
    state, _ = apply_event(state, event, actor="安委办", at=at, reason="材料不全")
    _, sent = drive(state, DEFAULT, CAL, at, local_at(date(2025, 3, 1)))
    assert list_days(sent, Stage.CHASE) == ["2024-10-10", "2024-10-11"]
    assert [a.stage for a in sent] == [Stage.CHASE, Stage.CHASE]  # its 督办 day was before


def test_it_refuses_an_office_chase_before_the_deadline_has_passed() -> None:
    state = ObligationState(due=date(2024, 9, 26), since=local_at(date(2024, 9, 1)))
    with pytest.raises(TransitionError, match="尚未过"):
        apply_event(state, Event.REQUEST_CHASE, actor="王科长", at=local_at(date(2024, 9, 26), 16))
