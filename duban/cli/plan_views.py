"""How `duban plan` shows a stored plan: JSON-ready dictionaries (read-only)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from intake.model import unowned_items
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


UNOWNED_HINT = "请在审核表（duban plan export/apply）中填写责任单位"


def unowned_lines(items: list[dict[str, Any]], *, limit: int = 20) -> list[str]:
    """The notice of tasks with no unit (:func:`intake.model.unowned_items`): a heading, then
    "[ref] title" of the first ``limit``."""
    if not items:
        return []
    head = f"没有责任单位的任务 {len(items)} 项（启用后无人被催办，{UNOWNED_HINT}）："
    lines = [
        f"    [{t['ref']}] {t['title'][:30]}" + ("" if t["dated"] else "（无时限）") for t in items
    ]
    if len(lines) > limit:
        lines = [*lines[:limit], f"    ……另有 {len(lines) - limit} 项"]
    return [head, *lines]


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
        "unowned": unowned_items(parsed.unowned()),
    }


def _milestone_keys(session: Session, plan_id: int) -> dict[str, list[tuple[str, int | None]]]:
    return {
        rows.task.ref: [(m.key, m.id) for m in rows.milestones]
        for rows in load_task_rows(session, plan_id)
    }
