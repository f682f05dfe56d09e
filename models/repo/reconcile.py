"""Reconcile an active plan's obligations with an edit of the plan (the review sheet read back).

A moved one-off deadline moves every open obligation of that milestone (like a granted extension:
level back to 0, reminders re-planned from the new date, actor 计划修订); submitted, accepted and
waived ones keep their state and only follow the milestone's new occurrence date, so that
:func:`materialise_plan` stays idempotent. A changed recurrence waives the open obligations of
occurrences it no longer has; units taken off a task have their open obligations waived; new
units and occurrences are materialised. Nothing is ever deleted: an edit that would delete a task
or milestone with obligations is refused before it is applied. Never commits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, func, select

from intake.model import ParsedPlan
from models.directory import Unit
from models.repo.audit import record_event
from models.repo.chase import OfficeAction, apply_decision, due_instant, next_action_time, state_of
from models.repo.obligations import (
    materialise_plan,
    milestone_owners,
    plan_period,
    resolve_parties,
)
from models.repo.plan_edits import PlanChanges, apply_plan_edits, diff_plan
from models.repo.plan_rows import PlanError
from models.tables import Milestone, Obligation, Plan, QueueItem, Task, TaskUnit
from schedules.machine import STATUS_LABEL, Event
from schedules.obligation import CHASED_STATUSES
from schedules.policy import Policy
from schedules.recurrence import MilestoneSpec, expand_occurrences
from schedules.rules import ObligationState, Status, needs_confirmation

if TYPE_CHECKING:
    from flows.context import FlowContext

REVISION_ACTOR = "计划修订"
CANCELLED_REASON = "计划修订：该期次已取消"
REMOVED_REASON = "计划修订：该单位已不再承担此任务"
OPEN_STATUSES = CHASED_STATUSES | {Status.TO_CONFIRM}
# Statuses a moved deadline keeps: the office still has to decide on them.
_KEPT_ON_MOVE = frozenset({Status.REOPENED, Status.EXTENSION_REQUESTED})


@dataclass(frozen=True)
class ObligationChange:
    """One obligation the reconciliation changed, for the report."""

    obligation_id: int
    unit: str
    task_ref: str
    due_before: str  # ISO dates: the report goes into the audit log as JSON
    due_after: str
    status_before: str
    status_after: str
    reason: str = ""

    def describe(self) -> str:
        """One Chinese line."""
        statuses = f"{_label(self.status_before)} → {_label(self.status_after)}"
        if self.due_before != self.due_after:
            what = f"截止日 {self.due_before} → {self.due_after}（{statuses}）"
        else:
            what = f"截止 {self.due_before}：{statuses}"
        tail = f"，{self.reason}" if self.reason else ""
        return f"  义务 {self.obligation_id} 任务 {self.task_ref} {self.unit} {what}{tail}"


def _label(status: str) -> str:
    return STATUS_LABEL.get(Status(status), status)


@dataclass
class ReconcileReport:
    """What reconciling the obligations did; empty for a plan that is not active."""

    moved: list[ObligationChange] = field(default_factory=list)
    waived: list[ObligationChange] = field(default_factory=list)
    role_changed: list[ObligationChange] = field(default_factory=list)
    kept: int = 0  # obligations of a moved milestone left in their state (submitted, accepted, …)
    created: int = 0

    def describe(self) -> list[str]:
        """What ``duban plan apply`` prints: a summary line, then one line per changed obligation."""
        if not (self.moved or self.waived or self.role_changed or self.kept or self.created):
            return []
        lines = [
            f"义务随计划修订调整：截止日调整 {len(self.moved)} 条，免除 {len(self.waived)} 条，"
            f"角色调整 {len(self.role_changed)} 条，新增 {self.created} 条，"
            f"已报送/已销号/已免除保持不变 {self.kept} 条"
        ]
        lines += [c.describe() for c in self.moved + self.waived + self.role_changed]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form."""
        lists = {"moved": self.moved, "waived": self.waived, "role_changed": self.role_changed}
        out: dict[str, Any] = {k: [asdict(c) for c in v] for k, v in lists.items()}
        return out | {"kept": self.kept, "created": self.created}


def refuse_destructive_edits(*, session: Session, plan: Plan, changes: PlanChanges) -> None:
    """Raise :class:`PlanError` when an edit of an active plan would delete a task or milestone
    that has obligations (deleting the row would cascade to obligations and submissions)."""
    if plan.status != "active":
        return
    for change in changes.changes:
        if change.kind == "task_removed":
            stmt = _count_obligations().where(Task.plan_id == plan.id, Task.ref == change.ref)
            what = f"任务 {change.ref}"
        elif change.kind == "milestone_removed":
            stmt = _count_obligations().where(
                Task.plan_id == plan.id, Task.ref == change.ref, Milestone.key == change.key
            )
            what = f"任务 {change.ref} 的里程碑 {change.key}"
        else:
            continue
        if count := session.exec(stmt).one():
            raise PlanError(
                f"计划 {plan.id} 正在执行，{what} 已生成 {count} 条义务，不能删除（义务、报送和记录"
                "不能丢失）。请在审核表中保留该行；不再需要办理的义务请用 duban obligation waive 免除"
            )


def _count_obligations() -> Any:
    return (
        select(func.count())
        .select_from(Obligation)
        .join(Milestone, col(Milestone.id) == col(Obligation.milestone_id))
        .join(Task, col(Task.id) == col(Obligation.task_id))
    )


def revise_plan(
    *,
    session: Session,
    ctx: FlowContext,
    plan_id: int,
    edited: ParsedPlan,
    now: datetime,
    actor: str,
) -> tuple[PlanChanges, ReconcileReport]:
    """Apply `edited` to an active plan and reconcile its obligations (refusing deletions first)."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise PlanError(f"没有编号为 {plan_id} 的计划（用 duban plan list 查看）")
    preview = diff_plan(session=session, plan_id=plan_id, edited=edited)
    refuse_destructive_edits(session=session, plan=plan, changes=preview)
    changes = apply_plan_edits(
        session=session, plan_id=plan_id, edited=edited, now=now, actor=actor
    )
    report = reconcile_obligations(
        session=session, ctx=ctx, plan=plan, changes=changes, now=now, actor=actor
    )
    return changes, report


def reconcile_obligations(
    *,
    session: Session,
    ctx: FlowContext,
    plan: Plan,
    changes: PlanChanges,
    now: datetime,
    actor: str,
) -> ReconcileReport:
    """Bring an active plan's obligations in line with `changes` (after `apply_plan_edits`)."""
    report = ReconcileReport()
    if plan.status != "active" or not (changes.moved_milestones or changes.units_changed_tasks):
        return report
    rec = _Reconciler(session, ctx, plan, now, actor, report)
    for task_id in changes.units_changed_tasks:
        rec.follow_parties(task_id)
    for milestone_id in changes.moved_milestones:
        ms = session.get(Milestone, milestone_id)
        if ms is not None:
            rec.follow_schedule(ms)
    report.created = materialise_plan(session=session, ctx=ctx, plan=plan, now=now).created
    session.flush()
    if report.describe():
        record_event(
            session=session,
            at=now,
            actor=actor,
            entity="plan",
            entity_id=plan.id,
            action="obligations_reconciled",
            reason=REVISION_ACTOR,
            data=report.to_dict(),
        )
    return report


@dataclass
class _Reconciler:
    session: Session
    ctx: FlowContext
    plan: Plan
    now: datetime
    actor: str
    report: ReconcileReport

    def follow_parties(self, task_id: int) -> None:
        """Waive the open obligations of units no longer on the task; follow role changes."""
        task = self.session.get(Task, task_id)
        if task is None:
            return
        task_roles = self._roles(task)
        by_milestone: dict[int, dict[int, str]] = {}
        for ob in self._obligations(Obligation.task_id == task_id):
            if Status(ob.status) not in OPEN_STATUSES:
                continue
            if ob.milestone_id not in by_milestone:
                ms = self.session.get(Milestone, ob.milestone_id)
                owners = milestone_owners(self.session, ms, task_roles, self.now)[0] if ms else {}
                by_milestone[ob.milestone_id] = owners
            roles = by_milestone[ob.milestone_id]
            if ob.unit_id not in roles:
                self._waive(ob, REMOVED_REASON)
            elif roles[ob.unit_id] != ob.role:
                self._change_role(ob, roles[ob.unit_id])

    def follow_schedule(self, ms: Milestone) -> None:
        """Move a one-off deadline, or waive the occurrences a recurrence no longer has."""
        obligations = self._obligations(Obligation.milestone_id == ms.id)
        occurrences = {ob.occurrence for ob in obligations}
        if ms.due is not None and len(occurrences) == 1 and ms.due not in occurrences:
            for ob in obligations:
                self._move(ob, ms, ms.due)
            return
        spec = MilestoneSpec(due=ms.due, rrule=ms.rrule, dtstart=ms.dtstart, until=ms.until)
        wanted = set(expand_occurrences(spec, *plan_period(self.plan)))
        for ob in obligations:
            if ob.occurrence not in wanted and Status(ob.status) in OPEN_STATUSES:
                self._waive(ob, CANCELLED_REASON)

    def _roles(self, task: Task) -> dict[int, str]:
        parties = self.session.exec(
            select(TaskUnit).where(TaskUnit.task_id == task.id).order_by(col(TaskUnit.position))
        ).all()
        roles: dict[int, str] = {}
        for role in ("lead", "support"):
            names = [p.name for p in parties if p.role == role]
            for unit in resolve_parties(self.session, names, now=self.now)[0]:
                roles.setdefault(unit.id or 0, role)  # a unit that leads and also supports leads
        return roles

    def _obligations(self, where: Any) -> list[Obligation]:
        stmt = select(Obligation).where(where).order_by(col(Obligation.id))
        return list(self.session.exec(stmt).all())

    def _policy(self, ob: Obligation) -> Policy:
        task, ms = self.session.get(Task, ob.task_id), self.session.get(Milestone, ob.milestone_id)
        assert task is not None and ms is not None
        return self.ctx.policy_for(self.plan, task, ms)

    def _waive(self, ob: Obligation, reason: str) -> None:
        before, policy, cal = ob.status, self._policy(ob), self.ctx.calendar
        act = OfficeAction(Event.WAIVE, actor=REVISION_ACTOR, reason=reason)
        apply_decision(session=self.session, ob=ob, act=act, policy=policy, cal=cal, now=self.now)
        self.report.waived.append(self._describe(ob, ob.due_on, before, reason))

    def _change_role(self, ob: Obligation, role: str) -> None:
        before_role, before = ob.role, ob.status
        ob.role, ob.updated_at, ob.version = role, self.now, ob.version + 1
        if Status(ob.status) in CHASED_STATUSES:
            state, policy = state_of(ob), self._policy(ob)
            ob.next_action_at = next_action_time(state, policy, self.ctx.calendar, self.now)
        reason = f"角色 {before_role} → {role}"
        data = {"role_before": before_role, "role": role}
        self._audit(ob.id, "obligation", "role_changed", reason, data, (before, ob.status))
        self.report.role_changed.append(self._describe(ob, ob.due_on, before, reason))

    def _move(self, ob: Obligation, ms: Milestone, new_due: date) -> None:
        old = state_of(ob)
        occurrence_before, ob.occurrence = ob.occurrence, new_due
        data: dict[str, Any] = {
            "milestone_id": ms.id,
            "occurrence_before": occurrence_before.isoformat(),
            "occurrence_after": new_due.isoformat(),
        }
        if old.status not in OPEN_STATUSES:
            # Submitted, accepted or waived: its state stays; it only follows the occurrence.
            why = "计划修订：节点日期调整，状态不变"
            self._audit(ob.id, "obligation", "occurrence_moved", why, data, (ob.status, ob.status))
            self.report.kept += 1
            return
        policy, new = self._policy(ob), _replan(old, new_due, self.now)
        ob.due_on, ob.due_at = new.due, due_instant(new.due, policy)
        ob.status, ob.escalation_level, ob.since = new.status.value, new.level, new.since
        ob.needs_confirmation = new.status is Status.TO_CONFIRM
        ob.next_action_at = next_action_time(new, policy, self.ctx.calendar, self.now)
        ob.lease_owner = ob.lease_until = None
        ob.updated_at, ob.version = self.now, ob.version + 1
        self._resolve_queue(ob)
        data |= {"due_before": old.due.isoformat(), "due_after": new.due.isoformat()}
        data |= {"level_before": old.level, "level_after": new.level}
        reason = f"计划修订：截止日由 {old.due} 调整为 {new.due}"
        statuses = (old.status.value, ob.status)
        self._audit(ob.id, "obligation", "deadline_moved", reason, data, statuses)
        self.report.moved.append(self._describe(ob, old.due, old.status.value))

    def _resolve_queue(self, ob: Obligation) -> None:
        # The escalation was about the old deadline; a new escalation reopens the item.
        from models.repo.queue import close_done_sheets

        stmt = select(QueueItem).where(QueueItem.obligation_id == ob.id)
        items = self.session.exec(stmt.where(QueueItem.status != "resolved")).all()
        for item in items:
            item.status, item.resolved_by, item.resolved_at = "resolved", REVISION_ACTOR, self.now
            note = {"at": self.now.isoformat(), "by": REVISION_ACTOR, "text": "截止日已调整"}
            item.notes = [*item.notes, note]
            self._audit(item.id, "queue_item", "resolved", "计划修订：截止日已调整", {})
        if items:
            self.session.flush()
            close_done_sheets(
                session=self.session,
                sheet_ids=[i.sheet_id for i in items],
                by=REVISION_ACTOR,
                now=self.now,
                reason="计划修订：截止日已调整",
            )

    def _audit(
        self,
        entity_id: int | None,
        entity: str,
        action: str,
        reason: str,
        data: dict[str, Any],
        statuses: tuple[str | None, str | None] = (None, None),
    ) -> None:
        record_event(
            session=self.session,
            at=self.now,
            actor=REVISION_ACTOR,
            entity=entity,
            entity_id=entity_id,
            action=action,
            from_status=statuses[0],
            to_status=statuses[1],
            reason=reason,
            data={**data, "applied_by": self.actor},
        )

    def _describe(
        self, ob: Obligation, due_before: date, status_before: str, reason: str = ""
    ) -> ObligationChange:
        unit, task = self.session.get(Unit, ob.unit_id), self.session.get(Task, ob.task_id)
        return ObligationChange(
            obligation_id=ob.id or 0,
            unit=unit.name if unit else str(ob.unit_id),
            task_ref=task.ref if task else str(ob.task_id),
            due_before=due_before.isoformat(),
            due_after=ob.due_on.isoformat(),
            status_before=status_before,
            status_after=ob.status,
            reason=reason,
        )


def _replan(state: ObligationState, new_due: date, now: datetime) -> ObligationState:
    """The state after a deadline move: like a granted extension (level 0, re-planned from now).

    A deadline moved into the past goes to the office's confirm list, as at activation; a
    reopened obligation or a pending extension request keeps its status for the office.
    """
    status = Status.OPEN
    if state.status in _KEPT_ON_MOVE:
        status = state.status
    elif needs_confirmation(new_due, now):
        status = Status.TO_CONFIRM
    return replace(state, due=new_due, status=status, level=0, since=now)
