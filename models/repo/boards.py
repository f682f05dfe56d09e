"""What the pages read: a unit's duties, one duty's record, the office's queue and boards.

Red/yellow/green is how leaders and units read a list at a glance (PRACTICE §2, 考核): 绿 on
track, 黄 due within a week or up to three days late, 红 later than that or escalated (督办 and
above); a submitted duty waits on the office and shows green.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from models.directory import Unit
from models.labels import ROLE_LABEL
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


def joined_duties() -> Select[Obligation, Milestone, Task, Plan]:
    """Obligations with their milestone, task and plan, ready to filter."""
    return (
        select(Obligation, Milestone, Task, Plan)
        .join(Milestone, col(Milestone.id) == col(Obligation.milestone_id))
        .join(Task, col(Task.id) == col(Obligation.task_id))
        .join(Plan, col(Plan.id) == col(Obligation.plan_id))
    )


# The pages' list reads (issue 16's benchmark: 1M obligations): SQLAlchemy Core, no ORM objects;
# each statement is built once with bound parameters. Each picks its page of rows from
# `obligation` alone (a subquery with its own ORDER BY and LIMIT, on an index), and only that
# page is joined to its task, milestone, plan and 签收 (and unit), by primary key.
_OB = Obligation.__table__  # type: ignore[attr-defined]
_MS = Milestone.__table__  # type: ignore[attr-defined]
_TK = Task.__table__  # type: ignore[attr-defined]
_PL = Plan.__table__  # type: ignore[attr-defined]
_UN = Unit.__table__  # type: ignore[attr-defined]
_RC = Receipt.__table__  # type: ignore[attr-defined]
_ROW_COLUMNS = tuple(
    _OB.c[name]
    for name in (
        "id",
        "plan_id",
        "task_id",
        "milestone_id",
        "unit_id",
        "due_on",
        "role",
        "status",
        "escalation_level",
        "requested_due",
        "updated_at",
        "submitted_at",
    )
)
_ACTIVE_PLANS = sa_select(_PL.c.id).where(_PL.c.status == "active").scalar_subquery()
_STILL_OPEN = tuple(s.value for s in Status if s.value not in CLOSED and s != Status.OPEN)


def _with_details(page: Any, *, unit_names: bool = False) -> Any:
    """The page of obligation rows `page` (a limited select of `_ROW_COLUMNS`) with its details."""
    p = page.subquery("page")
    stmt = (
        sa_select(
            p,
            _TK.c.ref.label("task_ref"),
            _TK.c.title.label("task_title"),
            _TK.c.text.label("task_text"),
            _TK.c.position,
            _MS.c.label.label("ms_label"),
            _MS.c.source_text.label("ms_text"),
            _PL.c.title.label("plan_title"),
            _RC.c.obligation_id.label("received"),
        )
        .join(_MS, _MS.c.id == p.c.milestone_id)
        .join(_TK, _TK.c.id == p.c.task_id)
        .join(_PL, _PL.c.id == p.c.plan_id)
        .outerjoin(_RC, _RC.c.obligation_id == p.c.id)
    )
    if unit_names:
        stmt = stmt.add_columns(_UN.c.name.label("unit_name")).join(_UN, _UN.c.id == p.c.unit_id)
    return stmt


def _row(r: Any, today: date) -> dict[str, Any]:
    rag = rag_of(r.status, r.escalation_level >= 2, bucket_of(r.due_on, today))
    return {
        "id": r.id,
        "plan": r.plan_title,
        "plan_id": r.plan_id,
        "task_ref": r.task_ref,
        "task": r.task_title,
        "text": r.task_text,
        "milestone": r.ms_label or r.ms_text,
        "due": r.due_on,
        "days": (r.due_on - today).days,
        "role": ROLE_LABEL.get(r.role, r.role),
        "status": r.status,
        "status_label": STATUS_LABEL[Status(r.status)],
        "level": r.escalation_level,
        "rag": rag,
        "rag_label": RAG_LABEL[rag],
        "requested_due": r.requested_due,
        "unit_id": r.unit_id,
        "received": r.received is not None,
    }


_ob = _OB.c
_MINE = (_ob.unit_id == bindparam("unit_id"), _ob.plan_id.in_(_ACTIVE_PLANS))
_UNIT_NEAR = _with_details(
    sa_select(*_ROW_COLUMNS)
    .where(
        *_MINE,
        or_(
            _ob.status.in_(_STILL_OPEN),
            and_(_ob.status == "open", _ob.due_on <= bindparam("horizon")),
        ),
    )
    .order_by(_ob.due_on, _ob.id)
    .limit(bindparam("limit"))
)
_UNIT_ALL = _with_details(
    sa_select(*_ROW_COLUMNS)
    .where(*_MINE, _ob.status.not_in(CLOSED))
    .order_by(_ob.due_on, _ob.id)
    .limit(bindparam("limit"))
)
_UNIT_LATER = (
    sa_select(func.count())
    .select_from(_OB)
    .where(*_MINE, _ob.status == "open", _ob.due_on > bindparam("horizon"))
)
_UNIT_CLOSED = _with_details(
    sa_select(*_ROW_COLUMNS)
    .where(_ob.unit_id == bindparam("unit_id"), _ob.status.in_(CLOSED))
    .order_by(_ob.updated_at.desc(), _ob.id.desc())
    .limit(bindparam("limit"))
)
_RAG_ORDER = {"red": 0, "yellow": 1, "green": 2, "done": 3}


def unit_duties(
    session: Session, unit_id: int, today: date, *, everything: bool = False, limit: int = 500
) -> tuple[list[dict[str, Any]], int]:
    """The unit's open duties across active plans, most urgent first, and how many lie beyond
    the horizon (untouched duties due more than 60 days ahead; listed only with `everything`).

    `ix_obligation_unit_status_due_plan` finds the unit's open rows up to the horizon and its rows in
    the other open statuses, and counts the rest from the index alone."""
    conn = session.connection()
    horizon = today + timedelta(days=HORIZON_DAYS)
    args = {"unit_id": unit_id, "horizon": horizon, "limit": limit}
    found = list(conn.execute(_UNIT_ALL if everything else _UNIT_NEAR, args))
    found.sort(key=lambda r: (r.due_on, r.position, r.id))
    near = [_row(r, today) for r in found]
    later = 0 if everything else conn.execute(_UNIT_LATER, args).scalar_one()
    near.sort(key=lambda r: (_RAG_ORDER[r["rag"]], r["due"]))  # stable: task order within a day
    return near, int(later)


def unit_closed(
    session: Session, unit_id: int, today: date, limit: int = 10
) -> list[dict[str, Any]]:
    """The unit's most recently accepted or waived duties (the office's last answers)."""
    found = session.connection().execute(_UNIT_CLOSED, {"unit_id": unit_id, "limit": limit})
    rows = sorted(found, key=lambda r: (r.updated_at, r.id), reverse=True)
    return [_row(r, today) for r in rows]


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


_UNRECEIVED = _with_details(
    sa_select(*_ROW_COLUMNS, _ob.assign_at)
    .where(
        _ob.assign_at <= bindparam("before"),
        _ob.status.not_in(CLOSED),
        ~sa_select(_RC.c.id).where(_RC.c.obligation_id == _ob.id).exists(),
    )
    .order_by(_ob.assign_at, _ob.id)
    .limit(bindparam("limit")),
    unit_names=True,
)


def unreceived(
    session: Session, now: datetime, today: date, *, receipt_days: int, limit: int = 200
) -> list[dict[str, Any]]:
    """未签收: duties handed over (交办) more than `receipt_days` days ago and still not 签收,
    oldest first (`ix_obligation_assign_at`)."""
    before = now - timedelta(days=receipt_days)
    found = session.connection().execute(_UNRECEIVED, {"before": before, "limit": limit})
    out = []
    for r in sorted(found, key=lambda r: (r.assign_at, r.id)):
        d = _row(r, today)
        d["unit"] = r.unit_name
        d["assigned"] = local_time(r.assign_at)
        out.append(d)
    return out


@lru_cache(maxsize=8)
def _waiting(by_plan: bool, by_unit: bool) -> Any:
    page = sa_select(*_ROW_COLUMNS).where(_ob.status == bindparam("status"))
    if by_plan:
        page = page.where(_ob.plan_id == bindparam("plan"))
    if by_unit:
        page = page.where(_ob.unit_id == bindparam("unit"))
    page = page.order_by(_ob.updated_at, _ob.id).limit(bindparam("limit"))
    return _with_details(page, unit_names=True)


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
    `extension_requested` (to grant or refuse), oldest first (`ix_obligation_status`), with
    the latest report and its files, or the open extension request."""
    args = {"status": status, "plan": plan, "unit": unit, "limit": limit}
    found = session.connection().execute(_waiting(plan is not None, unit is not None), args)
    out = []
    for r in sorted(found, key=lambda r: (r.updated_at, r.id)):
        d = _row(r, today)
        d["unit"] = r.unit_name
        d["since"] = local_time(r.submitted_at if status == "submitted" else r.updated_at)
        out.append(d)
    _attach_latest(session, out, status)
    return out


def _attach_latest(session: Session, rows: list[dict[str, Any]], status: str) -> None:
    ids = [r["id"] for r in rows]
    if not ids:
        return
    conn = session.connection()
    if status == "submitted":
        sb = Submission.__table__.c  # type: ignore[attr-defined]
        ef = EvidenceFile.__table__.c  # type: ignore[attr-defined]
        latest: dict[int, Any] = {}
        for sub in conn.execute(
            sa_select(sb.id, sb.obligation_id, sb.note)
            .where(sb.obligation_id.in_(ids))
            .order_by(sb.id)
        ):
            latest[sub.obligation_id] = sub
        files: dict[int, list[dict[str, Any]]] = {}
        subs = [sub.id for sub in latest.values()]
        if subs:
            for f in conn.execute(
                sa_select(ef.id, ef.submission_id, ef.name)
                .where(ef.submission_id.in_(subs))
                .order_by(ef.id)
            ):
                files.setdefault(f.submission_id, []).append({"id": f.id, "name": f.name})
        for r in rows:
            found = latest.get(r["id"])
            r["note"] = found.note if found else ""
            r["files"] = files.get(found.id, []) if found else []
        return
    er = ExtensionRequest.__table__.c  # type: ignore[attr-defined]
    reqs: dict[int, Any] = {}
    for e in conn.execute(
        sa_select(er.obligation_id, er.reason, er.requested_by)
        .where(er.obligation_id.in_(ids), er.status == "requested")
        .order_by(er.id)
    ):
        reqs[e.obligation_id] = e
    for r in rows:
        req = reqs.get(r["id"])
        r["reason"] = req.reason if req else ""
        r["by"] = req.requested_by if req else ""
