"""`duban quickstart`: the main job on the embedded default, and `serve --demo`'s fast clock."""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import typer

from duban import runtime
from duban.cli.common import fail
from schedules.clock import OFFICE_TZ

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STAGE_CN = {
    "assign": "交办",
    "remind": "提醒",
    "chase": "催办",
    "office": "督办",
    "leader": "通报",
    "lapse": "逾期未报",
}


def _fresh_database() -> None:
    url = runtime.settings().resolved_database_url
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


def _load_examples(examples: Path, *, replay: bool) -> date:
    """Load the directory, import every example plan and activate it at the plans' start. Returns it."""
    from sqlmodel import Session

    from duban.directory import DirectoryError, load_directory
    from flows.context import flow_context
    from flows.import_plan import import_plan_flow
    from models.repo.obligations import activate_plan, plan_period
    from models.repo.units import apply_directory
    from models.tables import Plan

    try:
        spec = load_directory(examples / "units.yaml")
    except DirectoryError as exc:
        fail(str(exc))
    with runtime.transaction() as session:
        apply_directory(session=session, spec=spec, now=runtime.current_time(), actor="quickstart")
    typer.echo(
        f"单位目录: {len(spec.units)} 个单位，{len(spec.groups)} 个分组（{examples / 'units.yaml'}）"
    )
    now, actor = runtime.current_time(), runtime.actor()
    imported = [
        (p, import_plan_flow.fn(path=str(p), now=now, actor=actor))
        for p in sorted((examples / "plans").glob("*"))
    ]
    with Session(runtime.engine()) as s:
        plans = [s.get(Plan, int(r["plan_id"])) for _, r in imported]
        issued = [p.issued_on for p in plans if p is not None and p.issued_on]
        start = min(issued) if issued else min(plan_period(p)[0] for p in plans if p is not None)
    # Activate as the office would have on the day the first plan was issued; earlier deadlines of
    # the other plans land on the "confirm status" list, as they would in real life.
    # In real time the office activates now: past deadlines go to the "confirm status" list.
    at = datetime.combine(start, time(8, 0), tzinfo=OFFICE_TZ) if replay else runtime.current_time()
    for path, result in imported:
        with runtime.transaction() as session:
            report = activate_plan(
                session=session,
                ctx=flow_context(),
                plan_id=int(result["plan_id"]),
                now=at,
                actor="quickstart",
            )
        typer.echo(
            f"计划 {result['plan_id']}: {path.name} → 任务 {result['tasks']} 个，义务 {report.created} 条"
            f"（其中待确认 {report.to_confirm} 条）"
        )
    return start


def _print_day(day: date, results: dict[str, Any]) -> None:
    from sqlmodel import Session, func, select

    from models.tables import QueueItem

    stages = results.get("by_stage", {})
    digest = results.get("daily_digest") or {}
    calls = (results.get("monthly") or {}).get("rollcall") or []
    if not stages and not digest.get("notices") and not results.get("reported") and not calls:
        return
    text = "，".join(
        f"{STAGE_CN.get(k, k)} {v}" for k, v in sorted(stages.items(), key=lambda kv: kv[0])
    )
    with Session(runtime.engine()) as s:
        queue = s.exec(
            select(func.count()).select_from(QueueItem).where(QueueItem.status != "resolved")
        ).one()
    extra = ""
    if digest.get("notices"):
        extra = (
            "，办公室日报已送达"
            if digest.get("delivered")
            else f"，办公室日报未送达（{'、'.join(digest.get('undelivered', []))}）"
        )
    if results.get("reported"):
        extra += f"，{results['reported']} 项按期报送并销号"
    if calls:
        from flows.jobs import rollcall_outcome

        extra += "".join(f"，{rollcall_outcome(c)}" for c in calls)
    typer.echo(
        f"{day.isoformat()} 周{'一二三四五六日'[day.weekday()]}: {text or '无催办动作'}"
        f"（通知 {results.get('notices', 0)} 条{extra}）督办队列 {queue} 项"
    )


def _units_report(day: date, rate: float, rng: random.Random) -> int:
    """Demo only: some units report on their due day and the office accepts (销号) at once."""
    from sqlmodel import col, select

    from flows.context import flow_context
    from models.repo.chase import OfficeAction, apply_decision
    from models.tables import Milestone, Obligation, Plan, Task
    from schedules.machine import Event

    ctx, done = flow_context(), 0
    at = datetime.combine(day, time(16, 0), tzinfo=OFFICE_TZ)
    with runtime.transaction() as s:
        due = s.exec(
            select(Obligation).where(
                Obligation.due_on == day,
                Obligation.role == "lead",
                col(Obligation.status).in_(["open", "reminded"]),
            )
        ).all()
        for ob in due:
            if rng.random() >= rate:
                continue
            ms, tk, plan = (
                s.get(Milestone, ob.milestone_id),
                s.get(Task, ob.task_id),
                s.get(Plan, ob.plan_id),
            )
            policy = ctx.policy_for(plan, tk, ms)  # type: ignore[arg-type]
            for event, actor in ((Event.SUBMIT, "演示单位"), (Event.ACCEPT, "安委办（演示）")):
                apply_decision(
                    session=s,
                    ob=ob,
                    act=OfficeAction(event, actor=actor, reason="演示"),
                    policy=policy,
                    cal=ctx.calendar,
                    now=at,
                )
            done += 1
    return done


def _units_sign(day: date, rate: float, rng: random.Random) -> int:
    """Demo only: at 17:00 (after the day's last tick), some units open the portal and 签收
    every 交办/督办 delivered to them (a unit signs all of its items or none that day); returns
    the items signed."""
    from sqlmodel import col, select

    from models.people import Receipt
    from models.repo.actions import acknowledge
    from models.tables import Delivery, Obligation

    at = datetime.combine(day, time(17, 0), tzinfo=OFFICE_TZ)
    done = 0
    with runtime.transaction() as s:
        signed = select(Receipt.obligation_id)
        rows = s.exec(
            select(Obligation)
            .where(
                col(Obligation.id).in_(
                    select(Delivery.obligation_id).where(
                        col(Delivery.stage).in_(["assign", "office"]),
                        Delivery.status == "sent",
                        col(Delivery.sent_at) < at,
                    )
                ),
                col(Obligation.id).not_in(signed),
                col(Obligation.status).not_in(["accepted", "waived"]),
            )
            .order_by(col(Obligation.unit_id), col(Obligation.id))
        ).all()
        by_unit: dict[int, list[Obligation]] = {}
        for ob in rows:
            by_unit.setdefault(ob.unit_id, []).append(ob)
        for obs in by_unit.values():
            if rng.random() >= rate:
                continue
            for ob in obs:
                done += acknowledge(session=s, ob=ob, by="演示单位", now=at, via="portal")[1]
    return done


def demo(
    first: date, days: int, seconds_per_day: float, submit_rate: float = 0.6, seed: int = 1
) -> None:
    """Run the jobs over simulated days (the fast clock), printing what each day did."""
    from duban.cli.demo import run_demo
    from flows.jobs import run_periodic_jobs, tick_job

    typer.echo(
        f"\n演示时钟：从 {first.isoformat()} 起 {days} 天，每天约 {seconds_per_day} 秒（Ctrl-C 结束）"
    )
    jobs: dict[str, Callable[[datetime, threading.Event], dict[str, Any]]] = {
        "tick": lambda now, stop: tick_job(now, stop, holder="demo"),
        "periodic": run_periodic_jobs,
    }
    stop = threading.Event()
    rng = random.Random(seed)
    sign_rng = random.Random(seed + 1)  # its own stream: who reports stays as without 签收

    def on_day(day: date, results: dict[str, Any]) -> None:
        _units_sign(day, submit_rate, sign_rng)
        results["reported"] = _units_report(day, submit_rate, rng)
        _print_day(day, results)

    try:
        run_demo(
            start=first,
            days=days,
            seconds_per_day=seconds_per_day,
            jobs=jobs,
            on_day=on_day,
            stop=stop,
        )
    except KeyboardInterrupt:
        stop.set()
    _summary()


def _summary() -> None:
    from sqlmodel import Session, func, select

    from duban.cli.volume_report import measure_sent
    from models.tables import Delivery, QueueItem
    from schedules.volume import render_volume

    settings = runtime.settings()
    with Session(runtime.engine()) as s:
        volume = measure_sent(s)
        # one message = one batch (a unit's items of one pass, to one address or robot); its
        # delivery rows are one per item
        sent, items = s.exec(
            select(func.count(func.distinct(Delivery.batch)), func.count()).where(
                Delivery.status == "sent"
            )
        ).one()
        queue = s.exec(
            select(func.count()).select_from(QueueItem).where(QueueItem.status != "resolved")
        ).one()
    typer.echo(
        f"\n已发送消息 {sent} 条，含事项 {items} 项次（写入发件箱 {settings.resolved_outbox_dir}/，"
        "可直接打开 .eml 与 .json）；"
        f"督办队列未办结 {queue} 项。"
    )
    for line in render_volume(volume, top=5):
        typer.echo(line)
    typer.echo(
        "接着可以试试: .venv/bin/duban queue list | .venv/bin/duban obligation list --status escalated | "
        ".venv/bin/duban status | .venv/bin/duban serve（真实时间运行服务）"
    )


def quickstart(
    fresh: bool = typer.Option(True, "--fresh/--keep", help="先删除旧的 SQLite 数据库，重新开始"),
    examples: Path = typer.Option(
        EXAMPLES,
        "--examples",
        metavar="目录",
        help="示例目录（units.yaml 与 plans/；默认本项目的 examples/）",
        show_default=False,
    ),
    days: int = typer.Option(75, "--days", metavar="天数", help="演示运行的天数（模拟时钟）"),
    seconds_per_day: float = typer.Option(
        0.3, "--seconds-per-day", metavar="秒", help="模拟时钟每天对应的真实秒数"
    ),
    submit_rate: float = typer.Option(
        0.6, "--submit-rate", metavar="比例", help="演示中按期报送的单位比例（其余被催办、督办）"
    ),
    demo_clock: bool = typer.Option(
        False, "--demo", help="快速时钟：从计划开始日起每天约 0.3 秒；不加则按真实时间运行服务"
    ),
    web: bool = typer.Option(
        False,
        "--web",
        help="演示结束后启动网页（单位门户与办公室控制台），并打印登录信息与一个单位的链接",
    ),
) -> None:
    """主流程：新建数据库，载入示例单位目录与示例计划并启用，然后运行服务（--demo 为快速时钟）。"""
    from models.migrate import current_revision, upgrade

    os.environ.setdefault("DUBAN_DELIVERY", "outbox")  # example robots' URLs are not real hosts
    if web:  # the demo's messages then link to the pages
        os.environ.setdefault("DUBAN_PORTAL_URL", "http://127.0.0.1:8000")
    runtime.reset()
    if fresh:
        _fresh_database()
    eng = runtime.engine()
    upgrade(eng)
    typer.echo(
        f"数据库: {runtime.settings().redacted()['database_url']}（版本 {current_revision(eng)}）"
    )
    start = _load_examples(examples, replay=demo_clock)
    if demo_clock:
        if days > 0:
            demo(start, days, seconds_per_day, submit_rate)
        if web:
            serve_pages(start + timedelta(days=max(days, 0)))
        return
    from duban.cli.service import serve_cmd

    typer.echo(
        "按真实时间运行服务（Ctrl-C 停止）；示例计划的日期已过，节点在“待确认”清单中: duban obligation list --status to_confirm"
    )
    serve_cmd()


def serve_pages(day: date) -> None:
    """After the demo: the pages on its data, their clock running on from its last day; prints the
    office's login (a fresh password each run) and the portal link of the unit with most to do."""
    import secrets

    from sqlalchemy import func
    from sqlmodel import col, select

    from duban.cli.users import unit_link
    from duban.cli.web import web_cmd
    from models.repo.accounts import AccountError, add_user, set_password
    from models.tables import Obligation

    os.environ["DUBAN_NOW"] = datetime.combine(day, time(9, 30), tzinfo=OFFICE_TZ).isoformat()
    os.environ["DUBAN_NOW_RUNNING"] = "1"
    runtime.reset()
    password = secrets.token_urlsafe(9)
    now = runtime.current_time()
    with runtime.transaction() as s:
        try:
            add_user(
                session=s,
                login="office",
                password=password,
                role="office",
                display_name="王科长（演示）",
                now=now,
                by="quickstart",
            )
        except AccountError:
            set_password(session=s, login="office", password=password, now=now, by="quickstart")
        busiest = s.exec(
            select(Obligation.unit_id, func.count())
            .where(col(Obligation.status).not_in(["accepted", "waived"]))
            .group_by(col(Obligation.unit_id))
            .order_by(func.count().desc())
        ).first()
    st = runtime.settings()
    typer.echo(f"\n网页（时钟从 {day.isoformat()} 起走）:")
    typer.echo(
        f"  办公室控制台: http://{st.web_host}:{st.web_port}/office  登录名 office，密码 {password}"
    )
    if busiest:
        typer.echo(f"  单位门户（待办最多的单位）: {unit_link(busiest[0])}")
    typer.echo("  Ctrl-C 停止")
    web_cmd(host=None, port=None, workers=1)  # type: ignore[arg-type]
