"""Apply an edited plan (the review sheet read back) to a stored plan: only what differs changes.

Tasks are matched by their ref (序号), milestones by position within the task (keys m1, m2, …).
Each change is one audit event. The obligation layer re-plans from ``PlanChanges.moved_milestones``
and ``PlanChanges.units_changed_tasks`` for active plans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, delete, select

from intake.model import ParsedMilestone, ParsedPlan, ParsedTask
from models.repo.audit import record_event
from models.repo.plan_diff import MILESTONE_UNIT_FIELDS, Change, diff_meta, diff_tasks
from models.repo.plan_parties import PendingParties, ensure_parties
from models.repo.plan_rows import (
    ROLE_FIELDS,
    PlanError,
    TaskRows,
    add_task,
    fill_milestone,
    fill_task,
    load_task_rows,
    new_milestone,
    task_parties,
    write_units,
)
from models.tables import Milestone, Plan, Task, TaskUnit
from schedules.progress import PROGRESS_REF

__all__ = ["Change", "PlanChanges", "apply_plan_edits", "diff_plan"]


@dataclass
class PlanChanges:
    """What an edit changes (or would change, before it is applied).

    ``moved_milestones``: ids of milestones whose due/rrule/dtstart/until changed, and of new
    milestones — the obligation layer re-plans exactly these. ``units_changed_tasks``: ids of
    tasks whose parties changed, and of new tasks. Both are filled in when the edit is applied.
    """

    plan_id: int
    changes: list[Change] = field(default_factory=list)
    moved_milestones: list[int] = field(default_factory=list)
    units_changed_tasks: list[int] = field(default_factory=list)
    pending: PendingParties = field(default_factory=PendingParties)
    applied: bool = False

    @property
    def empty(self) -> bool:
        """True when the edit changes nothing."""
        return not self.changes

    def describe(self) -> list[str]:
        """One Chinese line per change (what ``duban plan apply`` prints)."""
        return [c.describe() for c in self.changes]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form."""
        return {
            "plan_id": self.plan_id,
            "applied": self.applied,
            "changes": [c.to_dict() for c in self.changes],
            "moved_milestones": self.moved_milestones,
            "units_changed_tasks": self.units_changed_tasks,
            "pending": self.pending.to_dict(),
        }


def diff_plan(*, session: Session, plan_id: int, edited: ParsedPlan) -> PlanChanges:
    """What applying `edited` to the stored plan would change; writes nothing."""
    plan = _editable_plan(session, plan_id)
    refs = [t.ref for t in edited.tasks]
    dupes = sorted({r for r in refs if refs.count(r) > 1})
    if dupes:
        raise PlanError(f"序号重复：{'、'.join(dupes)}（每个任务的序号必须唯一）")
    changes = diff_meta(plan, edited.meta) + diff_tasks(load_task_rows(session, plan_id), edited)
    return PlanChanges(plan_id=plan_id, changes=changes)


def apply_plan_edits(
    *, session: Session, plan_id: int, edited: ParsedPlan, now: datetime, actor: str
) -> PlanChanges:
    """Apply `edited` to the stored plan: change only what differs, one audit event per change.

    Refuses an archived plan. New party names are added to the directory as pending.
    """
    result = diff_plan(session=session, plan_id=plan_id, edited=edited)
    plan = _editable_plan(session, plan_id)
    rows = {r.task.ref: r for r in load_task_rows(session, plan_id)}
    own = [r.task.position for r in rows.values() if r.task.ref != PROGRESS_REF]  # not 进展报告
    next_position = max(own, default=-1) + 1
    for change in result.changes:
        entity, entity_id = _apply_one(session, plan, rows, change, result, next_position)
        next_position += change.kind == "task_added"
        record_event(
            session=session,
            at=now,
            actor=actor,
            entity=entity,
            entity_id=entity_id,
            action=change.action,
            reason="计划审核表修改",
            data=change.to_dict(),
        )
    parties = [p for t in edited.tasks for p in task_parties(t)]
    result.pending = ensure_parties(session=session, names=parties, now=now, actor=actor)
    result.applied = True
    return result


def _editable_plan(session: Session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise PlanError(f"没有编号为 {plan_id} 的计划（用 duban plan list 查看）")
    if plan.status == "archived":
        raise PlanError(f"计划 {plan_id} 已归档，不能再修改")
    return plan


def _apply_one(
    session: Session,
    plan: Plan,
    rows: dict[str, TaskRows],
    change: Change,
    result: PlanChanges,
    position: int,
) -> tuple[str, int | None]:
    """Make one change; return the audit entity and id it concerns."""
    if change.kind == "plan":
        setattr(plan, change.field, change.new)
        return "plan", plan.id
    if change.kind == "task_added":
        assert isinstance(change.edited, ParsedTask)
        task = add_task(
            session=session, plan_id=plan.id or 0, position=position, parsed=change.edited
        )
        result.units_changed_tasks.append(task.id or 0)
        result.moved_milestones.extend(_milestone_ids(session, task.id or 0))
        return "task", task.id
    task_rows = rows[change.ref]
    task_id = task_rows.task.id or 0
    if change.kind == "task_removed":
        _delete_task(session, task_id)
        return "task", task_id
    if change.kind == "task":
        _apply_task_field(session, task_rows, change, result)
        return "task", task_id
    return "milestone", _apply_milestone(session, task_rows, change, result)


def _apply_task_field(
    session: Session, rows: TaskRows, change: Change, result: PlanChanges
) -> None:
    assert isinstance(change.edited, ParsedTask)
    role = {v: k for k, v in ROLE_FIELDS.items()}.get(change.field)
    if role is None:
        fill_task(rows.task, change.edited)
        session.flush()
        return
    session.exec(
        delete(TaskUnit).where(col(TaskUnit.task_id) == rows.task.id, col(TaskUnit.role) == role)
    )
    write_units(session, rows.task.id or 0, role, getattr(change.edited, change.field))
    session.flush()
    if rows.task.id not in result.units_changed_tasks:
        result.units_changed_tasks.append(rows.task.id or 0)


def _apply_milestone(
    session: Session, rows: TaskRows, change: Change, result: PlanChanges
) -> int | None:
    existing = {m.key: m for m in rows.milestones}
    if change.kind == "milestone_removed":
        row = existing[change.key]
        session.delete(row)
        session.flush()
        return row.id
    assert isinstance(change.edited, ParsedMilestone)
    if change.kind == "milestone_added":
        row = new_milestone(rows.task.id or 0, change.key, change.edited)
        session.add(row)
    else:
        row = existing[change.key]
        fill_milestone(row, change.edited)
    session.flush()
    if change.kind == "milestone_added" or change.moves_schedule:
        result.moved_milestones.append(row.id or 0)
    owners = any(f in MILESTONE_UNIT_FIELDS for f in change.fields)
    if owners and rows.task.id not in result.units_changed_tasks:
        result.units_changed_tasks.append(rows.task.id or 0)  # its obligations follow its units
    return row.id


def _milestone_ids(session: Session, task_id: int) -> list[int]:
    ids = session.exec(select(Milestone.id).where(Milestone.task_id == task_id)).all()
    return sorted(i for i in ids if i is not None)


def _delete_task(session: Session, task_id: int) -> None:
    # Children first: the ORM has no relationships to cascade, and SQLite's ON DELETE CASCADE
    # depends on a PRAGMA that another connection might not have set.
    session.exec(delete(TaskUnit).where(col(TaskUnit.task_id) == task_id))
    session.exec(delete(Milestone).where(col(Milestone.task_id) == task_id))
    session.exec(delete(Task).where(col(Task.id) == task_id))
    session.flush()
