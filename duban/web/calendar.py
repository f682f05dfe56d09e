"""Calendar feeds (RFC 5545) by secret URL: a unit's deadlines and a plan's, with reminders.

`/cal/u/<token>.ics`: the unit's open duties; the token is signed for calendars only (it never
opens the portal), lasts ten years and dies with `duban portal revoke`. `/cal/p/<id>.<key>.ics`:
every open duty of a plan, for the office. Each deadline is an all-day event with two alarms:
five days before, and at 09:00 the day before.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session, col

from duban import runtime
from duban.web.app import DbId, PageError, Web, db, web_state
from models.directory import Unit
from models.labels import ROLE_LABEL
from models.repo.boards import CLOSED, joined_duties
from models.repo.portal import check_not_revoked
from models.tables import Obligation, Plan
from models.tokens import TokenError, mint_unit_token, plan_calendar_key, read_unit_token
from schedules.machine import STATUS_LABEL
from schedules.rules import Status

router = APIRouter(prefix="/cal", include_in_schema=False)
CALENDAR_YEARS = 10


def calendar_token(web: Web, unit_id: int, now: datetime) -> str:
    """A unit's calendar token (read-only, long-lived, revocable with its portal links)."""
    return mint_unit_token(
        web.secret,
        unit_id,
        issued=now,
        expires=now + timedelta(days=365 * CALENDAR_YEARS),
        purpose="calendar",
    )


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    # Lines of at most 75 octets, never splitting a UTF-8 character (RFC 5545 §3.1).
    out: list[str] = []
    cur = b""
    for ch in line:
        b = ch.encode()
        if len(cur) + len(b) > (75 if not out else 74):
            out.append(cur.decode())
            cur = b""
        cur += b
    out.append(cur.decode())
    return "\r\n ".join(out)


def _event(row: Any, unit_name: str, stamp: str) -> list[str]:
    ob, ms, tk, plan = row
    due: date = ob.due_on
    role = ROLE_LABEL.get(ob.role, ob.role)
    summary = f"【{role}】{tk.ref}. {tk.title}"
    desc = f"{plan.title}\n{ms.label or ms.source_text}\n{unit_name} · {STATUS_LABEL[Status(ob.status)]}"
    lines = [
        "BEGIN:VEVENT",
        f"UID:obligation-{ob.id}@duban",
        f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{due:%Y%m%d}",
        f"DTEND;VALUE=DATE:{due + timedelta(days=1):%Y%m%d}",
        f"SUMMARY:{_escape(summary)}",
        f"DESCRIPTION:{_escape(desc)}",
        "TRANSP:TRANSPARENT",
    ]
    for trigger, words in (("-P5D", "5 天后截止"), ("-PT15H", "明天截止")):
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"TRIGGER:{trigger}",
            f"DESCRIPTION:{_escape(words + '：' + summary)}",
            "END:VALARM",
        ]
    return [*lines, "END:VEVENT"]


def render_ics(name: str, rows: Iterable[tuple[Any, str]], now: datetime) -> str:
    """A VCALENDAR of (obligation row, unit name) pairs."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//duban//督办//ZH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(name)}",
        "X-WR-TIMEZONE:Asia/Shanghai",
    ]
    for row, unit_name in rows:
        lines += _event(row, unit_name, stamp)
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def _ics(text: str) -> Response:
    return Response(text, media_type="text/calendar; charset=utf-8")


@router.get("/u/{token}.ics")
def unit_calendar(
    token: str, session: Session = Depends(db), web: Web = Depends(web_state)
) -> Response:
    """A unit's open deadlines."""
    now = runtime.current_time()
    try:
        tok = read_unit_token(web.secret, token, now=now, purpose="calendar")
        check_not_revoked(session, tok)
    except TokenError as exc:
        raise PageError(str(exc), 403, "日历链接无法打开") from exc
    unit = session.get(Unit, tok.unit_id)
    if unit is None:
        raise PageError("日历链接无效。", 403)
    stmt = joined_duties().where(
        col(Plan.status) == "active",
        col(Obligation.unit_id) == unit.id,
        col(Obligation.status).not_in(CLOSED),
    )
    rows = [(r, unit.name) for r in session.exec(stmt).all()]
    return _ics(render_ics(f"{unit.name} 督办任务", rows, now))


@router.get("/p/{plan_id}.{key}.ics")
def plan_calendar(
    plan_id: DbId, key: str, request: Request, session: Session = Depends(db)
) -> Response:
    """Every open deadline of a plan (the office's calendar)."""
    web = web_state(request)
    plan = session.get(Plan, plan_id)
    if plan is None or key != plan_calendar_key(web.secret, plan_id):
        raise PageError("日历链接无效。", 403, "日历链接无法打开")
    stmt = (
        joined_duties()
        .add_columns(col(Unit.name))
        .join(Unit, col(Unit.id) == col(Obligation.unit_id))
        .where(col(Obligation.plan_id) == plan_id, col(Obligation.status).not_in(CLOSED))
    )
    rows = [((ob, ms, tk, p), name) for ob, ms, tk, p, name in session.execute(stmt).all()]
    return _ics(render_ics(plan.title, rows, runtime.current_time()))
