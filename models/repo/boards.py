"""What the pages read: a unit's duties, one duty's record, the office's queue and boards.

Red/yellow/green is how leaders and units read a list at a glance (PRACTICE §2, 考核): 绿 on
track, 黄 due within a week or up to three days late, 红 later than that or escalated (督办 and
above); a submitted duty waits on the office and shows green.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.directory import Unit
from models.people import EvidenceFile, ProgressReport, Receipt
from models.tables import (
    AuditEvent,
    ExtensionRequest,
    Milestone,
    Obligation,
    Plan,
    Submission,
    Task,
)
from schedules.clock import OFFICE_TZ
from schedules.machine import STATUS_LABEL
from schedules.rules import Status

CLOSED = ("accepted", "waived")
RAG_LABEL = {"red": "红", "yellow": "黄", "green": "绿", "done": "办结"}
ROLE_LABEL = {"lead": "牵头", "support": "配合"}
SOON_DAYS, LATE_DAYS, HORIZON_DAYS = 7, 3, 60


def rag_of(status: str, escalated: bool, bucket: str) -> str:
    """The colour of a duty from its status, whether it is escalated, and its due-date bucket
    (late: more than three days past, slight: up to three, soon: within a week, later)."""
    if status in CLOSED:
        return "done"
    if status == "submitted":
        return "green"
    if status == "to_confirm":  # waits on the office, not on the unit
        return "yellow"
    if escalated or bucket == "late":
        return "red"
    if bucket in ("slight", "soon"):
        return "yellow"
    return "green"


def bucket_of(due: date, today: date) -> str:
    """The due-date bucket of `due` seen on `today`."""
    if due < today - timedelta(days=LATE_DAYS):
        return "late"
    if due < today:
        return "slight"
    return "soon" if due <= today + timedelta(days=SOON_DAYS) else "later"


def local_time(value: Any) -> str:
    """An instant as the pages show it (Shanghai, to the minute); "" for none."""
    return value.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def _duty(ob: Obligation, ms: Milestone, tk: Task, plan: Plan, today: date) -> dict[str, Any]:
    rag = rag_of(ob.status, ob.escalation_level >= 2, bucket_of(ob.due_on, today))
    return {
        "id": ob.id,
        "plan": plan.title,
        "plan_id": plan.id,
        "task_ref": tk.ref,
        "task": tk.title,
        "text": tk.text,
        "milestone": ms.label or ms.source_text,
        "due": ob.due_on,
        "days": (ob.due_on - today).days,
        "role": ROLE_LABEL.get(ob.role, ob.role),
        "status": ob.status,
        "status_label": STATUS_LABEL[Status(ob.status)],
        "level": ob.escalation_level,
        "rag": rag,
        "rag_label": RAG_LABEL[rag],
        "requested_due": ob.requested_due,
        "unit_id": ob.unit_id,
    }


def joined_duties() -> Any:
    """Obligations with their milestone, task and plan, ready to filter."""
    return (
        select(Obligation, Milestone, Task, Plan)
        .join(Milestone, col(Milestone.id) == col(Obligation.milestone_id))
        .join(Task, col(Task.id) == col(Obligation.task_id))
        .join(Plan, col(Plan.id) == col(Obligation.plan_id))
    )


def unit_duties(
    session: Session, unit_id: int, today: date, *, everything: bool = False, limit: int = 500
) -> tuple[list[dict[str, Any]], int]:
    """The unit's open duties across active plans, most urgent first, and how many lie beyond
    the horizon (untouched duties due more than 60 days ahead; listed only with `everything`)."""
    mine = (
        col(Obligation.unit_id) == unit_id,
        col(Obligation.status).not_in(CLOSED),
        col(Plan.status) == "active",
    )
    horizon = today + timedelta(days=HORIZON_DAYS)
    far = (col(Obligation.due_on) > horizon) & (col(Obligation.status) == "open")
    stmt = joined_duties().where(*mine)
    if not everything:
        stmt = stmt.where(~far)
    stmt = stmt.order_by(col(Obligation.due_on), col(Task.position), col(Obligation.id))
    near = [_duty(*r, today) for r in session.exec(stmt.limit(limit)).all()]
    later = 0
    if not everything:
        later = session.exec(
            select(func.count())
            .select_from(Obligation)
            .join(Plan, col(Plan.id) == col(Obligation.plan_id))
            .where(*mine, far)
        ).one()
    received = set(
        session.exec(
            select(Receipt.obligation_id).where(
                col(Receipt.obligation_id).in_([r["id"] for r in near])
            )
        ).all()
    )
    for r in near:
        r["received"] = r["id"] in received
    order = {"red": 0, "yellow": 1, "green": 2, "done": 3}
    near.sort(key=lambda r: (order[r["rag"]], r["due"]))
    return near, int(later)


def unit_closed(
    session: Session, unit_id: int, today: date, limit: int = 10
) -> list[dict[str, Any]]:
    """The unit's most recently accepted or waived duties (the office's last answers)."""
    stmt = (
        joined_duties()
        .where(col(Obligation.unit_id) == unit_id, col(Obligation.status).in_(CLOSED))
        .order_by(col(Obligation.updated_at).desc())
        .limit(limit)
    )
    return [_duty(*r, today) for r in session.exec(stmt).all()]


def duty_record(session: Session, ob_id: int, today: date) -> dict[str, Any]:
    """One duty with everything done on it: 签收, progress, submissions and files, extensions,
    the office's answers (accepted, sent back with a reason, extension granted or refused)."""
    found = session.exec(joined_duties().where(col(Obligation.id) == ob_id)).one()
    duty = _duty(*found, today)
    rc = session.exec(select(Receipt).where(Receipt.obligation_id == ob_id)).first()
    duty["receipt"] = {"by": rc.by, "at": local_time(rc.at)} if rc else None
    duty["progress"] = [
        {"by": p.by, "at": local_time(p.at), "text": p.text}
        for p in session.exec(
            select(ProgressReport)
            .where(ProgressReport.obligation_id == ob_id)
            .order_by(col(ProgressReport.id).desc())
        ).all()
    ]
    files: dict[int, list[dict[str, Any]]] = {}
    for f in session.exec(
        select(EvidenceFile)
        .where(EvidenceFile.obligation_id == ob_id)
        .order_by(col(EvidenceFile.id))
    ).all():
        files.setdefault(f.submission_id, []).append(
            {"id": f.id, "name": f.name, "size_kb": max(1, f.size // 1024)}
        )
    duty["submissions"] = [
        {
            "id": s.id,
            "by": s.by,
            "at": local_time(s.at),
            "note": s.note,
            "files": files.get(s.id or 0, []),
        }
        for s in session.exec(
            select(Submission)
            .where(Submission.obligation_id == ob_id)
            .order_by(col(Submission.id).desc())
        ).all()
    ]
    duty["extensions"] = [
        {
            "requested_due": e.requested_due,
            "reason": e.reason,
            "by": e.requested_by,
            "at": local_time(e.requested_at),
            "status": e.status,
            "answer": {"granted": "已批准", "refused": "已驳回", "requested": "待批复"}[e.status],
            "decided_by": e.decided_by,
            "decided_at": local_time(e.decided_at),
            "decision_reason": e.decision_reason or "",
        }
        for e in session.exec(
            select(ExtensionRequest)
            .where(ExtensionRequest.obligation_id == ob_id)
            .order_by(col(ExtensionRequest.id).desc())
        ).all()
    ]
    duty["answers"] = office_answers(session, ob_id)
    return duty


_ANSWER_LABEL = {
    "accept": "验收销号",
    "reopen": "退回重办",
    "waive": "免除",
    "confirm_open": "确认仍需办理",
}


def office_answers(session: Session, ob_id: int) -> list[dict[str, Any]]:
    """The office's decisions on a duty, newest first (from the audit log)."""
    rows = session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.entity == "obligation",
            AuditEvent.entity_id == ob_id,
            col(AuditEvent.action).in_(list(_ANSWER_LABEL)),
        )
        .order_by(col(AuditEvent.id).desc())
    ).all()
    return [
        {
            "what": _ANSWER_LABEL[e.action],
            "action": e.action,
            "by": e.actor,
            "at": local_time(e.at),
            "reason": e.reason,
        }
        for e in rows
    ]


def waiting_on_office(
    session: Session,
    today: date,
    *,
    status: str,
    plan: int | None = None,
    unit: int | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Duties that wait on a person in the office: `submitted` (to accept or send back) or
    `extension_requested` (to grant or refuse), oldest first."""
    stmt = (
        joined_duties().add_columns(Unit.name).join(Unit, col(Unit.id) == col(Obligation.unit_id))
    )
    stmt = stmt.where(col(Obligation.status) == status)
    if plan is not None:
        stmt = stmt.where(col(Obligation.plan_id) == plan)
    if unit is not None:
        stmt = stmt.where(col(Obligation.unit_id) == unit)
    stmt = stmt.order_by(col(Obligation.updated_at), col(Obligation.id)).limit(limit)
    out = []
    for ob, ms, tk, plan_row, unit_name in session.exec(stmt).all():
        d = _duty(ob, ms, tk, plan_row, today)
        d["unit"] = unit_name
        d["since"] = local_time(ob.submitted_at if status == "submitted" else ob.updated_at)
        out.append(d)
    _attach_latest(session, out, status)
    return out


def _attach_latest(session: Session, rows: list[dict[str, Any]], status: str) -> None:
    ids = [r["id"] for r in rows]
    if not ids:
        return
    if status == "submitted":
        latest: dict[int, Submission] = {}
        for s in session.exec(
            select(Submission)
            .where(col(Submission.obligation_id).in_(ids))
            .order_by(col(Submission.id))
        ).all():
            latest[s.obligation_id] = s
        files: dict[int, list[dict[str, Any]]] = {}
        subs = [s.id for s in latest.values()]
        for f in session.exec(
            select(EvidenceFile).where(col(EvidenceFile.submission_id).in_(subs))
        ).all():
            files.setdefault(f.submission_id, []).append({"id": f.id, "name": f.name})
        for r in rows:
            s = latest.get(r["id"])
            r["note"] = s.note if s else ""
            r["files"] = files.get(s.id or 0, []) if s else []
        return
    reqs: dict[int, ExtensionRequest] = {}
    for e in session.exec(
        select(ExtensionRequest)
        .where(col(ExtensionRequest.obligation_id).in_(ids), ExtensionRequest.status == "requested")
        .order_by(col(ExtensionRequest.id))
    ).all():
        reqs[e.obligation_id] = e
    for r in rows:
        e = reqs.get(r["id"])
        r["reason"] = e.reason if e else ""
        r["by"] = e.requested_by if e else ""
