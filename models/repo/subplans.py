"""Sub-plans (子方案): a unit's own plan linked under a task of its parent plan (city → district →
town), and the roll-up of the children's progress the parent's 通报 and 任务清单 show.

Every write here is one transaction of the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.repo.audit import record_event
from models.repo.reports import task_counts
from models.tables import Plan, Task
from schedules.report import UnitCounts, total


class SubPlanError(ValueError):
    """A link that cannot be made (message in Chinese)."""


def parse_parent(text: str) -> tuple[int, str]:
    """`3:5` (plan 3, task 5) → (3, "5")."""
    plan, sep, ref = text.strip().partition(":")
    if not sep or not plan.strip().isdigit() or not ref.strip():
        raise SubPlanError(f"上级任务应写作 计划编号:任务序号（如 3:5），收到 {text!r}")
    return int(plan), ref.strip()


def link_subplan(
    *, session: Session, plan_id: int, parent_plan: int, task_ref: str, now: datetime, by: str
) -> Task:
    """Make `plan_id` a sub-plan of task `task_ref` of `parent_plan` (audited); return the task."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise SubPlanError(f"没有编号为 {plan_id} 的计划")
    if session.get(Plan, parent_plan) is None:
        raise SubPlanError(f"没有编号为 {parent_plan} 的上级计划")
    task = session.exec(
        select(Task).where(Task.plan_id == parent_plan, Task.ref == task_ref)
    ).first()
    if task is None:
        raise SubPlanError(f"计划 {parent_plan} 中没有序号为 {task_ref} 的任务")
    # No loop: the parent plan must not be this plan or one of its descendants.
    if parent_plan == plan_id or parent_plan in descendants(session, plan_id):
        raise SubPlanError(f"计划 {parent_plan} 是计划 {plan_id} 本身或其下级，不能作为上级")
    before = plan.parent_task_id
    plan.parent_task_id = task.id
    session.add(plan)
    record_event(
        session=session,
        at=now,
        actor=by,
        entity="plan",
        entity_id=plan_id,
        action="subplan_linked",
        reason=f"作为计划 {parent_plan} 第 {task_ref} 项任务的子方案",
        data={"parent_plan": parent_plan, "task_ref": task_ref, "before": before},
    )
    session.flush()
    return task


def children(session: Session, task_ids: list[int]) -> dict[int, list[Plan]]:
    """Task → the plans linked under it (not discarded), by id."""
    out: dict[int, list[Plan]] = {}
    if not task_ids:
        return out
    rows = session.exec(
        select(Plan)
        .where(col(Plan.parent_task_id).in_(task_ids), Plan.status != "archived")
        .order_by(col(Plan.id))
    )
    for plan in rows:
        out.setdefault(plan.parent_task_id or 0, []).append(plan)
    return out


def descendants(session: Session, plan_id: int) -> list[int]:
    """Every plan below `plan_id`, breadth first."""
    found: list[int] = []
    frontier = [plan_id]
    while frontier:
        tasks = list(session.exec(select(Task.id).where(col(Task.plan_id).in_(frontier))))
        if not tasks:
            break
        kids = session.exec(select(Plan.id).where(col(Plan.parent_task_id).in_(tasks))).all()
        frontier = [k for k in kids if k is not None and k not in found and k != plan_id]
        found += frontier
    return found


@dataclass(frozen=True)
class ChildProgress:
    """One sub-plan's progress, its own sub-plans included."""

    plan_id: int
    title: str
    status: str
    counts: UnitCounts
    plans: int  # how many plans the figures cover (it and its descendants)

    def text(self) -> str:
        """子方案《…》（计划 N）：已完成 a/b 项次……, as the 任务清单 and the 通报 print it."""
        c = self.counts
        head = f"子方案《{self.title}》（计划 {self.plan_id}"
        head += f"，含下级 {self.plans - 1} 个）" if self.plans > 1 else "）"
        if self.status != "active":
            return f"{head}：尚未启用（{self.status}）"
        past = c.counted - c.pending
        parts = [f"已完成 {c.done}/{past} 项次（按时 {c.on_time}，逾期完成 {c.late}）"]
        if c.overdue:
            parts.append(f"逾期未完成 {c.overdue}")
        if c.lapsed:
            parts.append(f"逾期未报 {c.lapsed}")
        if c.pending:
            parts.append(f"未到期 {c.pending}")
        return f"{head}：" + "，".join(parts)


def rollup(
    session: Session, task_ids: list[int], as_of: datetime
) -> dict[int, list[ChildProgress]]:
    """Task → its sub-plans' progress as of `as_of` (each summed over its own descendants)."""
    conn = session.connection()
    out: dict[int, list[ChildProgress]] = {}
    for task_id, plans in children(session, task_ids).items():
        for plan in plans:
            pid = plan.id or 0
            covered = [pid, *descendants(session, pid)]
            rows = [c for p in covered for c in task_counts(conn, plan_id=p, as_of=as_of).values()]
            out.setdefault(task_id, []).append(
                ChildProgress(
                    pid, plan.title or f"计划 {pid}", plan.status, total(rows), len(covered)
                )
            )
    return out
