"""The monthly report cycle: report obligations exist ahead of time; after the 26th the month closes.

Each month each unit owes its report by the 26th (a recurring milestone marked `is_report`). The
chase of those who did not report is the ordinary engine's work; this flow keeps the horizon
materialised, writes the month's roll-call (who reported, who did not) to the audit log once, and
delivers it to the office (its directory unit or DUBAN_OFFICE_EMAIL) through the pipeline: one
delivery row per month and recipient, so restarts and catch-up never send it twice, and a failed
send is tried again by the next run until it reaches the office.
From the first working day of a month it drafts last month's 通报 (models/repo/documents.py), once
per active plan and once for the office across plans, for the office to edit and approve.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from prefect import flow
from sqlmodel import Session, col, select

from flows.context import flow_context
from flows.runner import in_worker_thread
from models.directory import Unit
from models.repo.audit import record_event
from models.tables import AuditEvent, Delivery, Milestone, Obligation, Plan
from notify.notice import Audience, Notice, RollCall
from schedules.clock import OFFICE_TZ, parse_aware
from schedules.report import previous_month

REPORTED = ("submitted", "accepted")
NOT_OWED = ("waived", "to_confirm")


def _month_start(d: date) -> date:
    return d.replace(day=1)


def roll_call(session: Session, month: date) -> dict[str, Any]:
    """Who reported the report obligations that fell due in `month`, and who did not (read-only)."""
    end = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    rows = session.exec(
        select(Obligation, Unit)
        .join(Milestone, col(Milestone.id) == col(Obligation.milestone_id))
        .join(Plan, col(Plan.id) == col(Obligation.plan_id))
        .join(Unit, col(Unit.id) == col(Obligation.unit_id))
        .where(
            col(Milestone.is_report).is_(True), Plan.status == "active", Obligation.role == "lead"
        )
        .where(col(Obligation.occurrence) >= month, col(Obligation.occurrence) < end)
    ).all()
    reported = sorted({u.name for ob, u in rows if ob.status in REPORTED})
    # Waived reports are owed by nobody; those already past when the plan was activated wait for
    # the office to confirm them (to_confirm) and were never asked for.
    missing = sorted(
        {u.name for ob, u in rows if ob.status not in REPORTED and ob.status not in NOT_OWED}
    )
    return {"month": month.strftime("%Y-%m"), "reported": reported, "missing": missing}


def rollcall_notice(session: Session, month: date) -> Notice | None:
    """The month's roll-call as a notice to the office; None when no monthly report fell due."""
    from flows.digests import office_unit_id

    info = roll_call(session, month)
    if not info["reported"] and not info["missing"]:
        return None
    call = RollCall(info["month"], tuple(info["reported"]), tuple(info["missing"]))
    unit = office_unit_id(flow_context().send, session)
    return Notice(unit_id=unit, audience=Audience.OFFICE, items=(), kind="rollcall", rollcall=call)


def rollcall_delivered(session: Session, month: date) -> bool:
    """Whether the month's roll-call already reached the office (a delivery row `sent`)."""
    found = session.exec(
        select(Delivery.id).where(
            Delivery.stage == "rollcall",
            Delivery.seq == f"month{month.strftime('%Y-%m')}",
            Delivery.status == "sent",
        )
    )
    return found.first() is not None


def deliver_rollcall(month: date, at: datetime) -> dict[str, Any] | None:
    """Send the month's roll-call to the office unless it already reached it; None when it did
    (or when no report fell due). What reached whom, as the digests report it."""
    from flows.digests import deliver_each

    with Session(flow_context().engine) as session:
        if rollcall_delivered(session, month):
            return None
        notice = rollcall_notice(session, month)
    if notice is None:
        return None
    return {"month": month.strftime("%Y-%m"), **deliver_each([notice], at)}


def preview_rollcall(month: date, at: datetime) -> str | None:
    """The month's roll-call as the office would read it, with who would get it (nothing sent)."""
    from flows.digests import office_preview

    with Session(flow_context().engine) as session:
        notice = rollcall_notice(session, month)
        if notice is None:
            return None
        to, subject, text = office_preview(session, notice, at)
        sent = rollcall_delivered(session, month)
    state = "已送达办公室" if sent else "尚未发送（每月 26 日后的第一个工作日由定期任务发送）"
    return f"收件人: {to}（{state}）\n主题: {subject}\n\n{text}"


def close_report_month(session: Session, month: date, now: datetime) -> dict[str, Any] | None:
    """Roll-call of the report obligations that fell due in `month`; None if already closed."""
    key = month.strftime("%Y-%m")
    done = session.exec(
        select(AuditEvent.id).where(AuditEvent.action == "month_closed", AuditEvent.reason == key)
    )
    if done.first() is not None:
        return None
    summary = roll_call(session, month)
    record_event(
        session=session,
        at=now,
        actor="duban",
        entity="report_month",
        entity_id=None,
        action="month_closed",
        reason=key,
        data=summary,
    )
    session.commit()
    return summary


@flow(name="duban-monthly-cycle")
async def monthly_cycle_flow(now: str) -> dict[str, Any]:
    """Keep report obligations materialised ahead, and close the month's reports after the 26th.

    Args:
        now: the logical time (ISO 8601 with offset).

    Returns:
        What was materialised and, after the 26th, the month's roll-call (None once closed).
    """
    return await in_worker_thread(monthly_cycle, parse_aware(now))


def monthly_cycle(at: datetime) -> dict[str, Any]:
    """The monthly cycle flow's body (sync)."""
    ctx = flow_context()
    today = at.astimezone(OFFICE_TZ).date()
    out: dict[str, Any] = {"materialised": _materialise_active(at)}
    if today.day > 26:  # reports were due by the 26th: this month's roll-call, once
        with Session(ctx.engine) as session:
            out["closed"] = close_report_month(session, _month_start(today), at)
    else:  # down from the 27th to the month's end: last month's roll-call is recorded now
        late = close_missed_month(previous_month(_month_start(today)), at)
        if late is not None:
            out["closed_late"] = late
    if ctx.calendar.is_workday(today):
        sent = [r for m in rollcall_months(today) if (r := deliver_rollcall(m, at))]
        if sent:
            out["rollcall"] = sent
    if today >= ctx.calendar.workday_on_or_after(_month_start(today)):
        out["bulletins"] = draft_bulletins(previous_month(_month_start(today)), at)
    return out


def close_missed_month(month: date, at: datetime) -> dict[str, Any] | None:
    """Record `month`'s roll-call if no run did (None when one did, or no report fell due)."""
    with Session(flow_context().engine) as session:
        info = roll_call(session, month)
        if not info["reported"] and not info["missing"]:
            return None
        return close_report_month(session, month, at)


def rollcall_months(today: date) -> list[date]:
    """The months whose roll-call may still be owed to the office on `today`: last month (a
    service down from the 27th on catches up), and this month from the 27th. Each is sent once."""
    this = _month_start(today)
    return [previous_month(this), *([this] if today.day > 26 else [])]


def draft_bulletins(month: date, at: datetime) -> list[dict[str, Any]]:
    """Last month's 通报 drafts, from the first working day of this month: one per active plan
    that had obligations, and the office's across plans (each once; a later run finds them)."""
    from models.repo.documents import draft_bulletin
    from models.repo.reports import active_plan_ids, any_rows

    ctx = flow_context()
    made: list[dict[str, Any]] = []
    with Session(ctx.engine) as session:
        plan_ids = active_plan_ids(session.connection())
        scopes: list[int | None] = [p for p in plan_ids if any_rows(session.connection(), [p])]
        if len(scopes) > 1:
            scopes.append(None)
        for plan_id in scopes:
            doc, created = draft_bulletin(session=session, plan_id=plan_id, month=month, now=at)
            if created:
                made.append({"id": doc.id, "scope": doc.scope, "period": doc.period})
        session.commit()
    return made


def _materialise_active(now: datetime) -> int:
    from models.repo.obligations import materialise_active_plans

    ctx = flow_context()
    with Session(ctx.engine) as session:
        created = materialise_active_plans(session=session, ctx=ctx, now=now)
        session.commit()
    return created
