"""再次交办: the pure rule that picks the 交办/督办 to re-send once (schedules/receipt.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from schedules.assessment import AssessmentError, Weights, parse_weights
from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.obligation import Status
from schedules.policy import Policy
from schedules.receipt import ReceiptState, Resent, decide_resend, receipt_deadline

CAL = load_calendar()
W = Weights()  # receipt_days 2, calendar days
WINDOW = Policy()
SENT = datetime(2024, 9, 2, 9, 5, tzinfo=OFFICE_TZ)  # a Monday
STATE = ReceiptState(Status.OPEN, date(2024, 9, 26), received=False, assign_sent_at=SENT)


def at(d: int, h: int = 9, m: int = 30) -> datetime:
    return datetime(2024, 9, d, h, m, tzinfo=OFFICE_TZ)


def test_an_unsigned_assign_is_resent_once_after_receipt_days() -> None:
    assert decide_resend(STATE, W, WINDOW, CAL, at(4, 9, 5)) is None  # exactly 2 days: not yet
    got = decide_resend(STATE, W, WINDOW, CAL, at(4, 9, 6))
    assert got is not None and got.kind is Resent.ASSIGN
    assert got.seq == "receipt-assign@2024-09-26" and got.sent_at == SENT
    done = replace(STATE, resent=frozenset({Resent.ASSIGN}))
    assert decide_resend(done, W, WINDOW, CAL, at(20)) is None  # once: never again


@pytest.mark.parametrize(
    "status",
    [Status.SUBMITTED, Status.ACCEPTED, Status.WAIVED, Status.LAPSED, Status.TO_CONFIRM],
)
def test_nothing_is_resent_once_reported_done_waived_or_closed(status: Status) -> None:
    assert decide_resend(replace(STATE, status=status), W, WINDOW, CAL, at(10)) is None


def test_nothing_is_resent_when_signed_never_sent_or_turned_off() -> None:
    assert decide_resend(replace(STATE, received=True), W, WINDOW, CAL, at(10)) is None
    assert decide_resend(replace(STATE, assign_sent_at=None), W, WINDOW, CAL, at(10)) is None
    off = replace(W, receipt_resend=False)
    assert decide_resend(STATE, off, WINDOW, CAL, at(10)) is None


def test_it_waits_for_the_office_window() -> None:
    assert decide_resend(STATE, W, WINDOW, CAL, at(5, 7, 0)) is None  # before 09:00
    assert decide_resend(STATE, W, WINDOW, CAL, at(7, 10)) is None  # a Saturday
    assert decide_resend(STATE, W, WINDOW, CAL, at(5, 9, 0)) is not None


def test_working_days_count_as_the_other_offsets_do() -> None:
    fri = datetime(2024, 9, 13, 9, 5, tzinfo=OFFICE_TZ)  # before 中秋 (09-16/17 off, 09-14 worked)
    work = replace(W, receipt_unit="workdays")
    assert receipt_deadline(fri, work, CAL) == datetime(2024, 9, 18, 9, 5, tzinfo=OFFICE_TZ)
    assert receipt_deadline(fri, W, CAL) == datetime(2024, 9, 15, 9, 5, tzinfo=OFFICE_TZ)
    state = replace(STATE, assign_sent_at=fri)
    assert decide_resend(state, work, WINDOW, CAL, at(14, 10)) is None  # 09-14 a make-up day
    assert decide_resend(state, work, WINDOW, CAL, at(18, 9, 0)) is None
    assert decide_resend(state, work, WINDOW, CAL, at(18, 9, 30)) is not None


def test_an_unsigned_office_escalation_is_resent_and_covers_the_assign() -> None:
    office_at = datetime(2024, 10, 9, 9, 5, tzinfo=OFFICE_TZ)
    state = replace(STATE, status=Status.ESCALATED, office_sent_at=office_at)
    # The 督办 is recent: the old 交办 is not re-sent on top of it.
    assert (
        decide_resend(state, W, WINDOW, CAL, datetime(2024, 10, 10, 10, tzinfo=OFFICE_TZ)) is None
    )
    later = datetime(2024, 10, 12, 10, tzinfo=OFFICE_TZ)  # a make-up working Saturday
    got = decide_resend(state, W, WINDOW, CAL, later)
    assert got is not None and got.kind is Resent.OFFICE and got.seq == "receipt-office@2024-09-26"
    # Already re-sent as a 交办: the 督办 is still re-sent once; after it, nothing.
    assert decide_resend(replace(state, resent=frozenset({Resent.ASSIGN})), W, WINDOW, CAL, later)
    both = replace(state, resent=frozenset({Resent.OFFICE}))
    assert decide_resend(both, W, WINDOW, CAL, later) is None
    assert decide_resend(replace(both, office_sent_at=None), W, WINDOW, CAL, later) is None


def test_the_policy_file_fields_are_checked() -> None:
    got = parse_weights({"receipt_unit": "workdays", "receipt_resend": False, "receipt_days": 3})
    assert (got.receipt_unit, got.receipt_resend, got.receipt_days) == ("workdays", False, 3)
    with pytest.raises(AssessmentError, match="days 或 workdays"):
        parse_weights({"receipt_unit": "weeks"})
    with pytest.raises(AssessmentError, match="true 或 false"):
        parse_weights({"receipt_resend": 1})


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="时区"):
        decide_resend(STATE, W, WINDOW, CAL, datetime(2024, 9, 10, 10))


def test_a_simulation_counts_the_resends_when_nobody_signs() -> None:
    from schedules.obligation import Stage
    from schedules.receipt import count_resends

    sent = [
        ("甲街道", "2", Stage.ASSIGN, SENT, date(2024, 9, 26)),
        ("甲街道", "4", Stage.ASSIGN, SENT, date(2024, 9, 26)),  # the same 交办 message
        ("乙街道", "2", Stage.ASSIGN, SENT, date(2024, 9, 26)),
        ("乙街道", "2", Stage.REMIND, SENT, date(2024, 9, 26)),  # reminders are never re-sent
        ("乙街道", "2", Stage.OFFICE, at(30), date(2024, 9, 26)),  # re-sent after the holiday
    ]
    assert count_resends(sent, W, WINDOW, CAL, at(10)) == (3, 2)
    assert count_resends(sent, W, WINDOW, CAL, datetime(2024, 10, 9, tzinfo=OFFICE_TZ)) == (4, 3)
    assert count_resends(sent, W, WINDOW, CAL, at(4, 9, 0)) == (0, 0)
    assert count_resends(sent, replace(W, receipt_resend=False), WINDOW, CAL, at(10)) == (0, 0)
