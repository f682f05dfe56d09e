"""Run a flow embedded (no Prefect server) or through Prefect, and tasks likewise.

Measured on this machine (bench/bench_prefect_modes.py): with no PREFECT_API_URL, calling a flow
starts Prefect's ephemeral API server, 13 s on a cold start and about 1.1 s per run after, and the
test harness 15 s. `flow.fn()` runs the same body in microseconds with no server. So the embedded
default calls `.fn` for flows and tasks; with PREFECT_API_URL set, flows and tasks run through
Prefect (states, retries, run history in the UI), and the service triggers deployments.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")


def embedded() -> bool:
    """True when no Prefect API is configured: run flow and task bodies directly."""
    return not os.environ.get("PREFECT_API_URL")


def run_task(task: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a Prefect task: its body when embedded, the task itself under a Prefect flow run."""
    fn: Callable[..., Any] = task.fn if embedded() else task
    return fn(*args, **kwargs)


def run_flow(flow: Any, **kwargs: Any) -> Any:
    """Call a Prefect flow: its body when embedded, else a tracked flow run."""
    fn: Callable[..., Any] = flow.fn if embedded() else flow
    return fn(**kwargs)
