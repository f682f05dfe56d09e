"""The office console: `/office…`, desk-sized, behind a login.

Accounts come from `duban users add` (argon2); a session cookie (HttpOnly, SameSite=Strict) names
a stored session with its CSRF token, which every form carries; `leader` accounts read and
never act. Every action goes through the same repo functions as the CLI, audited with the
person's name.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from duban import runtime
from duban.office_views import history
from duban.web.app import (
    DbId,
    PageError,
    db,
    in_thread,
    page,
    read_session,
    render_page,
    small_id,
    web_state,
)
from duban.web.forms import Form, run_in_transaction
from duban.web.office_auth import Clerk, action_form, clerk, safe_next
from duban.web.page_cache import cached_page, stamp_for_pages
from flows.context import flow_context
from models.directory import Unit
from models.people import EvidenceFile
from models.repo.actions import ActionError, answer_extension, decide, get_obligation
from models.repo.boards import duty_record, unreceived
from models.repo.chase import OfficeAction
from models.repo.overview import (
    board,
    deliveries_of,
    directory_rows,
    failed_deliveries,
    open_queue_count,
)
from models.repo.papers import papers_of
from models.repo.queue import (
    QueueError,
    ack_item,
    ack_sheet,
    note_item,
    note_sheet,
    resolve_sheet,
)
from models.repo.queue_page import active_plans, sheet_papers
from models.repo.queue_page import queue_page as read_queue_page
from models.tables import QueueItem
from models.tokens import plan_calendar_key
from schedules.clock import OFFICE_TZ
from schedules.machine import Event

router = APIRouter(include_in_schema=False)
VIA = "office"
QUEUE_PAGE = 50  # rows per table on the queue page (the most severe and oldest first); ?n= more


def _who_key(who: Clerk) -> tuple[str, str]:
    """What a cached page of the console depends on of the person reading it."""
    return who.name, who.user.role


def _today() -> date:
    return runtime.current_time().astimezone(OFFICE_TZ).date()


def _ctx(who: Clerk, csrf: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "me": who.name,
        "role": who.user.role,
        "can_act": who.can_act,
        "csrf": who.session.csrf if csrf is None else csrf,
        "office": runtime.settings().office_name,
        **extra,
    }


@router.get("/office")
async def dashboard(request: Request) -> Response:
    """By plan and by unit: due, overdue, escalated, red/yellow/green; what waits on a person."""
    return await in_thread(_dashboard, request)


def _dashboard(request: Request) -> Response:
    with read_session() as session:
        who, today = clerk(request, session), _today()

        def render(csrf: str) -> str:
            plans = board(session, today, by="plan")
            secret = web_state(request).secret
            for p in plans:
                p["calendar"] = f"/cal/p/{p['id']}.{plan_calendar_key(secret, p['id'])}.ics"
            units = [u for u in board(session, today, by="unit") if u["red"] or u["yellow"]][:30]
            waiting = {
                "submitted": sum(p["submitted"] for p in plans),
                "extension": sum(p["extension"] for p in plans),
                "queue": open_queue_count(session),
            }
            return render_page(
                "office/dashboard.html.j2",
                _ctx(who, csrf, plans=plans, units=units, waiting=waiting, today=today),
            )

        stamp = stamp_for_pages(session.connection())
        return cached_page(stamp, ("dashboard", today, *_who_key(who)), who.session.csrf, render)


@router.get("/office/queue")
async def queue_page(
    request: Request,
    plan: str = "",
    unit: str = "",
    level: str = "",
    done: str = "",
    n: int = QUEUE_PAGE,
) -> Response:
    """What needs a person: reports to accept or send back, extensions to answer, 督办/通报 items."""
    return await in_thread(_queue_page, request, plan, unit, level, done, n)


def _queue_page(request: Request, plan: str, unit: str, level: str, done: str, n: int) -> Response:
    with read_session() as session:
        who = clerk(request, session)
        today = _today()
        n = max(QUEUE_PAGE, min(n, 2000))
        conn = session.connection()
        stamp = stamp_for_pages(conn)  # before any of the page's reads (duban/web/page_cache.py)

        def render(csrf: str) -> str:
            plan_id = small_id(plan)
            unit_id_given = small_id(unit)
            unit_row = session.get(Unit, unit_id_given) if unit_id_given else None
            unit_id = unit_row.id if unit_row else None
            found = read_queue_page(
                session,
                today,
                plan=plan_id,
                unit=unit_id,
                level=int(level) if level in ("2", "3") else None,
                limit=n,
            )
            return render_page(
                "office/queue.html.j2",
                _ctx(
                    who,
                    csrf,
                    **found,
                    # each listed sheet's 督办单 paper(s) (DOCX/PDF links)
                    papers=sheet_papers(conn, found["sheets"]),
                    plans=active_plans(conn),
                    f={"plan": plan, "unit": unit, "level": level},
                    n=n,
                    more=f"/office/queue?plan={plan}&unit={unit}&level={level}&n={n * 4}",
                    unit_name=unit_row.name if unit_row else "",
                    message=DONE.get(done, ""),
                ),
            )

        key = ("queue", today, *_who_key(who), plan, unit, level, done, n)
        return cached_page(stamp, key, who.session.csrf, render)


@router.get("/office/unreceived")
def unreceived_page(who: Clerk = Depends(clerk), session: Session = Depends(db)) -> Response:
    """未签收: 交办 not confirmed within the policy's receipt_days (assessment.receipt_days)."""
    days = flow_context().policies.assessment.receipt_days
    rows = unreceived(session, runtime.current_time(), _today(), receipt_days=days)
    return page("office/unreceived.html.j2", _ctx(who, rows=rows, days=days))


DONE = {
    "accept": "已验收销号。",
    "reject": "已退回重办，单位将收到催办。",
    "grant": "已批准延期，提醒按新日期重新安排。",
    "refuse": "已驳回延期申请。",
    "extend": "已延期。",
    "waive": "已免除。",
    "reopen": "已重新打开。",
    "confirm": "已确认仍需办理。",
    "ack": "已认领。",
    "note": "已添加备注。",
    "sheet_ack": "已认领督办单及其未办结的各项。",
    "sheet_note": "已在督办单上添加备注。",
    "sheet_resolve": "督办单已办结。",
}


@router.get("/office/obligations/{ob_id}")
def obligation_page(
    ob_id: DbId, who: Clerk = Depends(clerk), session: Session = Depends(db), done: str = ""
) -> Response:
    """One duty's whole record: reminders and deliveries, 签收, reports, files, answers, history."""
    try:
        ob = get_obligation(session, ob_id)
    except ActionError as exc:
        raise PageError(str(exc), 404, "找不到") from exc
    unit = session.get(Unit, ob.unit_id)
    duty = duty_record(session, ob_id, _today())
    queue = session.exec(
        select(QueueItem).where(QueueItem.obligation_id == ob_id).order_by(col(QueueItem.level))
    ).all()
    return page(
        "office/obligation.html.j2",
        _ctx(
            who,
            d=duty,
            unit=unit.name if unit else "",
            history=history(session.connection(), ob_id),
            deliveries=deliveries_of(session, ob_id),
            queue=queue,
            papers=papers_of(session, [ob_id]).get(ob_id, []),
            message=DONE.get(done, ""),
        ),
    )


@router.get("/obligations/{ob_id}")
def old_link(ob_id: DbId) -> Response:
    """Links of messages rendered before the portal existed."""
    return RedirectResponse(f"/office/obligations/{ob_id}", status_code=303)


def _date_field(form: Form, name: str) -> date:
    try:
        return date.fromisoformat(form.get(name))
    except ValueError:
        raise PageError("请填写有效的日期。", 400, "未能提交") from None


def _apply(s: Session, who: Clerk, ob_id: int, action: str, form: Form) -> None:
    ob = get_obligation(s, ob_id)
    ctx, now = flow_context(), runtime.current_time()
    reason = form.get("reason").strip()
    if action in ("grant", "refuse", "extend"):
        new_due = (
            _date_field(form, "new_due") if action == "extend" or form.get("new_due") else None
        )
        answer_extension(
            session=s,
            ctx=ctx,
            ob=ob,
            by=who.name,
            grant=action != "refuse",
            reason=reason,
            now=now,
            via=VIA,
            new_due=new_due,
        )
        return
    event = {
        "accept": Event.ACCEPT,
        "reject": Event.REOPEN,
        "reopen": Event.REOPEN,
        "waive": Event.WAIVE,
        "confirm": Event.CONFIRM_OPEN,
    }[action]
    if action in ("reject", "reopen", "waive") and not reason:
        raise ActionError("请填写理由（单位会看到）。")
    decide(session=s, ctx=ctx, ob=ob, act=OfficeAction(event, who.name, reason, via=VIA), now=now)


ACTIONS = ("accept", "reject", "grant", "refuse", "extend", "waive", "reopen", "confirm")


@router.post("/office/obligations/{ob_id}/{action}")
async def act(ob_id: DbId, action: str, request: Request, who: Clerk = Depends(clerk)) -> Response:
    """One of the office's decisions on a duty."""
    if action not in ACTIONS:
        raise PageError("没有这种操作。", 404)
    form = await action_form(request, who)
    try:
        await run_in_transaction(lambda s: _apply(s, who, ob_id, action, form))
    except ActionError as exc:
        raise PageError(str(exc), 409, "未能办理") from exc
    back = safe_next(form.get("back")) if form.get("back") else f"/office/obligations/{ob_id}"
    return _done(back, action)


def _done(back: str, done: str) -> Response:
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done={done}", status_code=303)


@router.post("/office/queue/{item_id}/{action}")
async def queue_act(
    item_id: DbId, action: str, request: Request, who: Clerk = Depends(clerk)
) -> Response:
    """认领 or annotate a 督办/通报 item."""
    if action not in ("ack", "note"):
        raise PageError("没有这种操作。", 404)
    form = await action_form(request, who)
    now = runtime.current_time()

    def work(s: Session) -> None:
        if action == "ack":
            ack_item(session=s, item_id=item_id, by=who.name, now=now)
        else:
            note_item(session=s, item_id=item_id, by=who.name, text=form.get("text"), now=now)

    try:
        await run_in_transaction(work)
    except QueueError as exc:
        raise PageError(str(exc), 409, "未能办理") from exc
    return _done(safe_next(form.get("back") or "/office/queue"), action)


@router.post("/office/queue/sheet/{sheet_id}/{action}")
async def sheet_act(
    sheet_id: DbId, action: str, request: Request, who: Clerk = Depends(clerk)
) -> Response:
    """认领, annotate or close a 督办单 (the sheet and its open lines)."""
    if action not in ("ack", "note", "resolve"):
        raise PageError("没有这种操作。", 404)
    form = await action_form(request, who)
    now = runtime.current_time()

    def work(s: Session) -> None:
        if action == "ack":
            ack_sheet(session=s, sheet_id=sheet_id, by=who.name, now=now)
        elif action == "note":
            note_sheet(session=s, sheet_id=sheet_id, by=who.name, text=form.get("text"), now=now)
        else:
            resolve_sheet(session=s, sheet_id=sheet_id, by=who.name, now=now)

    try:
        await run_in_transaction(work)
    except QueueError as exc:
        raise PageError(str(exc), 409, "未能办理") from exc
    return _done(safe_next(form.get("back") or "/office/queue"), f"sheet_{action}")


@router.get("/office/files/{file_id}")
def office_file(
    file_id: DbId, who: Clerk = Depends(clerk), session: Session = Depends(db)
) -> Response:
    """A 佐证 file, as a download (never rendered inline)."""
    f = session.get(EvidenceFile, file_id)
    if f is None:
        raise PageError("没有这个文件。", 404, "找不到文件")
    return FileResponse(f.path, filename=f.name, content_disposition_type="attachment")


@router.get("/office/directory")
def directory_page(
    who: Clerk = Depends(clerk), session: Session = Depends(db), missing: int = 0
) -> Response:
    """The directory: units, contacts, channels; the units nobody can reach marked (and filtered)."""
    rows = directory_rows(session, missing_only=bool(missing))
    unreachable = sum(1 for r in rows if not r["reachable"])
    return page(
        "office/directory.html.j2",
        _ctx(who, rows=rows, missing=bool(missing), unreachable=unreachable),
    )


@router.get("/office/deliveries")
def deliveries_page(who: Clerk = Depends(clerk), session: Session = Depends(db)) -> Response:
    """Messages that failed and channels that are failing (fix, then `duban notify resend`)."""
    rows = directory_rows(session)
    failing = [{"unit": r["name"], **ch} for r in rows for ch in r["channels"] if ch["failing"]]
    return page(
        "office/deliveries.html.j2",
        _ctx(who, failed=failed_deliveries(session), failing=failing),
    )
