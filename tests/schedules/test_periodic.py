"""When each periodic job is due: on time, not before, once per occurrence, once after downtime."""

from __future__ import annotations

from datetime import datetime

from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.periodic import JOB_BY_NAME, decide, initial_next_run, next_after

CAL = load_calendar()
DIGEST = JOB_BY_NAME["daily_digest"]
WEEKLY = JOB_BY_NAME["weekly_summary"]
MONTHLY = JOB_BY_NAME["monthly"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=OFFICE_TZ)


def test_the_digest_waits_for_09_00_and_then_runs_once() -> None:
    early = decide(DIGEST, None, at("2024-09-23 08:55"), CAL)  # a Monday
    assert not early.run and early.next_run_at == at("2024-09-23 09:00")
    due = decide(DIGEST, early.next_run_at, at("2024-09-23 09:06"), CAL)
    assert due.run and due.missed == 0 and due.next_run_at == at("2024-09-24 09:00")
    again = decide(DIGEST, due.next_run_at, at("2024-09-23 16:30"), CAL)
    assert not again.run and again.next_run_at == due.next_run_at


def test_a_first_tick_after_09_00_still_sends_todays_digest() -> None:
    assert decide(DIGEST, None, at("2024-09-23 10:00"), CAL).run
    # on a Saturday the first digest is Monday's
    assert initial_next_run(DIGEST, at("2024-09-21 10:00"), CAL) == at("2024-09-23 09:00")


def test_the_digest_skips_holidays_and_runs_on_make_up_days() -> None:
    # 2024-09-29 (Sunday) is a make-up working day; 10-01..07 is National Day
    assert next_after(DIGEST, at("2024-09-27 09:30"), CAL) == at("2024-09-29 09:00")
    assert next_after(DIGEST, at("2024-09-30 09:30"), CAL) == at("2024-10-08 09:00")


def test_downtime_is_caught_up_by_one_run() -> None:
    # the last stored next run was Monday 09:00; nothing ran until Thursday 10:00
    late = decide(DIGEST, at("2024-09-23 09:00"), at("2024-09-26 10:00"), CAL)
    assert late.run and late.missed == 3  # Tue, Wed, Thu folded in
    assert late.next_run_at == at("2024-09-27 09:00")
    assert not decide(DIGEST, late.next_run_at, at("2024-09-26 11:00"), CAL).run


def test_the_weekly_summary_is_on_the_first_working_day_and_caught_up_later_that_week() -> None:
    assert initial_next_run(WEEKLY, at("2024-09-24 08:00"), CAL) == at("2024-09-30 09:05")
    # the week of National Day: its first working day is Tuesday 10-08 (Mon 10-07 is a holiday)
    assert next_after(WEEKLY, at("2024-09-30 09:30"), CAL) == at("2024-10-08 09:05")
    caught = decide(WEEKLY, at("2024-09-23 09:05"), at("2024-09-25 14:00"), CAL)
    assert caught.run and caught.next_run_at == at("2024-09-30 09:05")


def test_the_monthly_cycle_runs_every_day_at_08_30() -> None:
    done = decide(MONTHLY, at("2024-09-21 08:30"), at("2024-09-21 08:31"), CAL)  # a Saturday
    assert done.run and done.next_run_at == at("2024-09-22 08:30")
