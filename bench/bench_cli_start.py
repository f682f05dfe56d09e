"""Start-up time of the commands clerks type all day, against `python -c pass` in the same run.

Each command runs in a fresh process (as a clerk's shell runs it) on a SQLite database holding the
example directory and the three example plans, activated (the demo's data, without the demo);
the baseline is the same interpreter doing nothing. Runs are interleaved (baseline, then each
command, per round) so that load on the shared machine falls on all of them alike.

    .venv/bin/python bench/bench_cli_start.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DUBAN = [str(Path(sys.executable).parent / "duban")]  # the installed console script
COMMANDS = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "duban --help": [*DUBAN, "--help"],
    "duban status": [*DUBAN, "status"],
    "duban queue list": [*DUBAN, "queue", "list"],
    "duban obligation list": [*DUBAN, "obligation", "list"],
    "duban obligation list --all": [*DUBAN, "obligation", "list", "--all"],
}
TARGET = 0.5


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of `cmd`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _prepare(env: dict[str, str]) -> str:
    examples = ROOT / "examples"
    steps = [["units", "import", str(examples / "units.yaml")]]
    steps += [["import", str(p)] for p in sorted((examples / "plans").glob("*"))]
    for step in steps:
        subprocess.run([*DUBAN, *step], env=env, check=True, capture_output=True)
    for plan_id in (1, 2, 3):
        subprocess.run(
            [*DUBAN, "plan", "activate", str(plan_id)], env=env, check=True, capture_output=True
        )
    out = subprocess.run(
        [*DUBAN, "obligation", "list"], env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    """Print one row per command: median and best wall time, median CPU, × baseline, target met."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, DUBAN_HOME=home, DUBAN_NOW="2024-05-06T09:30:00+08:00")
        env.pop("DUBAN_DATABASE_URL", None)
        env.pop("PREFECT_API_URL", None)
        print(f"data: {_prepare(env)}（示例目录与三个示例计划，已启用）")
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
        for cmd in COMMANDS.values():  # warm the file cache and the .pyc files once
            _run(cmd, env)
        for _ in range(args.repeat):
            for name, cmd in COMMANDS.items():
                runs[name].append(_run(cmd, env))
    base = statistics.median(w for w, _ in runs["python -c pass (baseline)"])
    print(f"{args.repeat} runs each, interleaved; load average {os.getloadavg()[0]:.2f}")
    print("| command | median s | best s | median CPU s | × baseline (median) | < 0.5 s |")
    print("|---|---|---|---|---|---|")
    for name, values in runs.items():
        wall = statistics.median(w for w, _ in values)
        best = min(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        met = "–" if "baseline" in name else ("yes" if wall < TARGET else "NO")
        print(f"| {name} | {wall:.3f} | {best:.3f} | {cpu:.3f} | {wall / base:.1f} | {met} |")


if __name__ == "__main__":
    main()
