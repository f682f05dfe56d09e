"""The console's 通报 pages: the list, one document (edit and approve while a draft; leaders read),
its PDF, the charts, and the 任务清单 / 考核 downloads. Every write goes through
models/repo/documents.py, the same functions as `duban report …`."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from duban import runtime
from duban.bulletin_send import bulletin_deliveries
from duban.charts import bars, heatmap, line, series
from duban.web.app import DbId, PageError, db, page
from duban.web.forms import run_in_transaction
from duban.web.office import _ctx
from duban.web.office_auth import Clerk, action_form, clerk
from models.repo.documents import (
    DocumentError,
    approve_document,
    draft_bulletin,
    edit_document,
    get_document,
    list_documents,
)
from models.tables import AuditEvent, Plan
from schedules.bulletin import issue_number
from schedules.clock import OFFICE_TZ
from schedules.report import PeriodError, parse_month

router = APIRouter(include_in_schema=False)
STATUS_NAMES = {"draft": "草稿", "approved": "已审定", "sent": "已印发"}


def _plans(session: Session) -> list[Plan]:
    return list(session.exec(select(Plan).where(Plan.status == "active").order_by(col(Plan.id))))


def _doc_plan_ids(session: Session, plan_id: int | None) -> list[int] | None:
    return [plan_id] if plan_id is not None else [p.id or 0 for p in _plans(session)]


@router.get("/office/reports")
def reports_page(who: Clerk = Depends(clerk), session: Session = Depends(db)) -> Response:
    """Every 通报 (newest first), the draft form, the exports per plan."""
    docs = [
        {
            "id": d.id,
            "number": issue_number(d.year, d.number) if d.number else "",
            "period": d.period,
            "status": STATUS_NAMES.get(d.status, d.status),
            "title": d.title,
            "edits": d.edits,
        }
        for d in list_documents(session)
    ]
    today = runtime.current_time().astimezone(OFFICE_TZ).date()
    return page(
        "office/reports.html.j2",
        _ctx(who, docs=docs, plans=_plans(session), year=today.year, month=today.strftime("%Y-%m")),
    )


@router.get("/office/reports/{doc_id}")
def report_page(
    doc_id: DbId, done: str = "", who: Clerk = Depends(clerk), session: Session = Depends(db)
) -> Response:
    """One 通报: its text (a form while it is a draft and the person may act), its figures and
    charts, and its edit history."""
    try:
        d = get_document(session, doc_id)
    except DocumentError as exc:
        raise PageError(str(exc), 404, "找不到通报") from exc
    month = date.fromisoformat(d.period + "-01")
    s = series(
        session.connection(),
        plan_ids=_doc_plan_ids(session, d.plan_id),
        first=date(month.year, 1, 1),
        last=month,
    )
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.entity == "report_document", AuditEvent.entity_id == doc_id)
        .order_by(col(AuditEvent.id))
    ).all()
    return page(
        "office/report.html.j2",
        _ctx(
            who,
            d=d,
            number=issue_number(d.year, d.number) if d.number else "",
            status=STATUS_NAMES.get(d.status, d.status),
            units=d.data.get("units", []),
            heatmap=heatmap(s),
            line=line(s),
            bars=bars(s),
            events=events,
            deliveries=bulletin_deliveries(session, doc_id),
            done=done,
            tz=OFFICE_TZ,
        ),
    )


@router.post("/office/reports/{doc_id}/{action}")
async def report_act(
    doc_id: DbId, action: str, request: Request, who: Clerk = Depends(clerk)
) -> Response:
    """修改 (the text, with a note) or 审定 (numbered) a draft; 印发 (send) an approved one."""
    if action not in ("edit", "approve", "send"):
        raise PageError("没有这种操作。", 404)
    form = await action_form(request, who)
    now = runtime.current_time()
    if action == "send":
        from duban.bulletin_send import send_bulletin
        from duban.pdf import PdfError

        try:
            await run_in_threadpool(send_bulletin, doc_id, now=now, by=who.name)
        except (DocumentError, PdfError) as exc:
            raise PageError(str(exc), 409, "未能印发") from exc
        return RedirectResponse(f"/office/reports/{doc_id}?done=send", status_code=303)

    def work(s: Session) -> None:
        if action == "edit":
            edit_document(
                session=s,
                doc_id=doc_id,
                body=form.get("body"),
                by=who.name,
                now=now,
                reason=form.get("reason"),
            )
        else:
            approve_document(session=s, doc_id=doc_id, by=who.name, now=now)

    try:
        await run_in_transaction(work)
    except DocumentError as exc:
        raise PageError(str(exc), 409, "未能办理") from exc
    return RedirectResponse(f"/office/reports/{doc_id}?done={action}", status_code=303)


@router.post("/office/reports")
async def draft_act(request: Request, who: Clerk = Depends(clerk)) -> Response:
    """Draft a month's 通报 now (the monthly cycle does it on the first working day)."""
    form = await action_form(request, who)
    try:
        month = parse_month(form.get("month"))
    except PeriodError as exc:
        raise PageError(str(exc), 400, "未能生成") from exc
    raw = form.get("plan")
    plan_id = int(raw) if raw.isdigit() else None
    now = runtime.current_time()

    def work(s: Session) -> int | None:
        doc, _ = draft_bulletin(session=s, plan_id=plan_id, month=month, now=now, by=who.name)
        return doc.id

    try:
        doc_id = await run_in_transaction(work)
    except DocumentError as exc:
        raise PageError(str(exc), 404, "未能生成") from exc
    return RedirectResponse(f"/office/reports/{doc_id}", status_code=303)


@router.get("/office/plans/{plan_id}/ledger.xlsx")
def ledger_download(
    plan_id: DbId, unit: str = "", who: Clerk = Depends(clerk), session: Session = Depends(db)
) -> Response:
    """The 任务清单 with 完成情况 as Excel (the same as `duban report ledger`)."""
    from duban.ledger import ledger_rows, write_xlsx
    from models.repo.units import find_unit

    plan = session.get(Plan, plan_id)
    if plan is None:
        raise PageError(f"没有编号为 {plan_id} 的计划", 404, "找不到计划")
    unit_ids, unit_name = None, None
    if unit.strip():
        found = find_unit(session=session, name=unit.strip())
        if found is None:
            raise PageError(f"单位目录中没有「{unit.strip()}」", 404, "找不到单位")
        unit_ids, unit_name = [found.id or 0], found.name
    now = runtime.current_time()
    rows = ledger_rows(
        session,
        plan_id=plan_id,
        as_of=now,
        unit_ids=unit_ids,
        base_url=runtime.settings().portal_url,
    )
    with tempfile.TemporaryDirectory(prefix="duban-ledger-") as tmp:
        path = Path(tmp) / "ledger.xlsx"
        write_xlsx(rows, path, title=plan.title or f"计划 {plan_id}", as_of=now, unit=unit_name)
        content = path.read_bytes()
    name = f"任务清单-{plan_id}.xlsx"
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{_quote(name)}"},
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


@router.get("/office/reports/{doc_id}/pdf")
def report_pdf(
    doc_id: DbId, who: Clerk = Depends(clerk), session: Session = Depends(db)
) -> Response:
    """The 通报 as PDF (its text, the table by unit, the charts), for reading and printing."""
    from duban.pdf import PdfError, bulletin_pdf

    try:
        d = get_document(session, doc_id)
    except DocumentError as exc:
        raise PageError(str(exc), 404, "找不到通报") from exc
    month = date.fromisoformat(d.period + "-01")
    charts = series(
        session.connection(),
        plan_ids=_doc_plan_ids(session, d.plan_id),
        first=date(month.year, 1, 1),
        last=month,
    )
    try:
        data = bulletin_pdf(title=d.title, body=d.body, charts=charts)
    except PdfError as exc:
        raise PageError(str(exc), 503, "无法生成 PDF") from exc
    name = f"通报-{d.period}-{doc_id}.pdf"
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{_quote(name)}"},
    )


@router.get("/office/papers/{paper_id}/{fmt}")
def paper_download(
    paper_id: DbId, fmt: str, who: Clerk = Depends(clerk), session: Session = Depends(db)
) -> Response:
    """A 督办单 / 催办单 as issued (the same file its e-mail carried): `docx` or `pdf`."""
    from models.repo.papers import get_paper
    from notify.papers import DOCX_MIME, PDF_MIME

    paper = get_paper(session, paper_id)
    if paper is None or fmt not in ("docx", "pdf"):
        raise PageError(f"没有编号为 {paper_id} 的督办单或催办单文件", 404, "找不到")
    data = paper.docx if fmt == "docx" else paper.pdf
    if not data:
        raise PageError("该单据签发时服务器没有中文字体，未生成 PDF；请下载 DOCX", 404, "找不到")
    return Response(
        data,
        media_type=DOCX_MIME if fmt == "docx" else PDF_MIME,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(paper.title)}.{fmt}"
        },
    )
