"""When each periodic job is next due (pure rules, no I/O).

The periodic jobs (the monthly report cycle, the office's daily digest, the leaders' weekly summary)
are due by their own `next_run_at` rows in the database, on the same logical clock as the tick, so
`duban tick` from cron, a drill with a pinned clock (DUBAN_NOW) and `duban serve` all run them the
same way. This module only says when: given a job, the row's `next_run_at` and `now`, whether the
job runs now and what its next `next_run_at` is. After downtime a job runs once (for its latest
missed occurrence), never once per missed day: each job works out from the database what is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from schedules.calendar import WorkCalendar
from schedules.clock import OFFICE_TZ

Cadence = Literal["daily", "workday", "week_first_workday"]


@dataclass(frozen=True)
class PeriodicJob:
    """A job that runs at `at` (Shanghai wall time) on the days its cadence names."""

    name: str
    label: str  # what a clerk reads
    at: time
    cadence: Cadence


JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("monthly", "每月报送周期与月度点名", time(8, 30), "daily"),
    PeriodicJob("daily_digest", "办公室日报", time(9, 0), "workday"),
    PeriodicJob("weekly_summary", "领导每周简报", time(9, 5), "week_first_workday"),
)
JOB_BY_NAME = {j.name: j for j in JOBS}


@dataclass(frozen=True)
class Decision:
    """Whether a job runs now, and the `next_run_at` to store (after running, or still waiting)."""

    run: bool
    next_run_at: datetime
    missed: int = 0  # occurrences folded into this one run (downtime), 0 when on time


def _runs_on(job: PeriodicJob, day: date, cal: WorkCalendar) -> bool:
    if job.cadence == "daily":
        return True
    if job.cadence == "workday":
        return cal.is_workday(day)
    monday = day - timedelta(days=day.weekday())
    first = cal.workday_on_or_after(monday)
    return day == first and first - monday < timedelta(days=7)


def _at(job: PeriodicJob, day: date) -> datetime:
    return datetime.combine(day, job.at, tzinfo=OFFICE_TZ)


def first_on_or_after(job: PeriodicJob, day: date, cal: WorkCalendar) -> datetime:
    """The job's first occurrence on `day` or a later day."""
    for n in range(400):
        d = day + timedelta(days=n)
        if _runs_on(job, d, cal):
            return _at(job, d)
    raise ValueError(f"{job.name}: 400 天内没有可运行的日子")


def next_after(job: PeriodicJob, moment: datetime, cal: WorkCalendar) -> datetime:
    """The job's first occurrence strictly after `moment`."""
    local = moment.astimezone(OFFICE_TZ)
    candidate = first_on_or_after(job, local.date(), cal)
    if candidate > local:
        return candidate
    return first_on_or_after(job, local.date() + timedelta(days=1), cal)


def initial_next_run(job: PeriodicJob, now: datetime, cal: WorkCalendar) -> datetime:
    """For a job with no row yet: its first occurrence from the start of today (so a first tick at
    09:06 on a working day still sends today's 09:00 digest, and one at 08:55 waits for it)."""
    return first_on_or_after(job, now.astimezone(OFFICE_TZ).date(), cal)


def decide(
    job: PeriodicJob, next_run_at: datetime | None, now: datetime, cal: WorkCalendar
) -> Decision:
    """Whether `job` runs at `now`, given its stored `next_run_at` (None: no row yet).

    It runs when `next_run_at` has come; its next one is then the first occurrence after `now`,
    so occurrences missed while nothing ran are caught up by this one run (counted in `missed`).
    """
    due = next_run_at if next_run_at is not None else initial_next_run(job, now, cal)
    if now < due:
        return Decision(run=False, next_run_at=due)
    following = next_after(job, now, cal)
    missed, probe = 0, next_after(job, due, cal)
    while probe <= now and missed < 1000:
        missed, probe = missed + 1, next_after(job, probe, cal)
    return Decision(run=True, next_run_at=following, missed=missed)
