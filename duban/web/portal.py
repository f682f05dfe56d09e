"""The unit portal: `/u/<token>…`, opened from a message on a phone.

The token (signed, expiring, revocable; models/tokens.py) names one unit, and every query here
is filtered by that unit: an obligation id of another unit answers exactly like one that does
not exist. Forms carry a CSRF value derived from the token; every action is audited with the
unit's name and `via: portal`, through the same repo functions as `duban obligation …`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlmodel import Session

from duban import runtime
from duban.web.app import (
    DbId,
    PageError,
    Web,
    db,
    in_thread,
    page,
    read_session,
    small_id,
    web_engine,
    web_state,
)
from duban.web.calendar import calendar_token
from duban.web.forms import Form, FormError, read_form, run_in_transaction
from flows.context import flow_context
from models.db import session_scope
from models.people import EvidenceFile
from models.repo.actions import (
    ActionError,
    acknowledge,
    get_obligation,
    report_progress,
    request_extension,
    submit_done,
    submit_progress_form,
)
from models.repo.boards import duty_record, unit_closed, unit_duties
from models.repo.evidence import EvidenceError, EvidenceStore
from models.repo.portal import unit_behind
from models.tokens import TokenError, UnitToken, form_key, read_unit_token
from schedules.clock import OFFICE_TZ

router = APIRouter(prefix="/u/{token}", include_in_schema=False)
VIA = "portal"
DONE_MESSAGES = {
    "ack": "已签收，签收时间已记录。",
    "ack-all": "已全部签收。",
    "progress": "进展已报送。",
    "progress-all": "本期进展已报送。",
    "done": "完成情况已报送，等待安委办验收。",
    "extension": "延期申请已提交，等待安委办批复。",
}


@dataclass(frozen=True)
class PortalUnit:
    """The unit behind a link: what the pages need of it."""

    id: int
    name: str


@dataclass(frozen=True)
class Visitor:
    """Who opened the portal: the unit behind a valid token."""

    unit: PortalUnit
    token: UnitToken
    raw: str
    csrf: str

    @property
    def base(self) -> str:
        """The portal's own path for this token."""
        return f"/u/{self.raw}"


def visitor(token: str, session: Session = Depends(db), web: Web = Depends(web_state)) -> Visitor:
    """The unit whose token this is, or a page saying why the link does not open."""
    now = runtime.current_time()
    try:
        tok = read_unit_token(web.secret, token, now=now)
        unit = unit_behind(session, tok)
    except TokenError as exc:
        raise PageError(str(exc), 403, "链接无法打开") from exc
    if unit is None:
        raise PageError("链接无效：单位不存在。", 403, "链接无法打开")
    return Visitor(PortalUnit(*unit), tok, token, form_key(web.secret, token))


def _today() -> date:
    return runtime.current_time().astimezone(OFFICE_TZ).date()


def _check_csrf(form: Form, who: Visitor) -> None:
    if not hmac.compare_digest(form.get("csrf"), who.csrf):
        raise FormError("页面已过期或来源不明（安全校验未通过），请重新打开链接后再提交。", 403)


def _context(who: Visitor, **extra: Any) -> dict[str, Any]:
    st = runtime.settings()
    return {
        "unit": who.unit.name,
        "base": who.base,
        "csrf": who.csrf,
        "office": st.office_name,
        "contact": st.office_contact,
        "expires": who.token.expires_at.astimezone(OFFICE_TZ).strftime("%Y-%m-%d"),
        **extra,
    }


@router.get("")
async def duties_page(request: Request, token: str, all: int = 0, done: str = "") -> Response:
    """The unit's open duties across plans, most urgent first."""
    return await in_thread(_duties_page, web_state(request), token, bool(all), done)


def _duties_page(web: Web, token: str, everything: bool, done: str) -> Response:
    with read_session() as session:
        who = visitor(token, session, web)
        unit_id, today = who.unit.id or 0, _today()
        rows, later = unit_duties(session, unit_id, today, everything=everything)
        closed = unit_closed(session, unit_id, today)
    return page(
        "portal/duties.html.j2",
        _context(
            who,
            rows=rows,
            later=later,
            unreceived=sum(1 for r in rows if not r["received"]),
            closed=closed,
            calendar=f"/cal/u/{calendar_token(web, unit_id, runtime.current_time())}.ics",
            message=DONE_MESSAGES.get(done, ""),
        ),
    )


@router.get("/o/{ob_id}")
def duty_page(
    ob_id: DbId, who: Visitor = Depends(visitor), session: Session = Depends(db), done: str = ""
) -> Response:
    """One duty: what, by when, what was reported, the office's answers, and the forms."""
    _mine(session, ob_id, who)
    duty = duty_record(session, ob_id, _today())
    return page(
        "portal/duty.html.j2",
        _context(
            who,
            d=duty,
            message=DONE_MESSAGES.get(done, ""),
            max_mb=int(runtime.settings().evidence_max_mb),
        ),
    )


def _mine(session: Session, ob_id: int, who: Visitor) -> Any:
    try:
        return get_obligation(session, ob_id, unit_id=who.unit.id)
    except ActionError as exc:
        raise PageError(str(exc), 404, "找不到这项任务") from exc


def _back(who: Visitor, ob_id: int | None, done: str) -> Response:
    path = f"{who.base}/o/{ob_id}" if ob_id else who.base
    return RedirectResponse(f"{path}?done={done}", status_code=303)


async def _form(request: Request, who: Visitor, *, files: bool = False) -> Form:
    store = web_state(request).store if files else None
    try:
        form = await read_form(request, store=store, before_files=lambda f: _check_csrf(f, who))
        _check_csrf(form, who)
    except (FormError, EvidenceError) as exc:
        raise PageError(str(exc), exc.status, "未能提交") from exc
    return form


def _run(session: Session, fn: Any, **kw: Any) -> None:
    try:
        fn(session=session, **kw)
    except (ActionError, EvidenceError) as exc:
        session.rollback()
        raise PageError(str(exc), getattr(exc, "status", 409), "未能提交") from exc


@router.post("/o/{ob_id}/ack")
async def ack(ob_id: DbId, request: Request, who: Visitor = Depends(visitor)) -> Response:
    """签收 one duty (the time is recorded once)."""
    await _form(request, who)
    now = runtime.current_time()
    await run_in_transaction(
        lambda s: _run(s, acknowledge, ob=_mine(s, ob_id, who), by=who.unit.name, now=now, via=VIA)
    )
    return _back(who, ob_id, "ack")


@router.post("/ack-all")
async def ack_all(request: Request, who: Visitor = Depends(visitor)) -> Response:
    """签收 every open duty listed."""
    await _form(request, who)
    now = runtime.current_time()

    def work(s: Session) -> None:
        rows, _ = unit_duties(s, who.unit.id or 0, _today(), everything=True)
        for r in rows:
            if not r["received"]:
                _run(s, acknowledge, ob=_mine(s, r["id"], who), by=who.unit.name, now=now, via=VIA)

    await run_in_transaction(work)
    return _back(who, None, "ack-all")


@router.post("/o/{ob_id}/progress")
async def progress(ob_id: DbId, request: Request, who: Visitor = Depends(visitor)) -> Response:
    """Report progress (text)."""
    form = await _form(request, who)
    now = runtime.current_time()
    await run_in_transaction(
        lambda s: _run(
            s,
            report_progress,
            ob=_mine(s, ob_id, who),
            by=who.unit.name,
            text=form.get("text"),
            now=now,
            via=VIA,
        )
    )
    return _back(who, ob_id, "progress")


@router.post("/progress")
async def progress_all(request: Request, who: Visitor = Depends(visitor)) -> Response:
    """The periodic progress report: one form, a row per open duty (blank rows are skipped)."""
    form = await _form(request, who)
    now = runtime.current_time()
    rows = {
        found: v
        for k, v in form.fields.items()
        if k.startswith("text-") and (found := small_id(k[5:])) and v.strip()
    }
    if not rows:
        raise PageError("请至少填写一项任务的进展。", 400, "未能提交")
    store = web_state(request).store

    def work(s: Session) -> None:
        for ob_id in rows:  # another unit's id: refused before anything is written
            _mine(s, ob_id, who)
        _run(
            s,
            submit_progress_form,
            ctx=flow_context(),
            unit_id=who.unit.id or 0,
            notes=rows,
            by=who.unit.name,
            store=store,
            now=now,
            via=VIA,
        )

    await run_in_transaction(work)
    return _back(who, None, "progress-all")


@router.post("/o/{ob_id}/done")
async def done(ob_id: DbId, request: Request, who: Visitor = Depends(visitor)) -> Response:
    """Report the duty done, with 佐证 files (streamed to disk, checked, then kept)."""
    store = web_state(request).store
    # another unit's id: refused before a byte is written
    await run_in_transaction(lambda s: _mine(s, ob_id, who))
    form = await _form(request, who, files=True)
    await in_thread(_submit_done, ob_id, who, form, store, runtime.current_time())
    return _back(who, ob_id, "done")


def _submit_done(ob_id: int, who: Visitor, form: Form, store: EvidenceStore, now: datetime) -> None:
    """Check the staged files (their content is read) and record the report with them."""
    try:
        for f in form.files:
            store.check(f)
        with session_scope(web_engine()) as s:
            _run(
                s,
                submit_done,
                ctx=flow_context(),
                ob=_mine(s, ob_id, who),
                by=who.unit.name,
                note=form.get("note"),
                files=form.files,
                store=store,
                now=now,
                via=VIA,
            )
    except EvidenceError as exc:
        raise PageError(str(exc), exc.status, "未能提交") from exc
    finally:
        form.discard()  # whatever was not kept (kept files were moved away)


@router.post("/o/{ob_id}/extension")
async def extension(ob_id: DbId, request: Request, who: Visitor = Depends(visitor)) -> Response:
    """Ask for a later due date, with a reason."""
    form = await _form(request, who)
    try:
        new_due = date.fromisoformat(form.get("new_due"))
    except ValueError:
        raise PageError("请选择新的截止日期。", 400, "未能提交") from None
    now = runtime.current_time()
    await run_in_transaction(
        lambda s: _run(
            s,
            request_extension,
            ctx=flow_context(),
            ob=_mine(s, ob_id, who),
            by=who.unit.name,
            new_due=new_due,
            reason=form.get("reason"),
            now=now,
            via=VIA,
        )
    )
    return _back(who, ob_id, "extension")


@router.get("/files/{file_id}")
def evidence(
    file_id: DbId, who: Visitor = Depends(visitor), session: Session = Depends(db)
) -> Response:
    """One of the unit's own 佐证 files, as a download."""
    f = session.get(EvidenceFile, file_id)
    if f is None or f.unit_id != who.unit.id:
        raise PageError("没有这个文件（或不属于本单位）。", 404, "找不到文件")
    return FileResponse(f.path, filename=f.name, content_disposition_type="attachment")
