"""Plan writes: store an imported plan as a draft, read it back, apply the office's edits.

All functions take the caller's session and never commit: an import or an edit is one
transaction (``duban.runtime.transaction``), so a failure leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from intake.model import ParsedPlan, PlanMeta, Warning
from models.repo.audit import record_event
from models.repo.plan_edits import Change, PlanChanges, apply_plan_edits, diff_plan
from models.repo.plan_parties import PendingParties, ensure_parties, list_pending
from models.repo.plan_rows import PlanError, add_task, load_task_rows, task_parties, to_parsed_task
from models.tables import AuditEvent, Plan
from schedules.progress import PROGRESS_REF

__all__ = [
    "Change",
    "PendingParties",
    "PlanChanges",
    "PlanError",
    "StoredPlan",
    "apply_plan_edits",
    "diff_plan",
    "find_plan_by_sha256",
    "get_plan",
    "list_pending",
    "load_parsed",
    "store_draft",
]


@dataclass
class StoredPlan:
    """What storing a draft created: the plan, counts, and the names added to the directory as pending."""

    plan: Plan
    tasks: int
    milestones: int
    units: int
    warnings: int
    pending: PendingParties = field(default_factory=PendingParties)

    @property
    def plan_id(self) -> int:
        """The new plan's id."""
        assert self.plan.id is not None
        return self.plan.id

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready summary printed by ``duban import``."""
        return {
            "plan_id": self.plan_id,
            "status": self.plan.status,
            "title": self.plan.title,
            "tasks": self.tasks,
            "milestones": self.milestones,
            "units": self.units,
            "warnings": self.warnings,
            "pending": self.pending.to_dict(),
        }


def store_draft(
    *,
    session: Session,
    parsed: ParsedPlan,
    source_name: str,
    sha256: str,
    now: datetime,
    actor: str,
) -> StoredPlan:
    """Store `parsed` as a draft plan with its tasks, parties and milestones (not committed).

    Every party name the directory does not know is added as pending (collective names as
    pending groups, leaders as pending units of kind 'leader'); one audit event records the import.
    """
    if not parsed.tasks:
        raise PlanError(f"{source_name}：没有任务，不能保存为计划")
    plan = Plan(status="draft", source_name=source_name[:500], source_sha256=sha256, created_at=now)
    fill_meta(plan, parsed.meta)
    session.add(plan)
    session.flush()
    assert plan.id is not None
    for position, task in enumerate(parsed.tasks):
        add_task(session=session, plan_id=plan.id, position=position, parsed=task)
    parties = [p for task in parsed.tasks for p in task_parties(task)]
    pending = ensure_parties(session=session, names=parties, now=now, actor=actor)
    stored = StoredPlan(
        plan=plan,
        tasks=len(parsed.tasks),
        milestones=sum(len(t.milestones) for t in parsed.tasks),
        units=len({name for _, name in parties}),
        warnings=len(parsed.warnings),
        pending=pending,
    )
    data = {**stored.to_dict(), "sha256": sha256, "warning_list": _warnings(parsed)}
    record_event(
        session=session, at=now, actor=actor, entity="plan", entity_id=plan.id,
        action="imported", to_status="draft", reason=source_name, data=data,
    )  # fmt: skip
    return stored


def fill_meta(plan: Plan, meta: PlanMeta) -> None:
    """Copy the plan's metadata (title, issuer, document number, dates) into the row."""
    plan.title = meta.title[:500]
    plan.issuer = meta.issuer[:200]
    plan.doc_no = meta.doc_no[:100]
    plan.issued_on = meta.issued_on
    plan.year = meta.year
    plan.until_year = meta.until_year


def _warnings(parsed: ParsedPlan) -> list[dict[str, Any]]:
    return [w.to_dict() for w in parsed.warnings]


def get_plan(*, session: Session, plan_id: int) -> Plan:
    """The plan with this id; a :class:`PlanError` names the id when there is none."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise PlanError(f"没有编号为 {plan_id} 的计划（用 duban plan list 查看）")
    return plan


def find_plan_by_sha256(*, session: Session, sha256: str) -> Plan | None:
    """The earliest plan imported from a file with this SHA-256, if any."""
    stmt = select(Plan).where(Plan.source_sha256 == sha256).order_by(col(Plan.id))
    return session.exec(stmt).first()


def load_parsed(*, session: Session, plan_id: int) -> ParsedPlan:
    """The stored plan back as a :class:`ParsedPlan` (warnings as recorded at import)."""
    plan = get_plan(session=session, plan_id=plan_id)
    meta = PlanMeta(
        title=plan.title,
        issuer=plan.issuer,
        doc_no=plan.doc_no,
        issued_on=plan.issued_on,
        year=plan.year,
        until_year=plan.until_year,
    )
    # The 进展报告 task is duban's own (materialisation adds it), not a row of the document.
    tasks = [
        to_parsed_task(rows)
        for rows in load_task_rows(session, plan_id)
        if rows.task.ref != PROGRESS_REF
    ]
    return ParsedPlan(
        meta=meta,
        tasks=tasks,
        warnings=_recorded_warnings(session, plan_id),
        source=plan.source_name,
    )


def _recorded_warnings(session: Session, plan_id: int) -> list[Warning]:
    stmt = select(AuditEvent).where(
        AuditEvent.entity == "plan",
        AuditEvent.entity_id == plan_id,
        AuditEvent.action == "imported",
    )
    event = session.exec(stmt).first()
    items = (event.data or {}).get("warning_list", []) if event else []
    return [Warning(line=w["line"], text=w["text"], message=w["message"]) for w in items]
