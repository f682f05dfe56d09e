"""The Prefect deployments' entry points (prefect.yaml): duban's flows, with their context provided.

A deployed flow run starts in a fresh process (`prefect worker` → `prefect flow-run execute`) that
imports only its entrypoint. flows/ never imports duban, so the entrypoint is here, at the edge:
importing `duban.runtime` registers how flows build their context from the settings (the worker's
DUBAN_* environment), then the four flows are re-exported unchanged (same flow names, so the
deployments `duban-tick/tick` … and `flows/jobs.py` are as before).
"""

from __future__ import annotations

from duban import runtime  # noqa: F401  (registers the flows' context provider on import)
from flows.digests import daily_digest_flow, weekly_summary_flow
from flows.monthly import monthly_cycle_flow
from flows.tick import tick_flow

__all__ = ["daily_digest_flow", "monthly_cycle_flow", "tick_flow", "weekly_summary_flow"]
