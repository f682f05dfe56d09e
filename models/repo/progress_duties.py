"""The periodic progress report's duties (定期进展报告, issue 14 item 5) for one plan.

Called by `models/repo/obligations.materialise_plan` with the units that have an open duty in the
plan; the rules and the one series come from `schedules/progress.py` (pure), which `duban
simulate` reads too.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from models.repo.obligations import MaterialiseReport, _materialise_milestone, plan_period
from models.tables import Milestone, Plan, Task
from schedules.clock import OFFICE_TZ
from schedules.policy import Policy
from schedules.progress import (
    PROGRESS_LABEL,
    PROGRESS_REF,
    PROGRESS_TITLE,
    ProgressRule,
    ladder_override,
    link_rules,
    progress_rules,
)

if TYPE_CHECKING:
    from flows.context import FlowContext


def materialise_progress(
    session: Session,
    ctx: FlowContext,
    plan: Plan,
    owing: dict[int, str],
    reporting: list[tuple[Milestone, set[int]]],
    now: datetime,
    activation: bool,
    report: MaterialiseReport,
) -> None:
    """Periodic progress reports (issue 14 item 5), when the policy asks for them.

    One duty per unit with duties in the plan (undated ones included): at the plan's own report
    cadence where it has one (a unit that already owes that report reports its progress there, so
    it gets nothing more), else the policy's quarterly rule plus the year-end summary, one series
    (schedules/progress.py). Stored as a task of its own (`进展报告`) so it is reminded, chased
    and rolled over like any duty, and listed once in the unit's 交办.
    """
    task = session.exec(
        select(Task).where(Task.plan_id == plan.id, Task.ref == PROGRESS_REF)
    ).first()
    probe = Milestone(task_id=0, key="progress")
    policy = ctx.policy_for(plan, task or Task(plan_id=plan.id or 0, ref=PROGRESS_REF), probe)
    if not policy.progress and task is None:
        return
    # A progress report is owed from the plan's start in duban, never for periods before it.
    start = max(plan_period(plan)[0], (plan.activated_at or now).astimezone(OFFICE_TZ).date())
    own = reporting[0][0] if reporting else None
    covered = set().union(*(units for _, units in reporting))
    cadence = (own.rrule or "", own.dtstart, own.until) if own is not None else None
    rules = progress_rules(policy, start, cadence)
    owners = {u: role for u, role in owing.items() if u not in covered}
    if task is None:
        if not owners:
            return
        task = Task(plan_id=plan.id or 0, ref=PROGRESS_REF, position=10**6, title=PROGRESS_TITLE)
        session.add(task)
        session.flush()
    stones = [_progress_milestone(session, task, rule, policy) for rule in rules]
    stored = [ProgressRule(m.key, m.rrule or "", m.dtstart or start, m.until) for m in stones]
    series = link_rules(stored, plan_period(plan))
    for n, ms in enumerate(stones):
        # One duty in the 交办: its first rule's first occurrence (the year-end summary is the
        # same duty, not a second line).
        _materialise_milestone(
            session, ctx, (plan, task, ms), owners, now, activation, report, n == 0,
            series[ms.key],
        )  # fmt: skip


def _progress_milestone(
    session: Session, task: Task, rule: ProgressRule, policy: Policy
) -> Milestone:
    # The milestone stores its ladder override (no 督办 by default), so the tick, `duban simulate`
    # of the stored plan and the office's edits all read it from the row.
    ms = session.exec(
        select(Milestone).where(Milestone.task_id == task.id, Milestone.key == rule.key)
    ).first()
    if ms is None:
        ms = Milestone(
            task_id=task.id or 0, key=rule.key, label=f"进展报告（{PROGRESS_LABEL[rule.key]}）",
            rrule=rule.rrule, dtstart=rule.dtstart, until=rule.until, source_text=PROGRESS_TITLE,
            is_report=True, policy=ladder_override(policy),
        )  # fmt: skip
        session.add(ms)
        session.flush()
    return ms
