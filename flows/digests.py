"""Digests: the office's daily digest and the leaders' weekly summary.

Both are built from duban's state at `now` and delivered through the same pipeline, with dedupe keys
per day (office) or week (leaders), so a second run on the same day sends nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from prefect import flow
from sqlmodel import Session, col, select

from flows.context import FlowContext, flow_context
from flows.runner import in_worker_thread
from flows.tick import make_item
from models.directory import Unit
from models.repo.units import find_unit
from models.tables import Milestone, Obligation, Plan, Task, TaskUnit
from notify.config import SendConfig
from notify.notice import Audience, Item, Notice
from schedules.clock import OFFICE_TZ, parse_aware

OPEN_STATUSES = ("open", "reminded", "overdue", "escalated", "reopened", "extension_requested")
STAGE_OF_LEVEL = {0: "remind", 1: "chase", 2: "office", 3: "leader"}


def _item(ctx: FlowContext, row: Any, today: date, seq: str) -> Item:
    level = row[0].escalation_level
    return make_item(ctx, row, stage=STAGE_OF_LEVEL[level], seq=seq, level=level, today=today)


def _open_rows(
    session: Session, *, due_to: date, min_level: int = 0, task_ids: list[int] | None = None
) -> Any:
    stmt = (
        select(Obligation, Milestone, Task, Plan, Unit)  # type: ignore[call-overload]  # sqlmodel types select() for at most 4 entities
        .join(Milestone, col(Milestone.id) == col(Obligation.milestone_id))
        .join(Task, col(Task.id) == col(Obligation.task_id))
        .join(Plan, col(Plan.id) == col(Obligation.plan_id))
        .join(Unit, col(Unit.id) == col(Obligation.unit_id))
        .where(Plan.status == "active", col(Obligation.status).in_(OPEN_STATUSES))
        .where(col(Obligation.due_on) <= due_to, col(Obligation.escalation_level) >= min_level)
        .where(Obligation.role == "lead")
    )
    if task_ids is not None:
        stmt = stmt.where(col(Obligation.task_id).in_(task_ids))
    return session.exec(stmt.order_by(col(Unit.name), col(Obligation.due_on))).all()


def office_unit_id(send: SendConfig, session: Session) -> int | None:
    """Where the office's own notices go: None means DUBAN_OFFICE_EMAIL (when it is set), else the
    directory's office unit (kind office; the one named like DUBAN_OFFICE_NAME first), else None."""
    if send.office_email:
        return None
    offices = session.exec(
        select(Unit).where(Unit.kind == "office", Unit.status == "active").order_by(col(Unit.name))
    ).all()
    named = [u for u in offices if send.office_name in u.name]
    chosen = named[0] if named else offices[0] if offices else None
    return chosen.id if chosen is not None else None


def build_office_digest(ctx: FlowContext, session: Session, now: datetime) -> Notice | None:
    """Everything overdue (escalations first in the template) and everything due this week, by unit."""
    today = now.astimezone(OFFICE_TZ).date()
    week_end = today + timedelta(days=6 - today.weekday())
    rows = _open_rows(session, due_to=week_end)  # everything overdue, and what falls due this week
    items = tuple(_item(ctx, r, today, f"digest@{today.isoformat()}") for r in rows)
    if not items:
        return None
    office = office_unit_id(ctx.send, session)
    return Notice(
        unit_id=office,
        audience=Audience.OFFICE,
        items=items,
        kind="digest",
        notes=delivery_notes(session),
    )


def delivery_notes(session: Session) -> tuple[str, ...]:
    """The digest's lines on messages that wait for a retry or failed for good, per host."""
    from models.repo.deliveries import delivery_troubles
    from models.repo.resend import select_failed

    failed = [r.id or 0 for r in select_failed(session)]
    lines = []
    for t in delivery_troubles(session=session, failed_ids=failed)[:10]:
        where = "邮件服务器" if t.channel_type == "email" else f"{t.channel_type} {t.host}"
        since = t.since.astimezone(OFFICE_TZ).strftime("%m-%d %H:%M") if t.since else ""
        lines.append(
            f"{where}：待重试 {t.waiting} 条、永久失败 {t.failed} 条（自 {since} 起），"
            f"最近错误：{(t.last_error or '无')[:120]}"
        )
    if failed:
        lines.append(
            "永久失败的消息不会自动重发：修复渠道后运行 duban notify failed / duban notify resend"
        )
    return tuple(lines)


def build_leader_summaries(
    ctx: FlowContext,
    session: Session,
    now: datetime,
    *,
    only: set[int] | None = None,
    seq: str | None = None,
) -> list[Notice]:
    """For each leader named on a task: that task's escalated items (督办 and above), grouped.

    This is how leaders hear of what is late (at most weekly): the default policy sends no 通报
    per item (`leader_at: 0`), and items only 1–2 working days overdue (催办) are the unit's.
    """
    today = now.astimezone(OFFICE_TZ).date()
    week = seq or f"week@{today.isocalendar().year}-W{today.isocalendar().week:02d}"
    by_leader: dict[int, list[int]] = {}
    for tu in session.exec(select(TaskUnit).where(TaskUnit.role == "leader")).all():
        unit = find_unit(session=session, name=tu.name)
        if unit is not None and unit.id is not None and unit.status == "active":
            if only is not None and unit.id not in only:
                continue
            by_leader.setdefault(unit.id, []).append(tu.task_id)
    notices = []
    for leader_id, task_ids in sorted(by_leader.items()):
        rows = _open_rows(session, due_to=today, min_level=2, task_ids=task_ids)
        items = tuple(_item(ctx, r, today, week) for r in rows)
        if items:
            notices.append(
                Notice(unit_id=leader_id, audience=Audience.LEADER, items=items, kind="digest")
            )
    return notices


def deliver_each(notices: list[Notice], now: datetime) -> dict[str, Any]:
    """Deliver each notice on its own pass, so that what is reported is what happened to it:
    `delivered` counts the notices that reached someone (now or earlier the same day or week),
    `undelivered` names the others (no address, every channel failing, or still to retry)."""
    from flows.delivery import deliver_notices

    delivered, undelivered, messages = 0, [], {}  # type: ignore[var-annotated]
    with Session(flow_context().engine) as session:
        names = {n.unit_id: _unit_name(session, n.unit_id) for n in notices}
    for notice in notices:
        result = deliver_notices([notice], now)
        for key, count in result.counts.items():  # numbers, and numbers per host
            if isinstance(count, dict):
                merged = messages.setdefault(key, {})
                for host, n in count.items():
                    merged[host] = merged.get(host, 0) + n
            elif isinstance(count, int):
                messages[key] = messages.get(key, 0) + count
        if "sent" in result.outcome.values():
            delivered += 1
        else:
            status = "稍后重试" if "retry" in result.outcome.values() else "未送达"
            who = names.get(notice.unit_id) or flow_context().send.office_name
            undelivered.append(f"{who}（{status}）")
    return {
        "notices": len(notices),
        "items": sum(len(n.items) for n in notices),
        "delivered": delivered,
        "undelivered": undelivered,
        "messages": messages,
    }


def leaders_joined(at: datetime, leader_ids: set[int]) -> dict[str, Any]:
    """Leaders that were pending and are now in the directory get at once what is still pending
    for them: their tasks' escalated items (督办 and above), as the weekly summary would list them
    (once per leader and day; the weekly summary goes on as usual)."""
    if not leader_ids:
        return {"notices": 0, "items": 0, "delivered": 0, "undelivered": [], "messages": {}}
    ctx = flow_context()
    today = at.astimezone(OFFICE_TZ).date()
    with Session(ctx.engine) as session:
        notices = build_leader_summaries(
            ctx, session, at, only=leader_ids, seq=f"joined@{today.isoformat()}"
        )
    return deliver_each(notices, at)


def office_preview(session: Session, notice: Notice, at: datetime) -> tuple[str, str, str]:
    """Who would receive a notice to the office (its unit's routes, or DUBAN_OFFICE_EMAIL) and
    how it reads: (recipients, subject, text). Nothing is claimed or sent."""
    from notify.channels import office_info
    from notify.render import Renderer
    from notify.targets import load_units, routes_for

    ctx = flow_context()
    units = load_units(session, [notice.unit_id]) if notice.unit_id else {}
    entry = units.get(notice.unit_id) if notice.unit_id else None
    name = entry.unit.name if entry else ctx.send.office_name
    routes = routes_for(notice, entry, ctx.send.office_email)
    to = "、".join(r.recipient for r in routes) or (
        "无人可收（请设置 DUBAN_OFFICE_EMAIL，或在单位目录中加入类型为办公室的本单位及其邮箱）"
    )
    rendered = Renderer(office_info(ctx.send), ctx.send.templates_dir).render(
        notice, recipient_name=name, at=at, formats=("subject", "text")
    )
    return to, rendered.subject, rendered.text


def preview_office_digest(at: datetime) -> str | None:
    """Today's office digest as its recipients would read it (text), with who would get it; None
    when nothing is open or due this week. Nothing is claimed or sent."""
    ctx = flow_context()
    with Session(ctx.engine) as session:
        notice = build_office_digest(ctx, session, at)
        if notice is None:
            return None
        to, subject, text = office_preview(session, notice, at)
    workday = ctx.calendar.is_workday(at.astimezone(OFFICE_TZ).date())
    when = "" if workday else "（今天不是工作日，服务不会发送日报）\n"
    return f"{when}收件人: {to}\n主题: {subject}\n\n{text}"


@flow(name="duban-daily-digest")
async def daily_digest_flow(now: str, check_day: bool = True) -> dict[str, Any]:
    """Send the office's daily digest (working days only).

    Args:
        now: the logical time (ISO 8601 with offset).
        check_day: skip on a non-working day (False when the periodic rules said it is due).

    Returns:
        Counts of notices and items sent, or why nothing was sent.
    """
    return await in_worker_thread(daily_digest, parse_aware(now), check_day)


@flow(name="duban-weekly-summary")
async def weekly_summary_flow(now: str, check_day: bool = True) -> dict[str, Any]:
    """Send each responsible leader a summary of what is late (first working day of the week).

    Args:
        now: the logical time (ISO 8601 with offset).
        check_day: skip unless today is the week's first working day (False when caught up).

    Returns:
        Counts of notices and items sent, or why nothing was sent.
    """
    return await in_worker_thread(weekly_summary, parse_aware(now), check_day)


def daily_digest(at: datetime, check_day: bool = True) -> dict[str, Any]:
    """The daily digest flow's body (sync)."""
    ctx = flow_context()
    if check_day and not ctx.calendar.is_workday(at.astimezone(OFFICE_TZ).date()):
        return {"skipped": "非工作日"}
    with Session(ctx.engine) as session:
        notice = build_office_digest(ctx, session, at)
    return deliver_each([notice] if notice else [], at)


def weekly_summary(at: datetime, check_day: bool = True) -> dict[str, Any]:
    """The weekly summary flow's body (sync)."""
    ctx = flow_context()
    today = at.astimezone(OFFICE_TZ).date()
    monday = today - timedelta(days=today.weekday())
    first = ctx.calendar.workday_on_or_after(monday)
    if check_day and today != first:
        return {"skipped": f"本周第一个工作日是 {first.isoformat()}"}
    with Session(ctx.engine) as session:
        notices = build_leader_summaries(ctx, session, at)
    return deliver_each(notices, at)


def _unit_name(session: Session, unit_id: int | None) -> str:
    unit = session.get(Unit, unit_id) if unit_id else None
    return unit.name if unit is not None else ""
