"""Import a plan document as a draft: parse, then store in one transaction."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow

from flows.context import flow_context
from intake import parse_path
from intake.model import unowned_items
from models.repo.plans import find_plan_by_sha256, store_draft


@flow(name="import-plan", log_prints=False)
def import_plan_flow(
    path: str,
    dry_run: bool = False,
    force: bool = False,
    parent_task: str = "",
    now: datetime | None = None,
    actor: str = "flow:import-plan",
) -> dict[str, Any]:
    """Parse a plan document and store it as a draft plan (nothing is chased before activation).

    Args:
        path: The plan file (.txt, .md, .docx, .xlsx, .csv, .pdf, .html).
        dry_run: Only parse; return the parsed plan and touch no database.
        force: Store even when a file with the same SHA-256 was imported before.
        parent_task: `PLAN:TASK` — store it as a unit's sub-plan (子方案) of that task.
        now: When the import happens (the caller's clock; default: schedules.clock.now()).
        actor: Who imports, for the audit log.

    Returns:
        ``{"dry_run": True, "parsed": ParsedPlan.to_dict(), "unowned": […]}``; ``{"stored": False,
        "duplicate_of": id}`` for a file imported before; else ``{"stored": True, **StoredPlan.to_dict(),
        "warning_list": […], "duplicate_of": id | None, "unowned": […]}``; ``unowned`` lists
        the tasks that name no unit (``{"ref", "title", "dated"}``).

    Raises:
        intake.IntakeError: Unusable file (missing, empty, binary, unknown format, no tasks).
    """
    from models.db import session_scope
    from models.repo.subplans import link_subplan, parse_parent
    from schedules.clock import now as clock_now

    parent = parse_parent(parent_task) if parent_task else None
    source = Path(path)
    parsed = parse_path(source)
    unowned = unowned_items(parsed.unowned())
    if dry_run:
        return {"dry_run": True, "parsed": parsed.to_dict(), "unowned": unowned}
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    with session_scope(flow_context().engine) as session:
        existing = find_plan_by_sha256(session=session, sha256=sha256)
        if existing is not None and not force:
            return {"stored": False, "duplicate_of": existing.id, "title": existing.title}
        now = now or clock_now()
        stored = store_draft(
            session=session,
            parsed=parsed,
            source_name=str(source),
            sha256=sha256,
            now=now,
            actor=actor,
        )
        if parent is not None:
            link_subplan(
                session=session,
                plan_id=stored.plan.id or 0,
                parent_plan=parent[0],
                task_ref=parent[1],
                now=now,
                by=actor,
            )
        return {
            "parent_task": parent_task or None,
            "stored": True,
            **stored.to_dict(),
            "warning_list": [w.to_dict() for w in parsed.warnings],
            "duplicate_of": existing.id if existing is not None else None,
            "unowned": unowned,
        }
