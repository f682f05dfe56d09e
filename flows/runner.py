"""Run a flow embedded (no Prefect server) or through Prefect, and tasks likewise.

Measured on this machine (bench/bench_prefect_modes.py): with no PREFECT_API_URL, calling a flow
starts Prefect's ephemeral API server, 13 s on a cold start and about 1.1 s per run after, and the
test harness 15 s. `flow.fn()` runs the same body in microseconds with no server. So the embedded
default calls `.fn` for flows and tasks; with PREFECT_API_URL set, flows and tasks run through
Prefect (states, retries, run history in the UI), and the service triggers deployments.

Under Prefect every task argument is passed `opaque`: Prefect still links a task run to the task
run whose result it receives (the arrows in the UI), but does not walk into the value looking for
futures. Walking a round's 2,500 planned actions (each with its policy and item) cost tens of
milliseconds per task run at 55 items and grows with the batch; none of our arguments hold futures.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")


def embedded() -> bool:
    """True when no Prefect API is configured: run flow and task bodies directly."""
    return not os.environ.get("PREFECT_API_URL")


def run_task(task: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a Prefect task: its body when embedded, the task itself under a Prefect flow run."""
    if embedded():
        return task.fn(*args, **kwargs)
    from prefect.utilities.annotations import opaque

    return task(*(opaque(a) for a in args), **{k: opaque(v) for k, v in kwargs.items()})


def run_flow(flow: Any, **kwargs: Any) -> Any:
    """Call a Prefect flow (sync or async) from sync code: its body when embedded, else a
    tracked flow run; returns the flow's result either way."""
    if embedded():
        return _result(flow.fn(**kwargs))
    from prefect.context import SyncClientContext

    # One sync API client for the whole run: without one in context, Prefect's async engine (for
    # the result storage) and the tick's sync task runs would each build their own (15-35 ms each).
    with SyncClientContext.get_or_create():
        return _result(flow(**kwargs))


async def in_worker_thread(body: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run an async flow's sync body in a worker thread that sees the flow run's context.

    duban's flows are async on purpose: Prefect 3.8 joins a SYNC flow run's heartbeat thread on
    exit, up to a second per run (it sleeps in 1 s steps), while an async flow run leaves it to
    stop on its own. The body stays ordinary sync code; under Prefect it gets one sync API client
    for all of its task runs (without one in context each task run builds its own, 15-35 ms).
    """

    def run() -> R:
        if embedded():  # `flow.fn` with no Prefect API: no client, no ephemeral server
            return body(*args, **kwargs)
        from prefect.context import SyncClientContext

        with SyncClientContext.get_or_create():
            return body(*args, **kwargs)

    return await asyncio.to_thread(run)


def _result(out: Any) -> Any:
    return asyncio.run(out) if inspect.iscoroutine(out) else out
