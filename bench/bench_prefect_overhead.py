"""Prefect's overhead per tick: the same tick called directly and run as a Prefect flow (real API).

    eval "$(bash .ci/postgres)"; .venv/bin/python bench/bench_prefect_overhead.py [--reps 5]

The workload is real: examples/units.yaml and the example plan 2024_区安全生产工作要点, activated,
ticked at 2024-03-25 09:00 (58 actions, 55 notices into the outbox) on a SQLite file. Every rep
ticks a fresh copy of that database, so every rep does the same work. Modes, each in its own
process (Prefect reads its settings at import), after one untimed warm-up tick:
  direct        run_tick(now) with no PREFECT_API_URL: the embedded default, task bodies called
                directly (the baseline)
  flow          run_flow(tick_flow, now=…) against the API, in this process (what a worker's
                flow-run subprocess does, minus starting up): one flow run with its claim-decide /
                deliver / record task runs recorded,
                Prefect's defaults (flow heartbeat every 180 s) plus the environment prefect.yaml
                gives deployed runs (flow result persisted, task results never)
  flow-no-hb    the same with the flow heartbeat off (PREFECT_FLOWS_HEARTBEAT_FREQUENCY=None, which
                only a settings override can say): shows whether the heartbeat still costs anything
The API is a `prefect server` this script starts on 127.0.0.1 (database duban_prefect on the
PostgreSQL of DUBAN_PG_ADMIN_URL when set, else SQLite) and stops. After the reps, each flow mode
reads back the task runs of its last flow run (names and count). Target: under 0.3 s per tick.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOW = "2024-03-25T09:00:00+08:00"
PLAN = ROOT / "examples" / "plans" / "2024_区安全生产工作要点.md"

CHILD = r"""
import json, os, shutil, sys, time
from pathlib import Path
mode, template, reps, work = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
from duban import runtime
from flows.context import reset_context
from flows.delivery import reset_pipeline
from flows.runner import run_flow
from flows.tick import run_tick, tick_flow
from schedules.clock import parse_aware

def fresh(k):
    db = work / f"{mode}-{k}.db"
    shutil.copy(template, db)
    os.environ["DUBAN_DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["DUBAN_OUTBOX_DIR"] = str(work / f"outbox-{mode}-{k}")
    runtime.reset(); reset_context(); reset_pipeline()

def tick():
    if mode == "direct":
        return run_tick(parse_aware(os.environ["DUBAN_NOW"])).__dict__
    return run_flow(tick_flow, now=os.environ["DUBAN_NOW"])

def run_all():
    out = []
    for k in range(reps + 1):  # rep 0 is the warm-up
        fresh(k)
        t, c = time.perf_counter(), time.process_time()
        summary = tick()
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        out.append((wall, summary["actions"], summary["notices"], cpu))
    return out

if mode == "flow-no-hb":
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        rows = run_all()
else:
    rows = run_all()
tasks = []
if mode != "direct":  # the last flow run's task runs, as the API recorded them (events land async)
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort
    with get_client(sync_client=True) as client:
        last = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)[0]
        for _ in range(50):
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[last.id])),
                sort=TaskRunSort.EXPECTED_START_TIME_ASC,  # explicit: the server rejects null
                limit=50,
            )
            if len(runs) >= 3:
                break
            time.sleep(0.2)
        tasks = sorted(r.name.rsplit("-", 1)[0] for r in runs)
print(json.dumps({"rows": rows, "tasks": tasks}))
"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(work: Path) -> dict[str, str]:
    """The environment every step shares: no stray Prefect or duban settings, a pinned clock."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DUBAN_"))}
    env |= {"PREFECT_HOME": str(work / "prefect"), "DO_NOT_TRACK": "1", "DUBAN_NOW": NOW}
    env |= {"DUBAN_DELIVERY": "outbox", "DUBAN_HOME": str(work / "home"), "DUBAN_ACTOR": "bench"}
    env |= {"PYTHONPATH": str(ROOT)}
    return env


def build_template(work: Path) -> Path:
    """The example directory and plan, activated, in one SQLite file (through the CLI)."""
    db = work / "template.db"
    env = base_env(work) | {"DUBAN_DATABASE_URL": f"sqlite:///{db}"}
    duban = [str(ROOT / ".venv" / "bin" / "duban")]
    for args in (
        ["units", "import", str(ROOT / "examples" / "units.yaml")],
        ["import", str(PLAN)],
        ["plan", "activate", "1"],
    ):
        subprocess.run(duban + args, env=env, check=True, capture_output=True, timeout=120)
    return db


def start_server(work: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """`prefect server start` on a free port; returns the process, the API URL and its database."""
    port, env = free_port(), base_env(work)
    admin = os.environ.get("DUBAN_PG_ADMIN_URL", "")
    if admin:
        server = admin.split("://", 1)[1].rsplit("/", 1)[0]
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = f"postgresql+asyncpg://{server}/duban_prefect"
    db = "PostgreSQL duban_prefect" if admin else "SQLite"
    cmd = [str(ROOT / ".venv" / "bin" / "prefect"), "server", "start", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--no-ui", "--analytics-off", "--no-scheduler"]
    log = (work / "server.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    for _ in range(240):
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.read().strip() == b"true":
                    return proc, url, db
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"prefect server 未能在 120 s 内就绪，见 {work / 'server.log'}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (the CLI forwards SIGTERM to uvicorn), then SIGKILL after 15 s."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def deployed_env() -> dict[str, str]:
    """The environment prefect.yaml gives the worker's flow runs (job_variables.env)."""
    import yaml

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    env: dict[str, str] = spec["definitions"]["work_pool"]["job_variables"]["env"]
    return {k: str(v) for k, v in env.items()}


def run_mode(mode: str, template: Path, reps: int, work: Path, api: str) -> dict[str, list[Any]]:
    """Run one mode's reps in a fresh process: [wall s, actions, notices, CPU s] per rep, and the
    task run names of the last flow run. CPU is the ticking process's (all its threads), not the
    server's: on a shared machine it moves less than wall time."""
    env = base_env(work)
    if mode != "direct":
        env |= {"PREFECT_API_URL": api, "PREFECT_LOCAL_STORAGE_PATH": str(work / "results")}
        env |= deployed_env()
    cmd = [sys.executable, "-c", CHILD, mode, str(template), str(reps), str(work)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"{mode} 失败:\n{out.stderr[-3000:]}")
    result: dict[str, list[Any]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Build the workload, start the server, run the three modes, print the overhead table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="duban-bench-prefect-"))
    proc = None
    try:
        template = build_template(work)
        proc, api, db = start_server(work)
        results = {m: run_mode(m, template, args.reps, work, api) for m in MODES}
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(work, ignore_errors=True)
    print(f"server: {db}; {args.reps} timed reps per mode after 1 warm-up; medians, wall min–max")
    print(f"{'mode':<12}{'actions':>8}{'notices':>8}{'tick s':>9}{'min':>8}{'max':>8}", end="")
    print(f"{'overhead s':>12}{'cpu s':>8}{'cpu overhead':>14}")
    base = median(r[0] for r in results["direct"]["rows"][1:])
    base_cpu = median(r[3] for r in results["direct"]["rows"][1:])
    for mode, res in results.items():
        rows = res["rows"]
        secs, cpus = [r[0] for r in rows[1:]], [r[3] for r in rows[1:]]
        med, cpu = median(secs), median(cpus)
        acts, notes = int(rows[-1][1]), int(rows[-1][2])
        print(f"{mode:<12}{acts:>8}{notes:>8}{med:>9.3f}{min(secs):>8.3f}{max(secs):>8.3f}", end="")
        print(f"{med - base:>12.3f}{cpu:>8.3f}{cpu - base_cpu:>14.3f}")
    for mode, res in results.items():
        if res["tasks"]:
            print(
                f"{mode}: last flow run's {len(res['tasks'])} task runs: {', '.join(res['tasks'])}"
            )


MODES = ("direct", "flow", "flow-no-hb")

if __name__ == "__main__":
    main()
