"""What every flow needs, loaded once per process: database, calendar, policies, send config.

flows/ never reads the installation's settings (those belong to the edge, duban/): the edge
registers a provider (`provide_context`) that builds the context from them. `duban.runtime`
registers one when it is imported, so every command, the pages and the Prefect deployment entry
module (duban/deployments.py) have it; a test builds its own `FlowContext`, or registers a provider.

Light at import (no SQLAlchemy, no ORM, no YAML): duban/runtime.py imports it at CLI start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from models.tables import Milestone, Plan, Task
    from notify.config import SendConfig
    from schedules.calendar import WorkCalendar
    from schedules.policy import Policy, PolicySet


@dataclass(frozen=True)
class FlowContext:
    """The injected dependencies of a flow run (never the clock: `now` is a parameter)."""

    engine: Engine
    send: SendConfig
    calendar: WorkCalendar
    policies: PolicySet
    # A message still undelivered this long after it was first tried becomes a permanent failure.
    pending_give_up_hours: float = 24.0

    def policy_for(self, plan: Plan, task: Task, milestone: Milestone) -> Policy:
        """The effective policy: file default ← file overrides ← overrides stored on the rows."""
        from schedules.policy import merge

        policy = self.policies.resolve(
            plan=str(plan.id),
            task=f"{plan.id}/{task.ref}",
            milestone=f"{plan.id}/{task.ref}/{milestone.key}",
        )
        for where, override in (
            ("plan", plan.policy),
            ("task", task.policy),
            ("milestone", milestone.policy),
        ):
            if override:
                policy = merge(policy, override, where=f"{where} 策略覆盖")
        return policy


class NoContextProvider(RuntimeError):
    """A flow ran in a process where no edge registered how to build its context."""


_provider: Callable[[], FlowContext] | None = None


def provide_context(provider: Callable[[], FlowContext]) -> None:
    """Register how this process builds its `FlowContext` (the edge calls it; last one wins)."""
    global _provider
    _provider = provider
    flow_context.cache_clear()


def build_context(
    *,
    engine: Engine,
    send: SendConfig,
    calendar_file: Path | None = None,
    policy_file: Path | None = None,
    pending_give_up_hours: float = 24.0,
) -> FlowContext:
    """A context from plain values: the calendar and policy files read, logs masked."""
    from notify.mask import install_log_masking
    from schedules.calendar_data import load_calendar
    from schedules.policy_io import read_default_policy, read_policy_file

    install_log_masking()  # a deployed flow's logs go to the Prefect server: masked like the CLI's
    policies = read_policy_file(policy_file) if policy_file else read_default_policy()
    return FlowContext(
        engine=engine,
        send=send,
        calendar=load_calendar(calendar_file),
        policies=policies,
        pending_give_up_hours=pending_give_up_hours,
    )


@lru_cache(maxsize=1)
def flow_context() -> FlowContext:
    """Build (once) the context through the registered provider; `reset_context()` forgets it."""
    if _provider is None:
        raise NoContextProvider(
            "flows 没有可用的运行环境：请通过 duban 运行（Prefect 部署入口为 duban/deployments.py）"
        )
    return _provider()


def reset_context() -> None:
    """Forget the cached context (tests and settings changes)."""
    flow_context.cache_clear()
