"""What units and the office do to an obligation: one code path for the CLI and the pages.

Each function takes the caller's session (nothing commits here), applies the state machine's
event through `apply_decision` (chase re-planned, audited) and writes the rows that go with it:
the submission and its 佐证 files, the extension request and the office's answer, 签收, progress.
A state the event does not fit raises `ActionError` with a message a person can read.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, and_, col, or_, select

from models.people import EvidenceFile, ProgressReport, Receipt
from models.repo.audit import record_event
from models.repo.chase import OfficeAction, apply_decision
from models.repo.evidence import EvidenceStore, Staged
from models.tables import ExtensionRequest, Milestone, Obligation, Plan, Submission, Task
from models.types import clean_text
from schedules.clock import OFFICE_TZ
from schedules.machine import EVENT_LABEL, SOURCES, STATUS_LABEL, Event, TransitionError
from schedules.obligation import CHASED_STATUSES
from schedules.progress import PROGRESS_REF
from schedules.rules import ObligationState, Status

if TYPE_CHECKING:
    from flows.context import FlowContext

MAX_TEXT = 4000


class ActionError(ValueError):
    """An action refused; the message says why, in the words of the pages and the CLI."""


def get_obligation(session: Session, ob_id: int, *, unit_id: int | None = None) -> Obligation:
    """The obligation, or `ActionError`; with `unit_id`, only if that unit owes it."""
    ob = session.get(Obligation, ob_id)
    if ob is None or (unit_id is not None and ob.unit_id != unit_id):
        raise ActionError(f"没有找到编号为 {ob_id} 的任务（或不属于本单位）")
    return ob


def decide(
    *, session: Session, ctx: FlowContext, ob: Obligation, act: OfficeAction, now: datetime
) -> ObligationState:
    """Apply one event with the obligation's own policy (re-plans the chase, audits)."""
    ms, tk, plan = (
        session.get(Milestone, ob.milestone_id),
        session.get(Task, ob.task_id),
        session.get(Plan, ob.plan_id),
    )
    assert ms is not None and tk is not None and plan is not None
    try:
        return apply_decision(
            session=session,
            ob=ob,
            act=act,
            policy=ctx.policy_for(plan, tk, ms),
            cal=ctx.calendar,
            now=now,
        )
    except TransitionError as exc:
        status = Status(ob.status)
        if status in SOURCES[act.event]:
            raise ActionError(str(exc)) from exc  # the event fits; its data does not
        raise ActionError(
            f"任务 #{ob.id} 当前为「{STATUS_LABEL[status]}」，不允许「{EVENT_LABEL[act.event]}」"
        ) from exc


def _text(value: str, what: str, *, required: bool) -> str:
    value = clean_text(value or "").strip()
    if required and not value:
        raise ActionError(f"请填写{what}")
    if len(value) > MAX_TEXT:
        raise ActionError(f"{what}过长（最多 {MAX_TEXT} 字）")
    return value


def submit_done(
    *,
    session: Session,
    ctx: FlowContext,
    ob: Obligation,
    by: str,
    note: str,
    files: list[Staged],
    store: EvidenceStore,
    now: datetime,
    via: str,
) -> Submission:
    """The unit reports the duty done, with 佐证 files already staged and checked."""
    note = _text(note, "完成情况说明", required=False)
    act = OfficeAction(Event.SUBMIT, by, note, via=via)
    decide(session=session, ctx=ctx, ob=ob, act=act, now=now)
    store.check_quota(session, ob.unit_id, sum(f.size for f in files))
    sub = Submission(obligation_id=ob.id or 0, by=by, note=note, at=now)
    session.add(sub)
    session.flush()
    kept: list[dict[str, object]] = []
    paths = []
    for f in files:
        path = store.keep(f, ob.unit_id)
        paths.append(path)
        row = EvidenceFile(
            submission_id=sub.id or 0,
            obligation_id=ob.id or 0,
            unit_id=ob.unit_id,
            name=f.name,
            kind=path.suffix.lstrip("."),
            size=f.size,
            sha256=f.digest.hexdigest(),
            path=str(path),
            at=now,
        )
        session.add(row)
        kept.append({"name": row.name, "size": row.size, "sha256": row.sha256})
    if kept:  # the first file also on the submission row, as the CLI always kept it
        sub.file_name, sub.file_sha256 = files[0].name, files[0].digest.hexdigest()
        sub.file_path = str(paths[0])
        record_event(
            session=session,
            at=now,
            actor=by,
            entity="obligation",
            entity_id=ob.id,
            action="evidence_added",
            data={"submission_id": sub.id, "files": kept, "via": via},
        )
    session.flush()
    return sub


def request_extension(
    *,
    session: Session,
    ctx: FlowContext,
    ob: Obligation,
    by: str,
    new_due: date,
    reason: str,
    now: datetime,
    via: str,
) -> ExtensionRequest:
    """The unit asks for a later due date; the chase goes on until the office answers."""
    reason = _text(reason, "延期理由", required=True)
    if new_due <= ob.due_on:
        raise ActionError(f"申请的新截止日 {new_due} 必须晚于现截止日 {ob.due_on}")
    decide(
        session=session,
        ctx=ctx,
        ob=ob,
        act=OfficeAction(Event.REQUEST_EXTENSION, by, reason, new_due, via=via),
        now=now,
    )
    req = ExtensionRequest(
        obligation_id=ob.id or 0,
        requested_due=new_due,
        reason=reason,
        requested_by=by,
        requested_at=now,
    )
    session.add(req)
    session.flush()
    return req


def answer_extension(
    *,
    session: Session,
    ctx: FlowContext,
    ob: Obligation,
    by: str,
    grant: bool,
    reason: str,
    now: datetime,
    via: str,
    new_due: date | None = None,
) -> ExtensionRequest:
    """The office grants (reminders re-planned from the new date) or refuses an extension.

    Granting one nobody asked for (the office extends on its own) records the request first.
    """
    if ob.status != Status.EXTENSION_REQUESTED:
        if not grant:
            raise ActionError(f"任务 #{ob.id} 没有待批的延期申请")
        if new_due is None:
            raise ActionError("请填写新的截止日期")
        request_extension(
            session=session, ctx=ctx, ob=ob, by=by, new_due=new_due, reason=reason, now=now, via=via
        )
    reason = _text(reason, "驳回理由", required=not grant)
    event = Event.GRANT_EXTENSION if grant else Event.REFUSE_EXTENSION
    decide(
        session=session,
        ctx=ctx,
        ob=ob,
        act=OfficeAction(event, by, reason, new_due if grant else None, via=via),
        now=now,
    )
    req = pending_extension(session, ob.id or 0) or ExtensionRequest(
        obligation_id=ob.id or 0,
        requested_due=new_due or ob.due_on,
        requested_by="",
        requested_at=now,
    )
    req.status = "granted" if grant else "refused"
    req.decided_by, req.decided_at, req.decision_reason = by, now, reason
    session.add(req)
    session.flush()
    return req


def pending_extension(session: Session, ob_id: int) -> ExtensionRequest | None:
    """The obligation's open extension request, if any."""
    return session.exec(
        select(ExtensionRequest)
        .where(ExtensionRequest.obligation_id == ob_id, ExtensionRequest.status == "requested")
        .order_by(col(ExtensionRequest.id).desc())
    ).first()


def acknowledge(
    *, session: Session, ob: Obligation, by: str, now: datetime, via: str
) -> tuple[Receipt, bool]:
    """签收: record once when the unit confirmed receipt; returns (receipt, whether it is new)."""
    found = session.exec(select(Receipt).where(Receipt.obligation_id == ob.id)).first()
    if found is not None:
        return found, False
    if ob.status in (Status.ACCEPTED, Status.WAIVED):
        raise ActionError(f"任务 #{ob.id} 已{STATUS_LABEL[Status(ob.status)][1:]}，无需签收")
    row = Receipt(obligation_id=ob.id or 0, by=by, via=via, at=now)
    session.add(row)
    session.flush()
    record_event(
        session=session,
        at=now,
        actor=by,
        entity="obligation",
        entity_id=ob.id,
        action="acknowledged",
        data={"via": via},
    )
    return row, True


def report_progress(
    *, session: Session, ob: Obligation, by: str, text: str, now: datetime, via: str
) -> ProgressReport:
    """A progress note (进展) on an open duty; the chase is not paused by it."""
    text = _text(text, "进展情况", required=True)
    if ob.status in (Status.ACCEPTED, Status.WAIVED):
        raise ActionError(f"任务 #{ob.id} 已办结，无需报送进展")
    row = ProgressReport(obligation_id=ob.id or 0, by=by, text=text, at=now)
    session.add(row)
    session.flush()
    record_event(
        session=session,
        at=now,
        actor=by,
        entity="obligation",
        entity_id=ob.id,
        action="progress_reported",
        reason=text,
        data={"via": via},
    )
    return row


def current_progress_reports(
    session: Session, unit_id: int, plan_ids: set[int], now: datetime
) -> list[Obligation]:
    """The unit's periodic report of the period under way, one per plan of `plan_ids`: duban's
    进展报告 or, for a unit that carries the plan's own recurring report (001's 每月26日前, which
    then stands for its 进展报告), that report. In each plan the earliest occurrence still chased
    whose period has begun (its lead time starts on or before today): a later period's report is
    never closed early, however often the unit writes."""
    if not plan_ids:
        return []
    today = now.astimezone(OFFICE_TZ).date()
    rows = session.exec(
        select(Obligation)
        .join(Task, col(Task.id) == col(Obligation.task_id))
        .join(Milestone, col(Milestone.id) == col(Obligation.milestone_id))
        .where(
            Obligation.unit_id == unit_id,
            or_(
                Task.ref == PROGRESS_REF,
                and_(col(Milestone.is_report).is_(True), col(Milestone.rrule).is_not(None)),
            ),
            col(Obligation.plan_id).in_(sorted(plan_ids)),
            col(Obligation.status).in_(sorted(CHASED_STATUSES)),
        )
        .order_by(col(Obligation.plan_id), col(Obligation.due_on), col(Obligation.id))
    ).all()
    current: dict[int, Obligation] = {}
    for ob in rows:
        if ob.starts_on is None or ob.starts_on <= today:
            current.setdefault(ob.plan_id, ob)
    return list(current.values())


def submit_progress_form(
    *,
    session: Session,
    ctx: FlowContext,
    unit_id: int,
    notes: dict[int, str],
    by: str,
    store: EvidenceStore,
    now: datetime,
    via: str,
) -> list[Obligation]:
    """The unit's periodic progress report, one form with a row per open duty: each row's text is
    a progress note on its duty, and the unit's current periodic report in each plan of those
    duties (`current_progress_reports`) is reported (报送, for the office to accept) with the
    notes as its text. Returns the reports."""
    duties = {ob_id: get_obligation(session, ob_id, unit_id=unit_id) for ob_id in notes}
    for ob_id, text in sorted(notes.items()):
        report_progress(session=session, ob=duties[ob_id], by=by, text=text, now=now, via=via)
    reports = current_progress_reports(
        session, unit_id, {ob.plan_id for ob in duties.values()}, now
    )
    refs = {
        t.id: t.ref
        for t in session.exec(
            select(Task).where(col(Task.id).in_({ob.task_id for ob in duties.values()}))
        )
    }
    for report in reports:
        lines = [
            f"任务 {refs.get(ob.task_id, '')}：{notes[ob.id or 0]}"
            if ob.id != report.id
            else notes[ob.id or 0]
            for ob in duties.values()
            if ob.plan_id == report.plan_id
        ]
        text = "\n".join(lines)
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 1] + "…"
        submit_done(
            session=session, ctx=ctx, ob=report, by=by, note=text, files=[],
            store=store, now=now, via=via,
        )  # fmt: skip
    return reports
