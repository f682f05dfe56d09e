"""Driver for .ci/prefect-e2e: one duban tick through the Prefect deployment, then check it all.

`prepare`  fresh PostgreSQL databases (DUBAN_DATABASE_URL and the Prefect server's),
           `duban units import examples/units.yaml`, `duban import` an example plan,
           `duban plan activate`.
`deployments` the four deployments from prefect.yaml are on the server as they should be.
`tick`     point every robot channel at a local HTTP receiver, run `flows.jobs.tick_job` with
           PREFECT_API_URL set (→ run_deployment "duban-tick/tick" → the worker), then check the
           delivery rows against the outbox files and the received requests, the tick_run row, and
           that Prefect holds a COMPLETED flow run of that deployment on the pool `duban-pool` per
           tick, with the tick's task runs (claim-decide, deliver, record) COMPLETED inside.

Not a pytest module (the script needs a server and a worker that .ci/prefect-e2e starts). Every
failure exits non-zero with a message in Chinese naming what is missing or wrong.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PLAN = ROOT / "examples" / "plans" / "2024_区安全生产工作要点.md"
UNITS = ROOT / "examples" / "units.yaml"
DEPLOYMENT = "duban-tick/tick"
POOL = "duban-pool"


class E2EError(AssertionError):
    """A check failed; the message says which, in Chinese."""


def check(ok: bool, message: str) -> None:
    """Fail the run with `message` unless `ok`."""
    if not ok:
        raise E2EError(message)


def reset_database(url: str) -> None:
    """Create the database of `url` if missing and empty its public schema."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from models.db import make_engine

    parsed = make_url(url)
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def run_cli(*args: str) -> str:
    """Run one `duban` command in this process; fail with its output when it exits non-zero."""
    from typer.testing import CliRunner

    from duban import runtime
    from duban.cli import app

    runtime.reset()
    result = CliRunner().invoke(app, list(args))
    output = result.output + (f"\n{result.exception!r}" if result.exception else "")
    check(
        result.exit_code == 0,
        f"命令 duban {' '.join(args)} 失败（退出码 {result.exit_code}）:\n{output}",
    )
    return result.output


def prepare() -> None:
    """Fresh database, the example directory and plan, activated through the CLI."""
    reset_database(os.environ["DUBAN_DATABASE_URL"])
    # The Prefect server's database too: runs left by an earlier (killed) CI run would be mistaken
    # for this run's, and the server migrates an empty schema in a few seconds.
    prefect_db = os.environ["PREFECT_API_DATABASE_CONNECTION_URL"]
    reset_database(prefect_db.replace("postgresql+asyncpg://", "postgresql+psycopg://", 1))
    print(run_cli("units", "import", str(UNITS)).strip().splitlines()[-1])
    print(run_cli("import", str(PLAN)).strip().splitlines()[0])
    plans = json.loads(run_cli("plan", "list", "--json"))
    check(len(plans) == 1, f"应有 1 个草稿计划，实际 {len(plans)} 个: {plans}")
    plan_id = str(plans[0]["id"])
    print(run_cli("plan", "activate", plan_id).strip().splitlines()[0])


@dataclass
class Received:
    """What the fake robot endpoint received."""

    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def start_receiver(received: Received) -> ThreadingHTTPServer:
    """An HTTP endpoint on 127.0.0.1 that records each POST and answers like a happy robot."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with received.lock:
                received.requests.append((self.path, json.loads(body or b"{}")))
            reply = json.dumps({"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success"})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(reply.encode())

        def log_message(self, *args: Any) -> None:  # keep CI output to our own lines
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def point_robots_at(port: int) -> int:
    """Every non-e-mail channel posts to the receiver (path /<type>/<channel id>); returns how many."""
    from sqlmodel import select

    from duban import runtime
    from models.directory import Channel

    runtime.reset()
    with runtime.transaction() as session:
        robots = session.exec(select(Channel).where(Channel.type != "email")).all()
        for ch in robots:
            ch.url = f"http://127.0.0.1:{port}/{ch.type}/{ch.id}"
        return len(robots)


def count_due() -> int:
    """Obligations whose next action has come at DUBAN_NOW."""
    from sqlalchemy import func
    from sqlmodel import Session, col, select

    from duban import runtime
    from models.tables import Obligation

    now = runtime.current_time()
    with Session(runtime.migrated_engine()) as s:
        stmt = select(func.count()).where(col(Obligation.next_action_at) <= now)
        return int(s.exec(stmt).one())


def check_deliveries(received: Received, outbox: Path) -> dict[str, int]:
    """Every delivery row sent; one outbox file per e-mail message, one request per robot message."""
    from sqlmodel import Session, select

    from duban import runtime
    from models.tables import Delivery

    with Session(runtime.migrated_engine()) as s:
        rows = s.exec(select(Delivery)).all()
    check(bool(rows), "delivery 表为空：tick 没有交付任何消息")
    bad = [(r.key, r.status, r.last_error) for r in rows if r.status != "sent"]
    check(not bad, f"有 {len(bad)} 条投递未成功（应全部 sent）: {bad[:5]}")
    mail = {r.batch for r in rows if r.channel_type == "email"}
    robot = {r.batch for r in rows if r.channel_type != "email"}
    files = sorted((outbox / "email").glob("*.eml")) if (outbox / "email").is_dir() else []
    check(len(files) == len(mail), f"发件箱有 {len(files)} 封邮件，delivery 表记录 {len(mail)} 封")
    check(
        len(received.requests) == len(robot),
        f"接收端收到 {len(received.requests)} 个机器人请求，delivery 表记录 {len(robot)} 条消息",
    )
    return {"rows": len(rows), "emails": len(files), "robot_posts": len(received.requests)}


def check_flow_runs(now_iso: str) -> dict[str, Any]:
    """The deployment's flow runs exist, ran on the pool and COMPLETED, with their task runs inside."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        dep = client.read_deployment_by_name(DEPLOYMENT)
        # limit and sort given explicitly: the server (FastAPI 0.154) rejects the client's nulls.
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=50,
        )
        mine = [r for r in runs if r.parameters.get("now") == now_iso]
        check(bool(mine), f"Prefect 中没有部署 {DEPLOYMENT} 在 now={now_iso} 的运行")
        for run in mine:
            state = run.state_type.value if run.state_type else None
            check(state == "COMPLETED", f"流程运行 {run.name} 的状态是 {state}，应为 COMPLETED")
            check(
                run.work_pool_name == POOL,
                f"流程运行 {run.name} 在 {run.work_pool_name} 上，应为 {POOL}",
            )
        tasks = task_runs_of(client, [r.id for r in mine])
    # How long each flow run ran on the worker (Running → Completed), oldest first: the rest of a
    # tick's wall time through the deployment is polling and the worker starting a subprocess.
    ran = [
        round((r.end_time - r.start_time).total_seconds(), 2)
        for r in reversed(mine)
        if r.start_time and r.end_time
    ]
    return {
        "flow_runs": len(mine),
        "states": [r.state_name for r in mine],
        "run_seconds": ran,
        "task_runs": tasks,
    }


# The tick's task runs: claim-decide → deliver → record per round, then retry-pending (the pending
# messages' step) once per tick; the example's 58 due items fit one round (batch 2,500), and the
# idle tick is one claim-decide that finds nothing, then its retry-pending.
EXPECTED_TASKS = {"claim-decide": 2, "deliver": 1, "record": 1, "retry-pending": 2}


def check_links(runs: list[Any]) -> None:
    """`record` is linked to the `claim-decide` and `deliver` runs whose results it took (UI arrows)."""
    kind = {r.id: r.name.rsplit("-", 1)[0] for r in runs}
    for r in runs:
        if kind[r.id] != "record":
            continue
        inputs = {k: {kind.get(i.id) for i in v} for k, v in r.task_inputs.items()}
        check(
            inputs.get("planned") == {"claim-decide"} and inputs.get("outcome") == {"deliver"},
            f"任务运行 {r.name} 的上游应为 claim-decide 与 deliver，实际 {inputs}",
        )


def task_runs_of(client: Any, flow_run_ids: list[Any]) -> dict[str, int]:
    """Count the COMPLETED task runs inside these flow runs by task name; check the tick's shape
    and that `record` names its upstream task runs.

    Task runs reach the server as events, a moment after the flow run ends: wait up to 15 s.
    """
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    counts: dict[str, int] = {}
    for _ in range(75):
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=flow_run_ids)),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )
        done = [r for r in runs if r.state_type and r.state_type.value == "COMPLETED"]
        counts = {}
        for r in done:
            name = r.name.rsplit("-", 1)[0]  # "deliver-3fa" → "deliver"
            counts[name] = counts.get(name, 0) + 1
        if counts == EXPECTED_TASKS:
            check_links(done)
            return counts
        time.sleep(0.2)
    check(False, f"两次 tick 的任务运行应为 {EXPECTED_TASKS}（均 COMPLETED），实际 {counts}")
    return counts


EXPECTED_DEPLOYMENTS = {
    "duban-tick/tick": "duban/deployments.py:tick_flow",
    "duban-monthly-cycle/monthly": "duban/deployments.py:monthly_cycle_flow",
    "duban-daily-digest/daily-digest": "duban/deployments.py:daily_digest_flow",
    "duban-weekly-summary/weekly-summary": "duban/deployments.py:weekly_summary_flow",
}


def deployments() -> None:
    """The four deployments from prefect.yaml: on the pool, no Prefect schedule, run in the repo."""
    from prefect.client.orchestration import get_client

    from flows.jobs import DEPLOYMENTS

    check(
        set(DEPLOYMENTS.values()) == set(EXPECTED_DEPLOYMENTS),
        f"flows/jobs.py 的部署名 {sorted(DEPLOYMENTS.values())} 与 prefect.yaml 不一致",
    )
    with get_client(sync_client=True) as client:
        for name, entrypoint in EXPECTED_DEPLOYMENTS.items():
            dep = client.read_deployment_by_name(name)
            check(dep.work_pool_name == POOL, f"部署 {name} 的工作池是 {dep.work_pool_name}")
            check(dep.entrypoint == entrypoint, f"部署 {name} 的入口是 {dep.entrypoint}")
            check(not dep.schedules, f"部署 {name} 不应有 Prefect 调度（由 duban serve 触发）")
            pull = json.dumps(dep.pull_steps or [], ensure_ascii=False)
            check(str(ROOT) in pull, f"部署 {name} 的 pull 步骤没有进入仓库目录: {pull}")
    print(f"部署已核对: {', '.join(EXPECTED_DEPLOYMENTS)}")


def tick() -> None:
    """One tick through the deployment, checked end to end, then a second one that finds nothing."""
    from sqlmodel import Session, col, select

    from duban import runtime
    from flows.jobs import tick_job
    from flows.runner import embedded
    from models.tables import TickRun

    check(not embedded(), "PREFECT_API_URL 未设置：tick 会在本进程内运行，而不是经过部署")
    received = Received()
    receiver = start_receiver(received)
    robots = point_robots_at(receiver.server_address[1])
    due = count_due()
    check(due > 0, f"DUBAN_NOW={os.environ.get('DUBAN_NOW')} 时没有到期的义务，无从验证")
    now = runtime.current_time()
    started = time.perf_counter()
    out = tick_job(now, threading.Event(), holder="ci:prefect-e2e")
    took = time.perf_counter() - started
    check(out.get("claimed") == due, f"tick 认领 {out.get('claimed')} 条，到期应为 {due} 条")
    check(out.get("actions", 0) > 0, f"tick 没有发出任何动作: {out}")
    summary = check_deliveries(received, Path(os.environ["DUBAN_OUTBOX_DIR"]))
    with Session(runtime.migrated_engine()) as s:
        runs = s.exec(select(TickRun).order_by(col(TickRun.id))).all()
    check(len(runs) == 1 and runs[0].errors == 0, f"tick_run 应有 1 条无错记录: {runs}")
    check(runs[0].claimed == due, f"tick_run 记录认领 {runs[0].claimed} 条，应为 {due}")
    started = time.perf_counter()
    again = tick_job(now, threading.Event(), holder="ci:prefect-e2e")
    took_again = time.perf_counter() - started
    check(again.get("claimed") == 0, f"同一时刻第二次 tick 应无到期义务，实际 {again}")
    prefect = check_flow_runs(now.isoformat())
    check(prefect["flow_runs"] == 2, f"应有 2 次流程运行（两次 tick），实际 {prefect['flow_runs']}")
    daily = run_daily_jobs(now)
    receiver.shutdown()
    report = {"due": due, "robot_channels": robots, "tick": out, "seconds": round(took, 2)}
    report["seconds_idle_tick"] = round(took_again, 2)  # through the deployment, nothing due
    print(json.dumps(report | summary | prefect | daily, ensure_ascii=False))


def run_daily_jobs(now: Any) -> dict[str, Any]:
    """The monthly cycle, the office's digest and the leaders' summary, each through its deployment.

    DUBAN_NOW is a Monday and a working day, after the tick: the office's digest goes out, the
    leaders' summary runs (its first working day of the week), and the monthly cycle (before the
    26th) only materialises.
    """
    from flows.jobs import daily_digest_job, monthly_job, weekly_summary_job

    out: dict[str, Any] = {}
    for name, job in (
        ("monthly", monthly_job),
        ("daily_digest", daily_digest_job),
        ("weekly_summary", weekly_summary_job),
    ):
        started = time.perf_counter()
        result = job(now, threading.Event())  # raises unless the flow run COMPLETED
        out[f"{name}_seconds"] = round(time.perf_counter() - started, 2)
        out[name] = result
    check("materialised" in out["monthly"], f"月度流程结果缺少 materialised: {out['monthly']}")
    check("closed" not in out["monthly"], f"26 日之前不应结算当月: {out['monthly']}")
    digest = out["daily_digest"]
    check(digest.get("notices") == 1, f"工作日应发出一份安委办日报: {digest}")
    # Leaders hear of what has reached them (level 3); on this day the example has none yet.
    weekly = out["weekly_summary"]
    check("skipped" not in weekly, f"周一是本周第一个工作日，领导周报应运行: {weekly}")
    return out


def main(argv: list[str]) -> int:
    """`prepare` or `tick`; prints what failed, in Chinese, and exits 1 on any failed check."""
    steps = {"prepare": prepare, "deployments": deployments, "tick": tick}
    if len(argv) != 1 or argv[0] not in steps:
        print("用法: prefect_tick.py prepare|deployments|tick", file=sys.stderr)
        return 2
    try:
        steps[argv[0]]()
    except E2EError as exc:
        print(f"端到端检查失败: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
