"""`duban tick`, `duban serve`, `duban status`, `duban doctor`: running and watching the service."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import typer

from duban import runtime
from duban.cli.common import format_duration, json_option, print_json
from schedules.clock import utc_now

LEASE_NAME = "sender"
log = logging.getLogger("duban.service")


def tick_cmd(
    periodic: bool = typer.Option(
        True,
        "--periodic/--no-periodic",
        help="同时运行已到时间的定期任务（08:30 月报周期、09:00 办公室日报、09:05 领导简报），"
        "每次到期只运行一次，停机后补跑一次；--no-periodic 只运行 tick",
    ),
    as_json: bool = json_option(),
) -> None:
    """运行一次 tick（补发停机期间到期的提醒）后退出；适合手工补跑、cron 与演练。"""
    from flows.jobs import instance_id, job_outcome, run_periodic_jobs, tick_job

    holder = f"tick:{instance_id()}"
    lease = sender_lease(holder)
    if not lease.acquire(utc_now()):
        typer.echo(
            f"错误: 发送租约由 {current_holder() or '另一实例'} 持有（duban serve 正在运行），"
            "本次 tick 未运行；主实例会按时发送",
            err=True,
        )
        raise typer.Exit(1)
    stop = threading.Event()
    try:
        with _stop_on_signals(stop), _renewing(lease, stop):
            now = runtime.current_time()
            out = tick_job(now, stop, holder=holder)
            jobs = run_periodic_jobs(now, stop) if periodic else {}
    finally:
        lease.release(utc_now())
    if periodic:
        out["periodic"] = jobs
    if as_json:
        print_json(out)
        return
    typer.echo(tick_lines(out))
    for name, result in jobs.items():
        typer.echo(f"{job_label(name)}：{job_outcome(result)}")


def job_label(name: str) -> str:
    """A periodic job's name as a clerk reads it."""
    from schedules.periodic import JOB_BY_NAME

    job = JOB_BY_NAME.get(name)
    return job.label if job else name


def tick_lines(out: dict[str, Any]) -> str:
    """What a tick did, in Chinese: obligations, then messages by outcome."""
    from notify.notice import STAGE_NAMES

    stages = "，".join(
        f"{STAGE_NAMES.get(k, k)} {v}" for k, v in sorted(out.get("by_stage", {}).items())
    )
    lines = [
        f"tick 完成：到期 {out.get('claimed', 0)} 条，发出动作 {out.get('actions', 0)} 个（{stages or '无'}），"
        f"等待渠道重试的义务 {out.get('deferred', 0)} 条",
        f"消息：送达 {out.get('sent', 0)} 条，永久失败 {out.get('failed', 0)} 条，"
        f"待重试 {out.get('pending', 0)} 条",
    ]
    hosts = out.get("deferred_by_host") or {}
    if hosts:
        shown = "、".join(f"{h} {n} 条" for h, n in sorted(hosts.items()))
        lines.append(f"主机暂停（连续失败，稍后自动重试）：{shown}")
    extra = [
        ("resent", "再次交办（逾期未签收）的事项"),
        ("repeats", "崩溃后重发（收件方可能收到两次）"),
        ("reclaimed", "收回中断的发送"),
        ("unreached", "无任何渠道可达的通知"),
        ("retried", "重试待发消息"),
        ("superseded", "已无需重试而关闭"),
        ("given_up", "超过时限转为失败"),
    ]
    said = [f"{label} {out[k]} 条" for k, label in extra if out.get(k)]
    if said:
        lines.append("；".join(said))
    if out.get("failed") or out.get("given_up"):
        lines.append("有消息永久失败：请运行 duban notify failed 查看并在修复渠道后重发")
    for error in out.get("template_fallbacks") or []:
        lines.append(
            f"覆盖模板出错，已改用默认模板发送（请修正后运行 duban templates check）：{error}"
        )
    if out.get("stopped"):
        lines.append("收到停止信号：本次 tick 已提前结束，未完成的部分下次 tick 继续")
    return "\n".join(lines)


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT set `stop` (the tick ends after the sends in flight) instead of killing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _signal(signum: int, _frame: Any) -> None:
        log.warning("收到信号 %s，当前发送完成后结束本次 tick", signal.Signals(signum).name)
        stop.set()

    old = {sig: signal.signal(sig, _signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _renewing(lease: Any, stop: threading.Event) -> Iterator[None]:
    """Renew the sender lease while a one-shot tick runs (a long tick must not lose it)."""
    done = threading.Event()

    def renew() -> None:
        while not done.wait(lease.renew_every.total_seconds()):
            if not lease.acquire(utc_now()):
                log.error("发送租约被他人接管：停止本次 tick")
                stop.set()
                return

    thread = threading.Thread(target=renew, name="duban-lease-renewal", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def current_holder() -> str | None:
    """Who holds the sender lease now (wall clock)."""
    from sqlmodel import Session

    from models.repo.lease import lease_holder

    with Session(runtime.migrated_engine()) as s:
        return lease_holder(session=s, name=LEASE_NAME, now=utc_now())


def sender_lease(holder: str) -> Any:
    """The sender lease on the database, on the wall clock, for `holder`.

    Taking it over from a holder that did not release it (expired, or its process is gone) takes
    back that holder's unfinished claims and sends at once (models/repo/recovery).
    """
    from sqlmodel import Session

    from flows.jobs import holder_is_dead
    from models.repo.lease import release_lease, take_lease
    from models.repo.recovery import take_back
    from schedules.service import LeaseOps

    engine = runtime.migrated_engine()
    settings = runtime.settings()
    ttl = timedelta(seconds=settings.lease_ttl)

    def acquire(_now: Any) -> bool:
        # Liveness is a fact of real time: the lease runs on the wall clock even when the logical
        # clock is pinned (DUBAN_NOW), so a drill's pinned tick can still take over from the dead.
        with Session(engine) as s:
            taken = take_lease(
                session=s,
                name=LEASE_NAME,
                holder=holder,
                now=utc_now(),
                ttl=ttl,
                dead=holder_is_dead,
            )
        if taken.held and taken.previous:
            with Session(engine) as s:
                got = take_back(
                    session=s, now=runtime.current_time(), previous=taken.previous, actor=holder
                )
            log.warning(
                "接管发送租约（原持有者 %s）：释放义务认领 %s 个，收回发送 %s 条",
                taken.previous,
                got.claims,
                got.deliveries,
            )
        return taken.held

    def release(_now: Any) -> None:
        with Session(engine) as s:
            release_lease(session=s, name=LEASE_NAME, holder=holder, now=utc_now())

    return LeaseOps(
        acquire=acquire,
        release=release,
        ttl=ttl,
        renew_every=timedelta(seconds=settings.lease_renew),
    )


def build_service(holder: str) -> Any:
    """The real service: lease on the database, jobs into the flows, the one clock."""
    from flows.jobs import run_periodic_jobs, tick_job
    from schedules.service import Service, ServiceJobs

    settings = runtime.settings()
    jobs = ServiceJobs(
        tick=lambda now, stop: tick_job(now, stop, holder=holder),
        periodic=run_periodic_jobs,
    )
    return Service(
        jobs=jobs,
        lease=sender_lease(holder),
        clock=runtime.current_time,
        tick_every=timedelta(seconds=settings.tick_seconds),
        stop_grace=settings.stop_grace,
    )


def start_web() -> Any:
    """The pages in a process of their own (`python -m duban web`): the scheduler never runs
    inside a web worker, and a web worker's crash never stops the sending."""
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "duban", "web"])


def stop_web(proc: Any) -> None:
    """Stop the pages' process (SIGTERM, then SIGKILL after 10 s)."""
    import subprocess

    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def serve_cmd(
    no_web: bool = typer.Option(
        False, "--no-web", help="不启动网页（单位门户与办公室控制台另行用 duban web 启动）"
    ),
) -> None:
    """作为服务运行：每分钟 tick、每月报送周期、每日汇总与每周领导简报；同库第二个实例自动作为备用。

    默认同时在单独的进程中启动网页（同 duban web）。"""
    from flows.jobs import instance_id

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    holder = instance_id()
    typer.echo(
        f"duban 服务启动（实例 {holder}，数据库 {runtime.settings().redacted()['database_url']}）"
    )
    web = None if no_web else start_web()
    try:
        code = build_service(holder).serve_forever()
    finally:
        if web is not None:
            stop_web(web)
    typer.echo(
        "duban 服务已停止" + ("" if code == 0 else "（有未完成的工作已释放，下次启动会补发）")
    )
    raise typer.Exit(code)


def status_cmd(as_json: bool = json_option()) -> None:
    """服务状态：上次 tick、延迟、到期与逾期数量、督办队列、失败渠道、主/备实例、日历覆盖年份。"""
    from duban.cli.status_view import collect_status

    info = collect_status(LEASE_NAME)
    if as_json:
        print_json(info)
        return
    years = info["calendar_years"]
    shown = {
        "当前时间": info["now"],
        "上次 tick": info["last_tick"] or "尚未运行",
        "最早一项待处理已等待": format_duration(info["lag_seconds"])
        if info["lag_seconds"]
        else "无积压",
        "主实例": info["leader"] or "无（服务未运行或租约已过期）",
        "现在到期": info["due_now"],
        "逾期义务": info["overdue"],
        "待确认": info["to_confirm"],
        "督办队列未办结": info["queue_open"],
        "失败渠道": "、".join(info["failing_channels"]) or "无",
        "待重试消息": info["messages_waiting"],
        "永久失败未重发": info["messages_failed"],
        "发送中（未记录结果）": info["messages_sending"],
        "崩溃后重发（可能重复）": info["messages_repeated"],
        "日历覆盖年份": f"{years[0]}–{years[-1]}" if years else "无",
    }
    for label, value in shown.items():
        typer.echo(f"{label}: {value}")
    lines = []
    if info["failing_hosts"]:
        from duban.cli.health import trouble_lines

        lines = trouble_lines(info)
    typer.echo("失败主机: " + ("无" if not lines else ""))
    for line in lines:
        typer.echo(f"  {line}")
    typer.echo("定期任务:")
    for job in info["periodic"]:
        typer.echo(f"  {periodic_line(job)}")


def periodic_line(job: dict[str, Any]) -> str:
    """One periodic job as `status` and `doctor` show it."""
    if job["next_run_at"] is None:
        return f"{job['label']}（每天 {job['at']} 前后）：尚未运行（下一次 tick 时安排）"
    last = (
        f"上次 {job['last_run_at']}：{job['last_outcome'] or '无结果'}"
        if job["last_run_at"]
        else "尚未运行过"
    )
    late = (
        "（已过时未运行：请确认 duban serve 或 cron 中的 duban tick 在运行）" if job["late"] else ""
    )
    return f"{job['label']}：下次 {job['next_run_at']}{late}；{last}"


def doctor_cmd(as_json: bool = json_option()) -> None:
    """体检：数据库与迁移、模板、渠道设置、工作日日历覆盖。发现问题时退出码非零。"""
    from duban.cli.health import collect_doctor

    checks = collect_doctor()
    if as_json:
        print_json(checks)
    else:
        for c in checks:
            typer.echo(f"[{'通过' if c['ok'] else '问题'}] {c['name']}: {c['detail']}")
    if not all(c["ok"] for c in checks):
        raise typer.Exit(1)
