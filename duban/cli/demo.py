"""A fast clock for demos: working days pass in seconds, and the same jobs run as in the service."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from schedules.clock import OFFICE_TZ

# When, in a simulated day, the service's jobs run (Shanghai wall time): "periodic" runs the jobs
# whose `next_run_at` has come (schedules/periodic.py), from the same rows as the service and tick.
DAY_PLAN: tuple[tuple[clock_time, str], ...] = (
    (clock_time(8, 30), "periodic"),
    (clock_time(9, 0), "periodic"),
    (clock_time(9, 5), "periodic"),
    (clock_time(9, 5), "tick"),
    (clock_time(11, 0), "tick"),
    (clock_time(14, 0), "tick"),
    (clock_time(16, 30), "tick"),
)


def run_demo(
    *,
    start: date,
    days: int,
    seconds_per_day: float,
    jobs: dict[str, Callable[[datetime, threading.Event], Any]],
    on_day: Callable[[date, dict[str, Any]], None],
    stop: threading.Event | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run `days` simulated days from `start`; returns how many days ran (stops early on `stop`)."""
    stop = stop or threading.Event()
    for n in range(days):
        if stop.is_set():
            return n
        day = start + timedelta(days=n)
        t0 = time.monotonic()
        results: dict[str, Any] = {}
        for at, name in DAY_PLAN:
            now = datetime.combine(day, at, tzinfo=OFFICE_TZ)
            out = jobs[name](now, stop) or {}
            if name == "tick":
                merge_tick(results, out)
            else:
                results.update(out)
        on_day(day, results)
        sleep(max(0.0, seconds_per_day - (time.monotonic() - t0)))
    return days


def merge_tick(total: dict[str, Any], out: dict[str, Any]) -> None:
    """Add one tick's counts to the day's."""
    total["actions"] = total.get("actions", 0) + int(out.get("actions", 0))
    total["notices"] = total.get("notices", 0) + int(out.get("notices", 0))
    stages = total.setdefault("by_stage", {})
    for k, v in out.get("by_stage", {}).items():
        stages[k] = stages.get(k, 0) + v
