"""The progress report's rules and its one series (pure)."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

from schedules.policy import Policy
from schedules.progress import link_rules, progress_policy, progress_rules

PERIOD = (date(2024, 1, 1), date(2025, 12, 31))


def test_it_uses_the_plans_cadence_from_the_start_when_there_is_one() -> None:
    [rule] = progress_rules(Policy(), date(2024, 4, 15), ("FREQ=MONTHLY;BYMONTHDAY=26", None, None))
    # progress_first_after (10 days): the series starts 10 days after activation
    assert (rule.key, rule.dtstart) == ("cadence", date(2024, 4, 25))
    dues = [o.due for o in link_rules([rule], PERIOD)["cadence"]]
    assert dues[:2] == [date(2024, 4, 26), date(2024, 5, 26)] and len(dues) == 21


def test_a_first_report_due_within_days_of_activation_is_skipped() -> None:
    cadence = ("FREQ=MONTHLY;BYMONTHDAY=26", None, None)
    for activated, first in (
        (date(2024, 4, 26), date(2024, 5, 26)),  # due the very day of the 交办
        (date(2024, 4, 20), date(2024, 5, 26)),  # six days after it
        (date(2024, 4, 16), date(2024, 4, 26)),  # ten days: kept
    ):
        [rule] = progress_rules(Policy(), activated, cadence)
        assert link_rules([rule], PERIOD)["cadence"][0].due == first, activated
    [rule] = progress_rules(Policy(progress_first_after=0), date(2024, 4, 26), cadence)
    assert link_rules([rule], PERIOD)["cadence"][0].due == date(2024, 4, 26)
    quarterly = progress_rules(Policy(), date(2024, 6, 25), None)
    series = link_rules(quarterly, PERIOD)
    assert min(o.due for linked in series.values() for o in linked) == date(2024, 9, 30)


def test_it_links_quarterly_and_year_end_as_one_series() -> None:
    rules = progress_rules(Policy(), date(2024, 4, 15), None)
    assert [r.key for r in rules] == ["quarterly", "year_end"]
    series = link_rules(rules, PERIOD)
    merged = sorted((o for linked in series.values() for o in linked), key=lambda o: o.due)
    assert [o.due for o in merged] == [
        date(2024, 6, 30), date(2024, 9, 30), date(2024, 12, 20),
        date(2025, 3, 31), date(2025, 6, 30), date(2025, 9, 30), date(2025, 12, 20),
    ]  # fmt: skip
    for earlier, later in pairwise(merged):
        assert earlier.following == later.due and later.previous == earlier.due
    assert merged[0].previous is None and merged[-1].following is None


def test_a_progress_report_has_no_office_escalation_by_default() -> None:
    assert Policy().progress and progress_policy(Policy()).office_at == 0
    assert progress_policy(Policy(progress_office_at=5)).office_at == 5
