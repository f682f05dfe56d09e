"""How Prefect 3 runs a flow when no PREFECT_API_URL is set: the figures behind duban's embedded default.

Each mode runs in a fresh subprocess with its own PREFECT_HOME, so cold starts are real:
  direct      the flow's body as a plain function (the baseline)
  flow.fn     `flow.fn()`: Prefect's decorator bypassed, no server
  ephemeral   `flow()`: Prefect starts its ephemeral API server (a subprocess) on SQLite
  harness     `prefect_test_harness()` then `flow()`
Run: .venv/bin/python bench/bench_prefect_modes.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import sys, time
t0 = time.perf_counter()
from prefect import flow, task
t_import = time.perf_counter() - t0

@task
def step(x: int) -> int:
    return x + 1

@flow(log_prints=False)
def tick_flow(n: int = 20) -> int:
    return sum(step.fn(i) if MODE in ("flow.fn", "direct") else step(i) for i in range(n))

MODE = sys.argv[1]
def run() -> float:
    t = time.perf_counter()
    if MODE == "direct":
        sum(step.fn(i) for i in range(20))
    elif MODE == "flow.fn":
        tick_flow.fn()
    elif MODE == "harness":
        from prefect.testing.utilities import prefect_test_harness
        with prefect_test_harness():
            tick_flow()
    else:
        tick_flow()
    return time.perf_counter() - t
first = run()
second = run() if MODE != "harness" else float("nan")
print(f"{t_import:.3f} {first:.3f} {second:.3f}")
"""


def _measure(mode: str) -> tuple[float, float, float, float, int]:
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env["PREFECT_HOME"] = home
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, mode],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        wall = time.perf_counter() - t
        if out.returncode != 0:
            raise SystemExit(f"{mode} failed: {out.stderr[-2000:]}")
        imp, first, second = (float(x) for x in out.stdout.split()[-3:])
        left = subprocess.run(
            ["pgrep", "-f", f"{home}"], capture_output=True, text=True
        ).stdout.split()
        return imp, first, second, wall, len(left)


def main() -> None:
    rows = {m: _measure(m) for m in ("direct", "flow.fn", "ephemeral", "harness")}
    base = rows["direct"][3]
    print(
        f"{'mode':<10} {'import s':>9} {'1st run s':>10} {'2nd run s':>10} {'process s':>10} {'× direct':>9} {'left':>5}"
    )
    for mode, (imp, first, second, wall, left) in rows.items():
        print(
            f"{mode:<10} {imp:9.3f} {first:10.3f} {second:10.3f} {wall:10.3f} {wall / base:9.2f} {left:5d}"
        )


if __name__ == "__main__":
    main()
