from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedules.recurrence import MilestoneSpec, RecurrenceError, expand_occurrences

PERIOD = (date(2024, 1, 1), date(2026, 12, 31))


def test_it_expands_the_monthly_report_on_the_26th() -> None:
    spec = MilestoneSpec(rrule="FREQ=MONTHLY;BYMONTHDAY=26", dtstart=date(2024, 4, 15))
    got = expand_occurrences(spec, *PERIOD)
    assert got[0] == date(2024, 4, 26)
    assert got[-1] == date(2026, 12, 26)
    assert len(got) == 33
    assert all(d.day == 26 for d in got)


@pytest.mark.parametrize("rule", ["FREQ=MONTHLY;INTERVAL=3", "FREQ=QUARTERLY"])
def test_it_keeps_quarterly_rules_on_the_quarters_last_day(rule: str) -> None:
    spec = MilestoneSpec(rrule=rule, dtstart=date(2024, 3, 31), until=date(2024, 12, 31))
    assert expand_occurrences(spec, *PERIOD) == (
        date(2024, 3, 31),
        date(2024, 6, 30),
        date(2024, 9, 30),
        date(2024, 12, 31),
    )


@pytest.mark.parametrize(
    ("spec", "window", "expected"),
    [
        (
            MilestoneSpec(rrule="RRULE:FREQ=YEARLY;UNTIL=20261231", dtstart=date(2024, 12, 31)),
            (date(2024, 1, 1), date(2030, 1, 1)),
            (date(2024, 12, 31), date(2025, 12, 31), date(2026, 12, 31)),
        ),
        (
            MilestoneSpec(rrule="FREQ=WEEKLY;BYDAY=FR", dtstart=date(2024, 4, 15)),
            (date(2024, 4, 1), date(2024, 5, 3)),
            (date(2024, 4, 19), date(2024, 4, 26), date(2024, 5, 3)),
        ),
        (MilestoneSpec(due=date(2024, 4, 20)), PERIOD, (date(2024, 4, 20),)),
        (MilestoneSpec(due=date(2023, 4, 20)), PERIOD, ()),
        (
            MilestoneSpec(rrule="FREQ=MONTHLY;BYMONTHDAY=26", dtstart=date(2024, 1, 1)),
            (date(2024, 2, 27), date(2024, 3, 25)),
            (),
        ),
    ],
)
def test_it_expands_within_the_window(
    spec: MilestoneSpec, window: tuple[date, date], expected: tuple[date, ...]
) -> None:
    assert expand_occurrences(spec, *window) == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (MilestoneSpec(), "due"),
        (MilestoneSpec(due=date(2024, 1, 1), rrule="FREQ=YEARLY"), "due"),
        (MilestoneSpec(rrule="FREQ=YEARLY"), "dtstart"),
        (MilestoneSpec(rrule="FREQ=HOURLY", dtstart=date(2024, 1, 1)), "FREQ"),
        (MilestoneSpec(rrule="FREQ=MONTHLY;BYMONTHDAY", dtstart=date(2024, 1, 1)), "BYMONTHDAY"),
        (MilestoneSpec(rrule="FREQ=YEARLY;UNTIL=2026", dtstart=date(2024, 1, 1)), "UNTIL"),
        (MilestoneSpec(rrule="FREQ=MONTHLY;BYMONTHDAY=40", dtstart=date(2024, 1, 1)), "rrule"),
    ],
)
def test_it_names_the_field_of_a_bad_spec(spec: MilestoneSpec, fragment: str) -> None:
    with pytest.raises(RecurrenceError, match=fragment):
        expand_occurrences(spec, *PERIOD)


RULES = st.sampled_from(
    [
        "FREQ=MONTHLY;BYMONTHDAY=26",
        "FREQ=MONTHLY;INTERVAL=3",
        "FREQ=YEARLY",
        "FREQ=WEEKLY;BYDAY=MO",
        "FREQ=QUARTERLY",
    ]
)
DAYS = st.dates(min_value=date(2023, 1, 1), max_value=date(2027, 12, 31))


@settings(max_examples=100, deadline=None)
@given(RULES, DAYS, DAYS, DAYS, st.integers(min_value=0, max_value=400))
def test_it_gives_the_same_occurrences_on_a_rolling_horizon(
    rule: str, dtstart: date, start: date, cut: date, length: int
) -> None:
    spec = MilestoneSpec(rrule=rule, dtstart=dtstart)
    end = start + timedelta(days=length)
    whole = expand_occurrences(spec, start, end)
    if start <= cut <= end:
        rolled = expand_occurrences(spec, start, cut) + expand_occurrences(
            spec, cut + timedelta(days=1), end
        )
        assert rolled == whole
    assert expand_occurrences(spec, start, end) == whole  # idempotent
    assert list(whole) == sorted(set(whole))
    assert all(start <= d <= end and d >= dtstart for d in whole)
