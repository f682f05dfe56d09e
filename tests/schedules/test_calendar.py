from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedules.calendar import WorkCalendar, describe_fallback
from schedules.calendar_data import CalendarDataError, load_calendar, parse_office_data

CAL = load_calendar()


@pytest.mark.parametrize(
    ("day", "is_workday", "why"),
    [
        (date(2024, 9, 29), True, "make-up Sunday before National Day"),
        (date(2024, 10, 12), True, "make-up Saturday after National Day"),
        (date(2024, 10, 1), False, "National Day"),
        (date(2024, 10, 7), False, "National Day week (a Monday)"),
        (date(2024, 4, 7), True, "make-up Sunday after Qingming"),
        (date(2024, 4, 20), False, "ordinary Saturday"),
        (date(2024, 9, 26), True, "ordinary Thursday"),
        (date(2026, 1, 1), False, "New Year 2026"),
    ],
)
def test_it_follows_the_official_calendar(day: date, is_workday: bool, why: str) -> None:
    assert CAL.is_workday(day) is is_workday, why


@pytest.mark.parametrize(
    ("due", "n", "expected"),
    [
        (date(2024, 9, 26), 5, date(2024, 9, 19)),
        (date(2024, 9, 26), 2, date(2024, 9, 24)),
        (date(2024, 10, 8), 5, date(2024, 9, 25)),
        (date(2024, 10, 8), 2, date(2024, 9, 29)),
        (date(2024, 4, 20), 5, date(2024, 4, 15)),
        (date(2024, 4, 20), 2, date(2024, 4, 18)),
        (date(2024, 9, 27), 1, date(2024, 9, 26)),  # strictly before: not the day itself
    ],
)
def test_it_counts_working_days_strictly_before(due: date, n: int, expected: date) -> None:
    assert CAL.nth_workday_before(due, n) == expected


def test_it_moves_forward_over_holidays_and_make_up_days() -> None:
    due = date(2024, 9, 26)
    assert CAL.first_workday_after(due) == date(2024, 9, 27)
    assert CAL.add_workdays(due, 2) == date(2024, 9, 29)
    assert CAL.add_workdays(due, 3) == date(2024, 9, 30)
    assert CAL.add_workdays(due, 4) == date(2024, 10, 8)
    assert CAL.add_workdays(due, 10) == date(2024, 10, 15)
    assert CAL.workdays_between(due, date(2024, 10, 15)) == 10
    assert CAL.workdays_between(date(2024, 10, 15), due) == -10
    assert CAL.workday_on_or_before(date(2024, 4, 20)) == date(2024, 4, 19)
    assert CAL.workday_on_or_before(date(2024, 4, 19)) == date(2024, 4, 19)


def test_it_rejects_a_day_that_is_both_holiday_and_workday() -> None:
    with pytest.raises(ValueError, match="2024-01-01"):
        WorkCalendar(frozenset({date(2024, 1, 1)}), frozenset({date(2024, 1, 1)}))


@settings(max_examples=200, deadline=None)
@given(
    st.dates(min_value=date(2003, 1, 1), max_value=date(2045, 12, 31)),
    st.integers(min_value=-30, max_value=30),
)
def test_it_agrees_with_day_by_day_stepping(day: date, n: int) -> None:
    step = timedelta(days=1 if n > 0 else -1)
    expected, left = day, abs(n)
    while left:
        expected += step
        left -= CAL.is_workday(expected)
    assert CAL.add_workdays(day, n) == expected
    if n > 0:
        assert CAL.workdays_between(day, expected) == n
    elif n < 0:  # (expected, day) holds the |n| - 1 working days skipped over
        assert CAL.workdays_between(expected, day - timedelta(days=1)) == -n - 1


def test_it_reports_uncovered_years_loudly() -> None:
    assert CAL.uncovered_years(date(2026, 6, 1), date(2028, 1, 1)) == (2027, 2028)
    assert CAL.uncovered_years(date(2024, 1, 1), date(2026, 12, 31)) == ()
    warnings = describe_fallback([2027])
    assert len(warnings) == 1
    assert "2027" in warnings[0] and "周一至周五" in warnings[0]
    # Fallback: Monday-Friday, so 2027-10-01 (a Friday, National Day in reality) counts.
    assert CAL.is_workday(date(2027, 10, 1))


def test_it_adds_a_year_from_the_office_data_file(tmp_path: Path) -> None:
    data = tmp_path / "calendar.yaml"
    data.write_text(
        "2027:\n  holidays: [2027-10-01..2027-10-07]\n  workdays: [2027-09-26, 2027-10-09]\n",
        encoding="utf-8",
    )
    cal = load_calendar(data)
    assert 2027 in cal.covered_years
    assert cal.uncovered_years(date(2027, 1, 1), date(2027, 12, 31)) == ()
    assert not cal.is_workday(date(2027, 10, 1))
    assert cal.is_workday(date(2027, 9, 26))  # a Sunday made a workday
    assert cal.first_workday_after(date(2027, 9, 30)) == date(2027, 10, 8)
    assert cal.is_workday(date(2024, 9, 29))  # package years still there


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2027: [2027-01-01]", "第 2027 年"),
        ("2027:\n  holiday: [2027-01-01]", "未知字段 'holiday'"),
        ("2027:\n  holidays: [2027-13-01]", "2027-13-01"),
        ("2027:\n  holidays: [2028-01-01]", "不属于 2027 年"),
        ("next:\n  holidays: []", "年份 'next'"),
        ("2027:\n  holidays: [2027-01-01]\n  workdays: [2027-01-01]", "同时出现"),
        ("2027:\n  holidays: [2027-10-07..2027-10-01]", "2027-10-07..2027-10-01"),
    ],
)
def test_it_names_the_file_and_field_on_bad_office_data(text: str, fragment: str) -> None:
    with pytest.raises(CalendarDataError) as info:
        parse_office_data(text, source="office.yaml")
    assert "office.yaml" in str(info.value)
    assert fragment in str(info.value)


def test_it_names_a_missing_office_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(CalendarDataError, match=r"nope\.yaml"):
        load_calendar(missing)
