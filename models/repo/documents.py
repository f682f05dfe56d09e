"""The monthly 通报 as a document: draft (idempotent), edit (audited with the old text), approve
(numbered per year), mark sent. Every write here is one transaction of the caller's."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.documents import ReportDocument
from models.repo.audit import record_event
from models.repo.reports import active_plan_ids, month_report
from models.tables import Plan
from models.types import clean_text
from schedules.bulletin import issue_number, render_bulletin
from schedules.report import month_as_of

OFFICE_SCOPE = "office"
MAX_BODY = 200_000


class DocumentError(ValueError):
    """A document operation that does not fit the document's state (message in Chinese)."""


def scope_of(plan_id: int | None) -> str:
    """`plan:N`, or `office` for every active plan."""
    return OFFICE_SCOPE if plan_id is None else f"plan:{plan_id}"


def get_document(session: Session, doc_id: int) -> ReportDocument:
    """The document, or a Chinese error naming the id."""
    doc = session.get(ReportDocument, doc_id)
    if doc is None:
        raise DocumentError(f"没有编号为 {doc_id} 的通报")
    return doc


def find_bulletin(session: Session, plan_id: int | None, month: date) -> ReportDocument | None:
    """The month's 通报 of the scope, if drafted."""
    return session.exec(
        select(ReportDocument).where(
            ReportDocument.kind == "bulletin",
            ReportDocument.scope == scope_of(plan_id),
            ReportDocument.period == month.strftime("%Y-%m"),
        )
    ).first()


def draft_bulletin(
    *, session: Session, plan_id: int | None, month: date, now: datetime, by: str = "duban"
) -> tuple[ReportDocument, bool]:
    """The month's 通报 draft for one plan (or the office across active plans); (doc, created).

    A second call for the same month returns the existing document untouched (edited or not)."""
    existing = find_bulletin(session, plan_id, month)
    if existing is not None:
        return existing, False
    if plan_id is not None:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise DocumentError(f"没有编号为 {plan_id} 的计划")
        title, plan_ids = plan.title or f"计划 {plan_id}", [plan_id]
    else:
        title, plan_ids = "安委会各项计划", active_plan_ids(session.connection())
    report = month_report(
        session.connection(), plan_ids=plan_ids, month=month, scope=scope_of(plan_id)
    )
    body = render_bulletin(report, title=title, number=None)
    if plan_id is not None:
        body += _subplan_section(session, plan_id, month)
    doc = ReportDocument(
        kind="bulletin",
        scope=scope_of(plan_id),
        plan_id=plan_id,
        period=month.strftime("%Y-%m"),
        year=month.year,
        title=f"{title}（{month.year}年{month.month}月）",
        body=body,
        data=report.as_dict(),
        created_at=now,
        updated_at=now,
    )
    session.add(doc)
    session.flush()
    record_event(
        session=session,
        at=now,
        actor=by,
        entity="report_document",
        entity_id=doc.id,
        action="drafted",
        to_status="draft",
        reason=doc.period,
        data={"scope": doc.scope, "totals": report.totals.as_dict()},
    )
    return doc, True


def _subplan_section(session: Session, plan_id: int, month: date) -> str:
    """The 子方案 roll-up: each task's sub-plans' progress as of the month's close ("" if none)."""
    from models.repo.subplans import rollup
    from models.tables import Task

    tasks = {t.id: t.ref for t in session.exec(select(Task).where(Task.plan_id == plan_id)) if t.id}
    kids = rollup(session, list(tasks), month_as_of(month))
    if not kids:
        return ""
    lines = ["", "子方案进展"]
    for task_id, progress in sorted(kids.items(), key=lambda kv: tasks.get(kv[0], "")):
        lines += [f"第 {tasks.get(task_id, '?')} 项任务 {p.text()}" for p in progress]
    return "\n".join(lines) + "\n"


def edit_document(
    *, session: Session, doc_id: int, body: str, by: str, now: datetime, reason: str = ""
) -> ReportDocument:
    """Replace a draft's text; the audit event keeps the text it replaced."""
    doc = get_document(session, doc_id)
    if doc.status != "draft":
        raise DocumentError(f"通报 {doc_id} 已审定（{doc.status}），不能再修改")
    text = clean_text(body).strip()
    if not text:
        raise DocumentError("通报正文不能为空")
    if len(text) > MAX_BODY:
        raise DocumentError(f"通报正文过长（{len(text)} 字，上限 {MAX_BODY}）")
    if text == doc.body.strip():
        return doc
    record_event(
        session=session,
        at=now,
        actor=by,
        entity="report_document",
        entity_id=doc.id,
        action="edited",
        reason=clean_text(reason),
        data={"before": doc.body, "after": text},
    )
    doc.body, doc.edits, doc.updated_at = text + "\n", doc.edits + 1, now
    session.add(doc)
    session.flush()
    return doc


def approve_document(*, session: Session, doc_id: int, by: str, now: datetime) -> ReportDocument:
    """Approve a draft: it takes the next number of its year (〔2024〕第3期), shown in its text."""
    doc = get_document(session, doc_id)
    if doc.status != "draft":
        raise DocumentError(f"通报 {doc_id} 已审定，期号 {issue_number(doc.year, doc.number or 0)}")
    last = session.exec(
        select(func.max(ReportDocument.number)).where(
            ReportDocument.kind == doc.kind, ReportDocument.year == doc.year
        )
    ).one()
    doc.number = int(last or 0) + 1
    label = issue_number(doc.year, doc.number)
    doc.body = doc.body.replace("（未编号草稿）", label, 1)
    doc.status, doc.approved_by, doc.approved_at, doc.updated_at = "approved", by, now, now
    session.add(doc)
    session.flush()
    record_event(
        session=session,
        at=now,
        actor=by,
        entity="report_document",
        entity_id=doc.id,
        action="approved",
        from_status="draft",
        to_status="approved",
        reason=label,
    )
    return doc


def mark_sent(*, session: Session, doc: ReportDocument, by: str, now: datetime, data: dict) -> None:  # type: ignore[type-arg]
    """Record that an approved 通报 went out (with what the delivery reported)."""
    if doc.status not in ("approved", "sent"):
        raise DocumentError(f"通报 {doc.id} 尚未审定，不能印发")
    before = doc.status
    doc.status, doc.sent_at, doc.updated_at = "sent", now, now
    session.add(doc)
    record_event(
        session=session,
        at=now,
        actor=by,
        entity="report_document",
        entity_id=doc.id,
        action="sent",
        from_status=before,
        to_status="sent",
        data=data,
    )
    session.flush()


def list_documents(session: Session, *, year: int | None = None) -> list[ReportDocument]:
    """Documents newest period first."""
    stmt = select(ReportDocument)
    if year is not None:
        stmt = stmt.where(ReportDocument.year == year)
    return list(
        session.exec(stmt.order_by(col(ReportDocument.period).desc(), col(ReportDocument.scope)))
    )
