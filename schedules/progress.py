"""Periodic progress reports (定期进展报告, issue 14 item 5): which rules, and one series (pure).

Every unit with duties in a plan reports its progress once per period, one report covering all its
open duties (undated ones included). The period is the plan's own recurring report where it has one
(每月26日前报送…: a unit that already owes that report reports its progress there and gets nothing
more), else the policy's default: quarterly (`progress_rrule`) plus a year-end summary
(`progress_year_end`). Materialisation (models/repo/obligations.py) and `duban simulate` both
read these functions, so what is simulated is what activation creates.

The quarterly and the year-end rules are two milestones of one duty: their occurrences form one
series, so a missed September report rolls over when the December summary falls due (not a year
later at the next September), and the December summary's lead time starts at September's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from schedules.policy import Policy
from schedules.recurrence import MilestoneSpec, expand_occurrences

PROGRESS_REF = "进展报告"
PROGRESS_TITLE = "定期报送工作进展（一次报告涵盖本单位在本计划中全部未办结的任务）"
PROGRESS_LABEL = {"cadence": "按计划报送周期", "quarterly": "每季度", "year_end": "年终总结"}


@dataclass(frozen=True)
class ProgressRule:
    """One milestone of the progress-report duty: its key, rule and bounds."""

    key: str  # "cadence" (the plan's own report), "quarterly" or "year_end"
    rrule: str
    dtstart: date
    until: date | None = None


@dataclass(frozen=True)
class Linked:
    """One occurrence of the series with its neighbours in the whole series (None at either end)."""

    due: date
    previous: date | None
    following: date | None


def progress_rules(
    policy: Policy, start: date, cadence: tuple[str, date | None, date | None] | None
) -> list[ProgressRule]:
    """The progress report's rules from `start` (the plan's activation in duban, or its period's
    start if later): the plan's cadence (rrule, dtstart, until) if any. The first occurrence is
    at least `policy.progress_first_after` days after `start`: a unit is never asked for a report
    due the day (or a few days after) it first hears of the plan."""
    start = start + timedelta(days=policy.progress_first_after)
    if cadence is not None:
        rrule, dtstart, until = cadence
        return [ProgressRule("cadence", rrule, max(dtstart or start, start), until)]
    return [
        ProgressRule("quarterly", policy.progress_rrule, start),
        ProgressRule("year_end", policy.progress_year_end, start),
    ]


def link_series(dues: dict[str, tuple[date, ...]]) -> dict[str, list[Linked]]:
    """Each rule's occurrences linked to their neighbours in the merged series of all the rules."""
    merged = sorted({d for ds in dues.values() for d in ds})
    at = {d: k for k, d in enumerate(merged)}

    def linked(d: date) -> Linked:
        k = at[d]
        return Linked(
            d, merged[k - 1] if k else None, merged[k + 1] if k + 1 < len(merged) else None
        )

    return {key: [linked(d) for d in ds] for key, ds in dues.items()}


def link_rules(rules: list[ProgressRule], period: tuple[date, date]) -> dict[str, list[Linked]]:
    """Each rule's occurrences over the plan's period, linked as one series (`link_series`)."""
    return link_series(
        {
            r.key: expand_occurrences(
                MilestoneSpec(due=None, rrule=r.rrule, dtstart=r.dtstart, until=r.until), *period
            )
            for r in rules
        }
    )


def ladder_override(policy: Policy) -> dict[str, Any]:
    """What a progress-report milestone overrides in the ladder: its own 督办 (0 = none)."""
    return {"office_at": policy.progress_office_at}


def progress_policy(policy: Policy) -> Policy:
    """The policy a progress report is chased under (`policy` with `ladder_override` applied)."""
    return replace(policy, office_at=policy.progress_office_at)
