"""Benchmark: simulate a three-year plan (~30 tasks x ~40 units) through the pure engine.

Run: .venv/bin/python bench/bench_simulate.py [--seed N]

Prints one row per scenario (obligations, actions, seconds) and the ratio against a baseline
measured in the same run: expanding the occurrences and building the obligations only; then the
volume each policy puts on units and the queue (the shipped default against the policy before
issue 14, `LEGACY_POLICY`): messages per unit per week, 催办 per obligation, queue items per day.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime

from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.policy import LEGACY_POLICY, Policy
from schedules.recurrence import MilestoneSpec, expand_occurrences
from schedules.simulate import SimObligation, simulate
from schedules.volume import measure_volume

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
        dues = expand_occurrences(spec, START, END)
        for k, due in enumerate(dues):
            prev = dues[k - 1] if k else None
            nxt = dues[k + 1] if spec.rrule and k + 1 < len(dues) else None
            for u, unit in enumerate(UNITS):
                lead = all_lead or (u - t) % len(UNITS) < LEADS_PER_TASK
                out.append(
                    SimObligation(
                        unit, ref, due, is_lead=lead, leaders=("区领导",),
                        assign=k == 0, starts_on=prev, lapses_on=nxt,
                    )
                )  # fmt: skip
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
    cal = load_calendar()
    start = datetime(2024, 1, 1, tzinfo=OFFICE_TZ)
    end = datetime(2026, 12, 31, 23, 59, tzinfo=OFFICE_TZ)
    obligations, base = time_call(build_obligations)
    assert isinstance(obligations, list)
    print(f"{'scenario':<26}{'obligations':>12}{'actions':>10}{'seconds':>10}{'x baseline':>12}")
    print(f"{'baseline (expand only)':<26}{len(obligations):>12}{'-':>10}{base:>10.3f}{1.0:>12.1f}")
    volumes = []
    for label, policy in (("legacy", LEGACY_POLICY), ("default", Policy())):
        for rate in (1.0, 0.7, 0.0):
            result, secs = time_call(
                lambda r=rate, p=policy: simulate(
                    obligations, p, cal, start=start, end=end, submit_rate=r, seed=seed
                )
            )
            n = result.totals["actions"]  # type: ignore[attr-defined]
            name = f"{label} submit-rate {rate}"
            print(f"{name:<26}{len(obligations):>12}{n:>10}{secs:>10.3f}{secs / base:>12.1f}")
            volumes.append((name, measure_volume(result.actions)))  # type: ignore[attr-defined]
    print()
    print(
        f"{'volume':<26}{'messages':>10}{'week max':>10}{'week med':>10}{'chase max':>11}{'queue/day':>11}"
    )
    for name, v in volumes:
        print(
            f"{name:<26}{v.messages:>10}{v.week_max:>10}{v.week_median:>10g}"
            f"{v.chase_max:>11}{v.queue_day_max:>11}"
        )


if __name__ == "__main__":
    main()
