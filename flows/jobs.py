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
from datetime import datetime
from typing import Any

from sqlmodel import Session

from flows.context import flow_context
from flows.runner import embedded
from models.repo.ticks import finish_tick, start_tick
from schedules.clock import utc_now

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


def _via_deployment(name: str, now: datetime) -> dict[str, Any]:
    from prefect.deployments import run_deployment

    run = run_deployment(
        name=DEPLOYMENTS[name], parameters={"now": now.isoformat()}, timeout=600, poll_interval=1
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


def daily_digest_job(now: datetime, stop: threading.Event) -> dict[str, Any]:
    """The office's daily digest (working days only)."""
    from flows.digests import daily_digest

    return daily_digest(now) if embedded() else _via_deployment("daily_digest", now)


def weekly_summary_job(now: datetime, stop: threading.Event) -> dict[str, Any]:
    """The leaders' weekly summary (first working day of the week only)."""
    from flows.digests import weekly_summary

    return weekly_summary(now) if embedded() else _via_deployment("weekly_summary", now)
