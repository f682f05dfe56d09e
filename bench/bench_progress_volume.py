"""Benchmark: what periodic progress reports (issue 14 item 5) add to seed 001's whole-period volume.

Run: .venv/bin/python bench/bench_progress_volume.py [--seed-file PATH] [--from D] [--to D]

In a fresh temporary DUBAN_HOME with the example directory (as `duban simulate` is run in
docs/benchmarks.md), the plan is simulated as activation on --from would, under the shipped
default with `progress: false` (the baseline, measured in the same run) and with it on (the
default), at --submit-rate 0 and 0.7. Prints one row per figure, and checks issue 14's Done-when:
at most 2 催办 per obligation; no missed occurrence of the monthly report chased (催办/督办) after
the next one is due; every unit with duties gets its 交办 on the activation day; 督办单 added to the
queue in one day; messages per unit per week.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seeds" / "001_ecae2ddae1c5aad9.txt"


def _run(path: Path, start: date, end: date, progress: bool, rate: float) -> dict[str, Any]:
    from duban import runtime
    from duban.cli.simulation import Directory, build_obligations, load_file_plan
    from flows.context import flow_context
    from intake import parse_path
    from schedules.clock import OFFICE_TZ
    from schedules.simulate import simulate
    from schedules.volume import measure_volume

    ctx = flow_context()
    policy = replace(ctx.policies.default, progress=progress)
    with runtime.transaction() as session:
        plan = load_file_plan(parse_path(path), policy)
        obligations = build_obligations(plan, Directory(session), start)
        session.rollback()
    result = simulate(
        obligations,
        policy,
        ctx.calendar,
        start=datetime.combine(start, time.min, tzinfo=OFFICE_TZ),
        end=datetime.combine(end, time(23, 59, 59), tzinfo=OFFICE_TZ),
        submit_rate=rate,
        seed=0,
    )
    v = measure_volume(result.actions)
    return {
        "obligations": len(obligations),
        "progress obligations": sum(o.task_ref == "进展报告" for o in obligations),
        "messages to units": v.messages,
        "per unit per week: max": v.week_max,
        "per unit per week: median": v.week_median,
        "催办 per obligation: max": v.chase_max,
        "missed monthly chased after the next is due": _chased_after_next(result.actions),
        "units with duties / with 交办 on day 1": _assigned(obligations, result.actions, start),
        "督办单 added in one day: max": f"{v.queue_day_max} ({v.queue_day})",
        "督办单 in all": v.queue_items,
        "closed as 逾期未报": result.totals["lapsed"],
    }


def _chased_after_next(actions: Any) -> int:
    # For each 催办/督办 of a recurring duty: had a later occurrence of the same unit and task
    # already fallen due (its due date on or before the action's day)?
    from schedules.clock import OFFICE_TZ

    dues: dict[tuple[str, str], set[date]] = defaultdict(set)
    for a in actions:
        dues[(a.obligation.unit, a.obligation.task_ref)].add(a.obligation.due)
    late = 0
    for a in actions:
        if a.action.stage.value in ("chase", "office") and a.obligation.lapses_on is not None:
            day = a.action.at.astimezone(OFFICE_TZ).date()
            key = (a.obligation.unit, a.obligation.task_ref)
            late += any(a.obligation.due < d <= day for d in dues[key])
    return late


def _assigned(obligations: Any, actions: Any, start: date) -> str:
    from schedules.clock import OFFICE_TZ

    owing = {o.unit for o in obligations}
    day_one = {
        a.obligation.unit
        for a in actions
        if a.action.stage.value == "assign" and a.action.at.astimezone(OFFICE_TZ).date() == start
    }
    return f"{len(owing)} / {len(day_one & owing)}"


def main() -> None:
    """Print the before/after table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed-file", type=Path, default=SEED)
    parser.add_argument("--from", dest="start", type=date.fromisoformat, default=date(2024, 4, 15))
    parser.add_argument("--to", dest="end", type=date.fromisoformat, default=date(2026, 12, 31))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["DUBAN_HOME"] = home
        os.environ.pop("DUBAN_DATABASE_URL", None)
        os.environ.pop("DUBAN_POLICY_FILE", None)
        from typer.testing import CliRunner

        from duban.cli import app

        done = CliRunner().invoke(app, ["units", "import", str(ROOT / "examples" / "units.yaml")])
        assert done.exit_code == 0, done.output
        cols = [(p, r) for r in (0.0, 0.7) for p in (False, True)]
        runs = {c: _run(args.seed_file, args.start, args.end, *c) for c in cols}
    print(f"{args.seed_file.name} {args.start}..{args.end}")
    head = ["figure"] + [f"progress {'on' if p else 'off'}, rate {r}" for p, r in cols]
    print(" | ".join(head))
    for key in runs[cols[0]]:
        print(" | ".join([key, *(str(runs[c][key]) for c in cols)]))
    for r in (0.0, 0.7):
        off, on = runs[(False, r)], runs[(True, r)]
        ratio = on["messages to units"] / off["messages to units"]
        print(f"rate {r}: messages on/off = {ratio:.3f}")


if __name__ == "__main__":
    main()
