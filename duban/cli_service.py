"""`duban tick`, `duban serve`, `duban status`, `duban doctor`: running and watching the service."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import typer

from duban import runtime
from duban.cli_common import format_duration, json_option, print_json

LEASE_NAME = "sender"
STAGE_NAMES = {"remind": "提醒", "chase": "催办", "office": "督办", "leader": "通报"}


def tick_cmd(
    periodic: bool = typer.Option(
        False,
        "--periodic",
        help="同时运行今天已到时间、尚未运行的定期任务（08:30 月报周期、09:00 办公室日报、09:05 领导简报），每天一次",
    ),
    as_json: bool = json_option(),
) -> None:
    """运行一次 tick（补发停机期间到期的提醒）后退出；适合手工补跑、cron 与演练。"""
    from flows.jobs import instance_id, run_periodic_jobs, tick_job

    now, stop = runtime.current_time(), threading.Event()
    out = tick_job(now, stop, holder=f"tick:{instance_id()}")
    jobs = run_periodic_jobs(now, stop) if periodic else {}
    if periodic:
        out["periodic"] = jobs
    if as_json:
        print_json(out)
        return
    by_stage = sorted(
        out.get("by_stage", {}).items(),
        key=lambda kv: list(STAGE_NAMES).index(kv[0]) if kv[0] in STAGE_NAMES else 9,
    )
    stages = "，".join(f"{STAGE_NAMES.get(k, k)} {v}" for k, v in by_stage) or "无"
    typer.echo(
        f"tick 完成：到期 {out.get('claimed', 0)} 条，发出动作 {out.get('actions', 0)} 个（{stages}），"
        f"通知 {out.get('notices', 0)} 条，推迟重试 {out.get('deferred', 0)} 条"
    )
    for name, result in jobs.items():
        typer.echo(f"{JOB_NAMES.get(name, name)}：{_job_outcome(result)}")


JOB_NAMES = {
    "monthly": "每月报送周期",
    "daily_digest": "办公室日报",
    "weekly_summary": "领导每周简报",
}


def _job_outcome(result: dict[str, Any]) -> str:
    """What a periodic job did, truthfully (delivered only when a message reached someone)."""
    if result.get("skipped"):
        return f"今天不运行（{result['skipped']}）"
    if "delivered" not in result:  # the monthly cycle
        closed = result.get("closed")
        done = f"，{closed['month']} 月报送点名已记录" if closed else ""
        return f"补齐报送义务 {result.get('materialised', 0)} 条{done}"
    if not result.get("notices"):
        return "没有需要发送的事项"
    missing = result.get("undelivered") or []
    text = f"送达 {result['delivered']}/{result['notices']} 份"
    return text + (f"；未送达: {'、'.join(missing)}" if missing else "")


def build_service(holder: str) -> Any:
    """The real service: lease on the database, jobs into the flows, the one clock."""
    from sqlmodel import Session

    from flows.jobs import daily_digest_job, monthly_job, tick_job, weekly_summary_job
    from models.repo.lease import acquire_lease, release_lease
    from schedules.service import LeaseOps, Service, ServiceJobs

    engine = runtime.migrated_engine()
    settings = runtime.settings()
    ttl = timedelta(seconds=settings.lease_ttl)

    def acquire(now: Any) -> bool:
        with Session(engine) as s:
            return acquire_lease(session=s, name=LEASE_NAME, holder=holder, now=now, ttl=ttl)

    def release(now: Any) -> None:
        with Session(engine) as s:
            release_lease(session=s, name=LEASE_NAME, holder=holder, now=now)

    jobs = ServiceJobs(
        tick=lambda now, stop: tick_job(now, stop, holder=holder),
        monthly=monthly_job,
        daily_digest=daily_digest_job,
        weekly_summary=weekly_summary_job,
    )
    lease = LeaseOps(
        acquire=acquire,
        release=release,
        ttl=ttl,
        renew_every=timedelta(seconds=settings.lease_renew),
    )
    return Service(
        jobs=jobs,
        lease=lease,
        clock=runtime.current_time,
        tick_every=timedelta(seconds=settings.tick_seconds),
    )


def serve_cmd() -> None:
    """作为服务运行：每分钟 tick、每月报送周期、每日汇总与每周领导简报；同库第二个实例自动作为备用。"""
    from flows.jobs import instance_id

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    holder = instance_id()
    typer.echo(
        f"duban 服务启动（实例 {holder}，数据库 {runtime.settings().redacted()['database_url']}）"
    )
    code = build_service(holder).serve_forever()
    typer.echo(
        "duban 服务已停止" + ("" if code == 0 else "（有未完成的工作已释放，下次启动会补发）")
    )
    raise typer.Exit(code)


def status_cmd(as_json: bool = json_option()) -> None:
    """服务状态：上次 tick、延迟、到期与逾期数量、督办队列、失败渠道、主/备实例、日历覆盖年份。"""
    from duban.status_view import collect_status

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
        "日历覆盖年份": f"{years[0]}–{years[-1]}" if years else "无",
    }
    for label, value in shown.items():
        typer.echo(f"{label}: {value}")


def doctor_cmd(as_json: bool = json_option()) -> None:
    """体检：数据库与迁移、模板、渠道设置、工作日日历覆盖。发现问题时退出码非零。"""
    from duban.health import collect_doctor

    checks = collect_doctor()
    if as_json:
        print_json(checks)
    else:
        for c in checks:
            typer.echo(f"[{'通过' if c['ok'] else '问题'}] {c['name']}: {c['detail']}")
    if not all(c["ok"] for c in checks):
        raise typer.Exit(1)
