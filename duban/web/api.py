"""The JSON API (`/api/v1`, OpenAPI at `/api/openapi.json`): the pages' actions for another platform.

Units authenticate with their portal token (`Authorization: Bearer <token>`, the same signed,
expiring, revocable link a message carries) and reach their own duties only. Office accounts
open a session (`POST /api/v1/session`: the lock-out applies) and send its token the same way;
`leader` accounts read only. No cookie is involved, so no CSRF token either: a browser never
sends an Authorization header on its own. Every action goes through models/repo/actions.py,
audited with `via: api`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import AfterValidator, BaseModel, Field
from sqlmodel import Session

from duban import runtime
from duban.office_views import history
from duban.web.app import DbId, Web, db, web_engine, web_state
from flows.context import flow_context
from models.db import session_scope
from models.directory import Unit
from models.people import UserAccount
from models.repo.accounts import AccountError, Lockout, check_login, open_session, read_session
from models.repo.actions import (
    ActionError,
    acknowledge,
    answer_extension,
    decide,
    get_obligation,
    report_progress,
    request_extension,
    submit_done,
    submit_progress_form,
)
from models.repo.boards import duty_record, unit_duties
from models.repo.chase import OfficeAction
from models.repo.portal import check_not_revoked
from models.repo.queue_page import queue_page
from models.tokens import TokenError, read_unit_token
from models.types import clean_text
from schedules.clock import OFFICE_TZ
from schedules.machine import Event

router = APIRouter(prefix="/api/v1")
Clean = Annotated[str, AfterValidator(clean_text)]  # no NUL or control characters
VIA = "api"


class Text(BaseModel):
    """A progress note."""

    text: Clean = Field(min_length=1, max_length=4000)


class Note(BaseModel):
    """One row of the periodic progress report: a duty and its progress."""

    id: int = Field(ge=1, le=2**31 - 1)
    text: Clean = Field(min_length=1, max_length=4000)


class ProgressForm(BaseModel):
    """The periodic progress report: a row per open duty (as the portal's one form)."""

    notes: list[Note] = Field(min_length=1, max_length=500)


class Done(BaseModel):
    """A report that the duty is done (files go through the portal's form)."""

    note: Clean = Field(default="", max_length=4000)


class Extension(BaseModel):
    """An extension asked for."""

    new_due: date
    reason: Clean = Field(min_length=1, max_length=4000)


class Login(BaseModel):
    """An office account's credentials."""

    login: Clean = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class Decision(BaseModel):
    """The office's decision: a reason (required to send back, refuse or waive), a new date."""

    reason: Clean = Field(default="", max_length=4000)
    new_due: date | None = None


class SessionOut(BaseModel):
    """An opened office session."""

    token: str
    role: str
    name: str
    expires_at: datetime


def _bearer(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise HTTPException(401, "缺少凭据：请在 Authorization: Bearer 中提供令牌")
    return value.strip()


def api_unit(
    request: Request, session: Session = Depends(db), web: Web = Depends(web_state)
) -> Unit:
    """The unit whose portal token the request carries."""
    try:
        tok = read_unit_token(web.secret, _bearer(request), now=runtime.current_time())
        check_not_revoked(session, tok)
    except TokenError as exc:
        raise HTTPException(403, str(exc)) from exc
    unit = session.get(Unit, tok.unit_id)
    if unit is None:
        raise HTTPException(403, "令牌无效：单位不存在")
    return unit


def api_user(request: Request, session: Session = Depends(db)) -> UserAccount:
    """The office account whose session token the request carries."""
    found = read_session(session, _bearer(request), runtime.current_time())
    if found is None:
        raise HTTPException(401, "会话无效或已过期，请重新登录")
    return found[1]


def _today() -> date:
    return runtime.current_time().astimezone(OFFICE_TZ).date()


def _act(fn: Any, **kw: Any) -> None:
    try:
        with session_scope(web_engine()) as s:
            kw["ob"] = get_obligation(s, kw.pop("ob_id"), unit_id=kw.pop("unit_id", None))
            fn(session=s, now=runtime.current_time(), via=VIA, **kw)
    except ActionError as exc:
        status = 404 if "没有找到" in str(exc) else 409
        raise HTTPException(status, str(exc)) from exc


@router.get("/unit", tags=["unit"])
def my_duties(unit: Unit = Depends(api_unit), session: Session = Depends(db)) -> dict[str, Any]:
    """The unit's open duties, most urgent first (as on the portal page)."""
    rows, later = unit_duties(session, unit.id or 0, _today())
    return {"unit": unit.name, "duties": rows, "later": later}


@router.get("/unit/duties/{ob_id}", tags=["unit"])
def my_duty(
    ob_id: DbId, unit: Unit = Depends(api_unit), session: Session = Depends(db)
) -> dict[str, Any]:
    """One duty with its record (签收, progress, reports, files, the office's answers)."""
    try:
        get_obligation(session, ob_id, unit_id=unit.id)
    except ActionError as exc:
        raise HTTPException(404, str(exc)) from exc
    return duty_record(session, ob_id, _today())


@router.post("/unit/duties/{ob_id}/ack", tags=["unit"])
def ack(ob_id: DbId, unit: Unit = Depends(api_unit)) -> dict[str, str]:
    """签收 (recorded once)."""
    _act(acknowledge, ob_id=ob_id, unit_id=unit.id, by=unit.name)
    return {"result": "acknowledged"}


@router.post("/unit/duties/{ob_id}/progress", tags=["unit"])
def progress(ob_id: DbId, body: Text, unit: Unit = Depends(api_unit)) -> dict[str, str]:
    """Report progress."""
    _act(report_progress, ob_id=ob_id, unit_id=unit.id, by=unit.name, text=body.text)
    return {"result": "progress_reported"}


@router.post("/unit/duties/{ob_id}/done", tags=["unit"])
def done(
    ob_id: DbId, body: Done, request: Request, unit: Unit = Depends(api_unit)
) -> dict[str, str]:
    """Report the duty done (awaits the office's acceptance)."""
    store = web_state(request).store
    _act(
        submit_done,
        ob_id=ob_id,
        unit_id=unit.id,
        by=unit.name,
        note=body.note,
        files=[],
        store=store,
        ctx=flow_context(),
    )
    return {"result": "submitted"}


@router.post("/unit/progress", tags=["unit"])
def progress_report(
    body: ProgressForm, request: Request, unit: Unit = Depends(api_unit)
) -> dict[str, Any]:
    """The periodic progress report (the portal's one form): a note on each duty, and the unit's
    current periodic report in each plan concerned reported with them."""
    try:
        with session_scope(web_engine()) as s:
            reports = submit_progress_form(
                session=s,
                ctx=flow_context(),
                unit_id=unit.id or 0,
                notes={n.id: n.text for n in body.notes},
                by=unit.name,
                store=web_state(request).store,
                now=runtime.current_time(),
                via=VIA,
            )
            reported = [ob.id for ob in reports]
    except ActionError as exc:
        status = 404 if "没有找到" in str(exc) else 409
        raise HTTPException(status, str(exc)) from exc
    return {"result": "progress_reported", "reports": reported}


@router.post("/unit/duties/{ob_id}/extension", tags=["unit"])
def extension(ob_id: DbId, body: Extension, unit: Unit = Depends(api_unit)) -> dict[str, str]:
    """Ask for a later due date."""
    _act(
        request_extension,
        ob_id=ob_id,
        unit_id=unit.id,
        by=unit.name,
        new_due=body.new_due,
        reason=body.reason,
        ctx=flow_context(),
    )
    return {"result": "extension_requested"}


@router.post("/session", tags=["office"], response_model=SessionOut)
def login(body: Login, request: Request) -> SessionOut:
    """Open an office session (wrong passwords count towards the lock-out)."""
    st = runtime.settings()
    now = runtime.current_time()
    with session_scope(web_engine()) as s:
        try:
            user = check_login(
                session=s,
                login=body.login,
                password=body.password,
                now=now,
                lockout=Lockout(st.login_max_failures, st.login_lock_minutes),
                source=f"api:{request.client.host if request.client else '?'}",
            )
        except AccountError as exc:
            error = str(exc)
            user = None
        if user is not None:
            token, row = open_session(session=s, user=user, now=now, hours=st.session_hours)
            out = SessionOut(
                token=token, role=user.role, name=user.display_name, expires_at=row.expires_at
            )
    if user is None:  # committed: the failure counts
        raise HTTPException(401, error)
    return out


@router.get("/queue", tags=["office"])
def queue(
    user: UserAccount = Depends(api_user), session: Session = Depends(db), limit: int = 50
) -> dict[str, Any]:
    """What waits on the office: reports to accept, extensions to answer, 督办/通报 items."""
    limit = max(1, min(limit, 2000))
    today = _today()
    return queue_page(session, today, limit=limit)


@router.get("/obligations/{ob_id}", tags=["office"])
def obligation(
    ob_id: DbId, user: UserAccount = Depends(api_user), session: Session = Depends(db)
) -> dict[str, Any]:
    """One obligation's record and its whole audit trail."""
    try:
        get_obligation(session, ob_id)
    except ActionError as exc:
        raise HTTPException(404, str(exc)) from exc
    return duty_record(session, ob_id, _today()) | {"history": history(session.connection(), ob_id)}


_EVENTS = {
    "accept": Event.ACCEPT,
    "reject": Event.REOPEN,
    "reopen": Event.REOPEN,
    "waive": Event.WAIVE,
    "confirm": Event.CONFIRM_OPEN,
}


@router.post("/obligations/{ob_id}/{action}", tags=["office"])
def decide_on(
    ob_id: DbId, action: str, body: Decision, user: UserAccount = Depends(api_user)
) -> dict[str, str]:
    """accept | reject | reopen | waive | confirm | grant | refuse | extend."""
    if user.role != "office":
        raise HTTPException(403, "领导账号为只读，不能办理")
    by = user.display_name or user.login
    if action in ("grant", "refuse", "extend"):
        if action == "extend" and body.new_due is None:
            raise HTTPException(422, "延期需要 new_due")
        _act(
            answer_extension,
            ob_id=ob_id,
            by=by,
            grant=action != "refuse",
            reason=body.reason,
            new_due=body.new_due,
            ctx=flow_context(),
        )
        return {"result": action}
    if action not in _EVENTS:
        raise HTTPException(404, "没有这种操作")
    if action in ("reject", "reopen", "waive") and not body.reason.strip():
        raise HTTPException(422, "请填写理由（单位会看到）")
    act = OfficeAction(_EVENTS[action], by, body.reason, via=VIA)

    def apply(*, session: Session, ob: Any, now: datetime, via: str) -> None:
        decide(session=session, ctx=flow_context(), ob=ob, act=act, now=now)

    _act(apply, ob_id=ob_id)
    return {"result": action}
