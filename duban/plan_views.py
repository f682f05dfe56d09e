"""How `duban plan` shows a stored plan: JSON-ready dictionaries (read-only)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from intake.review_format import format_milestone
from models.repo.plan_parties import list_pending
from models.repo.plan_rows import load_task_rows
from models.repo.plans import get_plan, load_parsed
from models.tables import Plan


def plan_dict(plan: Plan) -> dict[str, Any]:
    """A plan's own fields, JSON-ready."""
    return {
        "id": plan.id,
        "status": plan.status,
        "title": plan.title,
        "issuer": plan.issuer,
        "doc_no": plan.doc_no,
        "issued_on": plan.issued_on.isoformat() if plan.issued_on else None,
        "year": plan.year,
        "until_year": plan.until_year,
        "source": plan.source_name,
        "created_at": plan.created_at.isoformat(),
    }


def describe_plan(session: Session, plan_id: int) -> dict[str, Any]:
    """A plan with its tasks, keyed milestones, warnings and pending names (for plan show)."""
    plan = get_plan(session=session, plan_id=plan_id)
    parsed = load_parsed(session=session, plan_id=plan_id)
    keyed = _milestone_keys(session, plan_id)
    tasks = []
    for task in parsed.tasks:
        item = task.to_dict()
        item["milestones"] = [
            {"key": key, "id": mid, **m.to_dict(), "text": format_milestone(m)}
            for (key, mid), m in zip(keyed.get(task.ref, []), task.milestones, strict=True)
        ]
        tasks.append(item)
    pending = list_pending(session=session, plan_id=plan_id)
    return {
        "plan": plan_dict(plan),
        "tasks": tasks,
        "warnings": [w.to_dict() for w in parsed.warnings],
        "pending": pending.to_dict(),
    }


def _milestone_keys(session: Session, plan_id: int) -> dict[str, list[tuple[str, int | None]]]:
    return {
        rows.task.ref: [(m.key, m.id) for m in rows.milestones]
        for rows in load_task_rows(session, plan_id)
    }
