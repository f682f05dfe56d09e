"""What the service's jobs call: one flow per job, embedded or through a Prefect deployment.

With no PREFECT_API_URL the flow bodies run in this process (see flows/runner.py for why). With
PREFECT_API_URL set, the service triggers the deployments from prefect.yaml and a `prefect worker`
runs them; the service stays the one place that owns the clock, the lease and catch-up, so Prefect's
own schedules are not used (two schedulers would fire the same tick).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from flows.context import flow_context
from flows.runner import embedded
from models.repo.ticks import finish_tick, start_tick
from models.tables import PeriodicJobRow
from schedules.clock import utc_now

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

log = logging.getLogger("duban.jobs")
DEPLOYMENTS = {
    "tick": "duban-tick/tick",
    "monthly": "duban-monthly-cycle/monthly",
    "daily_digest": "duban-daily-digest/daily-digest",
    "weekly_summary": "duban-weekly-summary/weekly-summary",
}


def instance_id() -> str:
    """A name for this process, for the lease and the claims: host, process id, random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str) -> bool:
    """Whether a lease holder named by `instance_id` is a process of this machine that is gone.

    A holder on another machine, or one this cannot parse, is never called dead: its lease then
    runs out by its TTL.
    """
    parts = holder.removeprefix("tick:").split(":")
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    # A killed child its parent has not reaped yet still answers kill(pid, 0).
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return False


def _via_deployment(name: str, now: datetime, **extra: Any) -> dict[str, Any]:
    from prefect.deployments import run_deployment

    parameters: dict[str, Any] = {"now": now.isoformat(), **extra}
    # Called from sync code, Prefect's sync_compatible `run_deployment` returns the run itself.
    run = cast(
        "FlowRun",
        run_deployment(name=DEPLOYMENTS[name], parameters=parameters, timeout=600, poll_interval=1),
    )
    state = run.state
    if state is None or not state.is_completed():
        raise RuntimeError(f"Prefect 部署 {DEPLOYMENTS[name]} 运行未完成: {state}")
    result: dict[str, Any] = state.result() if state.is_completed() else {}
    return result


def tick_job(now: datetime, stop: threading.Event, *, holder: str = "duban") -> dict[str, Any]:
    """One tick, logged in tick_run."""
    from flows.tick import run_tick

    engine = flow_context().engine
    with Session(engine) as s:
        run_id = start_tick(session=s, holder=holder, now=now, started_at=utc_now()).id or 0
    errors, note, out = 0, "", {}
    try:
        out = (
            run_tick(now, owner=holder, stop=stop).__dict__
            if embedded()
            else _via_deployment("tick", now)
        )
        if out.get("stopped"):
            note = "收到停止信号，本次 tick 提前结束；未完成的部分下次 tick 继续"
    except Exception as exc:
        errors, note = 1, f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with Session(engine) as s:
            finish_tick(
                session=s,
                run_id=run_id,
                finished_at=utc_now(),
                claimed=int(out.get("claimed", 0)),
                actions=int(out.get("actions", 0)),
                deliveries=int(out.get("notices", 0)),
                errors=errors,
                note=note,
            )
    return out


def monthly_job(now: datetime, stop: threading.Event) -> dict[str, Any]:
    """The monthly report cycle (idempotent; runs daily, acts when a month needs it)."""
    from flows.monthly import monthly_cycle

    return monthly_cycle(now) if embedded() else _via_deployment("monthly", now)


def daily_digest_job(
    now: datetime, stop: threading.Event, *, check_day: bool = True
) -> dict[str, Any]:
    """The office's daily digest (working days only, unless the periodic rules said it is due)."""
    from flows.digests import daily_digest

    if embedded():
        return daily_digest(now, check_day=check_day)
    return _via_deployment("daily_digest", now, check_day=check_day)


def weekly_summary_job(
    now: datetime, stop: threading.Event, *, check_day: bool = True
) -> dict[str, Any]:
    """The leaders' weekly summary (first working day of the week, unless caught up)."""
    from flows.digests import weekly_summary

    if embedded():
        return weekly_summary(now, check_day=check_day)
    return _via_deployment("weekly_summary", now, check_day=check_day)


def run_periodic_jobs(now: datetime, stop: threading.Event) -> dict[str, Any]:
    """The periodic jobs whose `next_run_at` has come (schedules/periodic.py), once each.

    For `duban tick` (cron, drills with a pinned clock) and the service alike: the same state and
    clock as the tick. A job is claimed by moving its row's `next_run_at` on (compare-and-set, so
    two runners never both run it); after downtime it runs once, for its latest missed occurrence.
    A job that raises gets its old `next_run_at` back, so the next tick tries it again (deliveries
    are deduplicated by day or week, so a retry sends nothing twice).
    """
    from schedules.periodic import JOBS, decide

    bodies: dict[str, Callable[[datetime, threading.Event], dict[str, Any]]] = {
        "monthly": monthly_job,
        "daily_digest": lambda at, st: daily_digest_job(at, st, check_day=False),
        "weekly_summary": lambda at, st: weekly_summary_job(at, st, check_day=False),
    }
    ctx = flow_context()
    out: dict[str, Any] = {}
    for job in JOBS:
        if stop.is_set():
            break
        with Session(ctx.engine) as s:
            row = s.get(PeriodicJobRow, job.name)
            stored = row.next_run_at if row is not None else None
            decision = decide(job, stored, now, ctx.calendar)
            if row is None:
                s.add(PeriodicJobRow(name=job.name, next_run_at=decision.next_run_at))
                try:
                    s.commit()
                except IntegrityError:  # another runner wrote it first: it decides this round
                    continue
            elif decision.run and not _claim(s, job.name, stored, decision.next_run_at):
                continue
        if not decision.run:
            continue
        try:
            result = bodies[job.name](now, stop)
        except Exception as exc:
            with Session(ctx.engine) as s:
                _finish(s, job.name, now, f"出错：{type(exc).__name__}: {exc}"[:500], back=stored)
            log.exception("定期任务 %s 运行失败，下次 tick 重试", job.name)
            out[job.name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        if decision.missed:
            result = {**result, "missed": decision.missed}
        out[job.name] = result
        with Session(ctx.engine) as s:
            _finish(s, job.name, now, job_outcome(result))
    return out


def _claim(s: Session, name: str, old: datetime | None, new: datetime) -> bool:
    stmt = (
        update(PeriodicJobRow)
        .where(col(PeriodicJobRow.name) == name, col(PeriodicJobRow.next_run_at) == old)
        .values(next_run_at=new)
    )
    claimed = s.connection().execute(stmt).rowcount == 1
    s.commit()
    return claimed


def _finish(
    s: Session, name: str, now: datetime, outcome: str, *, back: datetime | None = None
) -> None:
    row = s.get(PeriodicJobRow, name)
    if row is None:
        return
    row.last_run_at, row.last_outcome = now, outcome
    if back is not None:
        row.next_run_at = back
    s.add(row)
    s.commit()


def job_outcome(result: dict[str, Any]) -> str:
    """What a periodic job did, truthfully (delivered only when a message reached someone)."""
    if result.get("error"):
        return f"出错：{result['error']}"
    caught = f"（补跑，停机期间错过 {result['missed']} 次）" if result.get("missed") else ""
    if result.get("skipped"):
        return f"今天不运行（{result['skipped']}）{caught}"
    if "delivered" not in result:  # the monthly cycle
        closed = result.get("closed")
        done = f"，{closed['month']} 月报送点名已记录" if closed else ""
        if result.get("closed_late"):
            done += f"，{result['closed_late']['month']} 月报送点名已补记"
        for call in result.get("rollcall") or []:
            done += "，" + rollcall_outcome(call)
        return f"补齐报送义务 {result.get('materialised', 0)} 条{done}{caught}"
    if not result.get("notices"):
        return f"没有需要发送的事项{caught}"
    missing = result.get("undelivered") or []
    text = f"送达 {result['delivered']}/{result['notices']} 份"
    return text + (f"；未送达: {'、'.join(missing)}" if missing else "") + caught


def rollcall_outcome(call: dict[str, Any]) -> str:
    """What one roll-call send did: delivered to the office, or to whom it did not get."""
    if call.get("delivered"):
        return f"{call['month']} 月报送点名已送达办公室"
    missing = "、".join(call.get("undelivered") or []) or "办公室"
    return f"{call['month']} 月报送点名未送达：{missing}（下次运行重试）"
