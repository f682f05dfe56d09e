"""What every flow needs, loaded once per process: database, calendar, policies, settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.engine import Engine

from duban import runtime
from duban.settings import Settings
from models.tables import Milestone, Plan, Task
from notify.mask import install_log_masking
from schedules.calendar import WorkCalendar
from schedules.calendar_data import load_calendar
from schedules.policy import Policy, PolicySet, merge
from schedules.policy_io import read_default_policy, read_policy_file


@dataclass(frozen=True)
class FlowContext:
    """The injected dependencies of a flow run (never the clock: `now` is a parameter)."""

    engine: Engine
    settings: Settings
    calendar: WorkCalendar
    policies: PolicySet

    def policy_for(self, plan: Plan, task: Task, milestone: Milestone) -> Policy:
        """The effective policy: file default ← file overrides ← overrides stored on the rows."""
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


@lru_cache(maxsize=1)
def flow_context() -> FlowContext:
    """Build (once) the context from the settings; `reset_context()` forgets it."""
    install_log_masking()  # a deployed flow's logs go to the Prefect server: masked like the CLI's
    settings = runtime.settings()
    policies = (
        read_policy_file(settings.policy_file) if settings.policy_file else read_default_policy()
    )
    return FlowContext(
        engine=runtime.migrated_engine(),
        settings=settings,
        calendar=load_calendar(settings.calendar_file),
        policies=policies,
    )


def reset_context() -> None:
    """Forget the cached context (tests and settings changes)."""
    flow_context.cache_clear()
