"""Benchmark: simulate a three-year plan (~30 tasks x ~40 units) through the pure engine.

Run: .venv/bin/python bench/bench_simulate.py [--seed N]

Prints one row per scenario (obligations, actions, seconds) and the ratio against a baseline
measured in the same run: expanding the occurrences and building the obligations only.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime

from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.policy import Policy
from schedules.recurrence import MilestoneSpec, expand_occurrences
from schedules.simulate import SimObligation, simulate

START, END = date(2024, 1, 1), date(2026, 12, 31)
UNITS = [f"单位{n:02d}" for n in range(1, 41)]
LEADS_PER_TASK = 8


def build_tasks() -> list[tuple[str, MilestoneSpec, bool]]:
    """Return (task ref, milestone, every unit leads?) for 30 tasks of mixed recurrence."""
    tasks: list[tuple[str, MilestoneSpec, bool]] = [
        ("月报", MilestoneSpec(rrule="FREQ=MONTHLY;BYMONTHDAY=26", dtstart=START), True)
    ]
    for k in range(4):
        quarterly = MilestoneSpec(rrule="FREQ=MONTHLY;INTERVAL=3", dtstart=date(2024, 3, 31))
        tasks.append((f"Q{k + 1}", quarterly, False))
        yearly = MilestoneSpec(rrule="FREQ=YEARLY", dtstart=date(2024, 12, 31 - k))
        tasks.append((f"Y{k + 1}", yearly, False))
    for k in range(21):
        due = date(2024 + k % 3, 3 + k % 10, 10 + k % 18)
        tasks.append((f"T{k + 1}", MilestoneSpec(due=due), False))
    return tasks


def build_obligations() -> list[SimObligation]:
    """Expand every task over the period and materialise one obligation per unit."""
    out: list[SimObligation] = []
    for t, (ref, spec, all_lead) in enumerate(build_tasks()):
        for due in expand_occurrences(spec, START, END):
            for u, unit in enumerate(UNITS):
                lead = all_lead or (u - t) % len(UNITS) < LEADS_PER_TASK
                out.append(SimObligation(unit, ref, due, is_lead=lead, leaders=("区领导",)))
    return out


def time_call(fn: object) -> tuple[object, float]:
    """Return fn()'s result and its wall time in seconds."""
    t0 = time.perf_counter()
    result = fn()  # type: ignore[operator]
    return result, time.perf_counter() - t0


def main() -> None:
    """Run the baseline and the scenarios and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    seed = parser.parse_args().seed
    cal, policy = load_calendar(), Policy()
    start = datetime(2024, 1, 1, tzinfo=OFFICE_TZ)
    end = datetime(2026, 12, 31, 23, 59, tzinfo=OFFICE_TZ)
    obligations, base = time_call(build_obligations)
    assert isinstance(obligations, list)
    print(f"{'scenario':<26}{'obligations':>12}{'actions':>10}{'seconds':>10}{'x baseline':>12}")
    print(f"{'baseline (expand only)':<26}{len(obligations):>12}{'-':>10}{base:>10.3f}{1.0:>12.1f}")
    for rate in (1.0, 0.7, 0.0):
        result, secs = time_call(
            lambda r=rate: simulate(
                obligations, policy, cal, start=start, end=end, submit_rate=r, seed=seed
            )
        )
        n = result.totals["actions"]  # type: ignore[attr-defined]
        name = f"simulate submit-rate {rate}"
        print(f"{name:<26}{len(obligations):>12}{n:>10}{secs:>10.3f}{secs / base:>12.1f}")


if __name__ == "__main__":
    main()
