"""Re-send failed deliveries now: rebuild their notices, mark them retryable (audited), deliver.

Three steps, the first two before anything is sent: (1) read the rows, their obligations and the
units' current directory entries and plan the notices (`notify.resend`); (2) in one transaction
mark the rows re-sent under their own key failed-not-permanent, one `resend_requested` audit
event each (actor: who asked); (3) deliver through the normal pipeline, then read back what each
row became. Rows already sent are never sent again: the dedupe key guarantees it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from flows.context import FlowContext
from flows.tick import make_item
from models.db import session_scope
from models.repo import resend as repo
from models.tables import Delivery
from notify.notice import STAGE_NAMES, Item, Notice
from notify.report import DeliveryReport
from notify.resend import Failed, Planned, ResendPlan, item_level, plan_resend
from notify.targets import load_units
from schedules.clock import OFFICE_TZ

Deliver = Callable[[list[Notice], datetime], DeliveryReport]
# How bad a row's outcome is, to summarise a message by its worst row.
SEVERITY = (
    "skipped",
    "covered",
    "sent",
    "replaced",
    "would_resend",
    "sending",
    "retry",
    "taken",
    "failed",
    "refused",
)


@dataclass
class RowOutcome:
    """What became of one delivery row."""

    id: int
    outcome: str  # would_resend sent replaced covered retry sending failed refused taken skipped
    detail: str = ""


@dataclass
class MessageOutcome:
    """One failed message (its original batch) and what became of its rows."""

    batch: str
    unit: str
    channel_type: str
    channel_id: int | None
    recipient: str
    items: list[str] = field(default_factory=list)
    rows: list[RowOutcome] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """The worst row's outcome."""
        return max((r.outcome for r in self.rows), key=SEVERITY.index, default="skipped")


@dataclass
class ResendReport:
    """Everything a resend did (or, with `dry_run`, would do)."""

    dry_run: bool
    messages: list[MessageOutcome] = field(default_factory=list)
    also_sent: list[str] = field(default_factory=list)  # other recipients reached by the notices
    recovered: list[int] = field(default_factory=list)  # channels whose flag a success cleared
    unreached: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def ok(self) -> bool:
        """Nothing failed again and nothing was refused."""
        bad = {"failed", "refused", "retry"}
        return not self.unreached and all(m.outcome not in bad for m in self.messages)


def label(item: Item) -> str:
    """One line naming an item: plan, task, milestone, stage."""
    stage = STAGE_NAMES.get(item.stage, item.stage)
    return (
        f"《{item.plan_title}》任务{item.task_ref} {item.task_title} · {item.milestone}（{stage}）"
    )


def resend_deliveries(
    *,
    engine: Engine,
    ctx: FlowContext,
    rows: Sequence[Delivery],
    skipped: Mapping[int, str],
    deliver: Deliver | None,
    office_email: str,
    by: str,
    now: datetime,
    mark: bool = True,
) -> ResendReport:
    """Re-send the failed `rows` now (`deliver` None: a dry run, nothing written or sent).

    `skipped` holds rows the caller named but that are not failed (id → why), to report.
    `mark` False: the rows are already retryable (the tick's retry of pending messages), so no
    `resend_requested` event is written for them.
    """
    report = ResendReport(dry_run=deliver is None)
    with session_scope(engine) as session:
        shown = [*rows, *repo.deliveries_by_id(session, skipped).values()]
        obs = repo.obligation_rows(session, (r.obligation_id for r in shown if r.obligation_id))
        entries = load_units(session, (r.unit_id for r in rows if r.unit_id is not None))
        names = repo.unit_names(session, (r.unit_id for r in shown))
        described = [_failed(ctx, r, obs, now) for r in shown]

        def lookup(keys: Sequence[str]) -> dict[str, str]:
            return {k: d.status for k, d in repo.deliveries_by_key(session, keys).items()}

        plan = plan_resend(
            described[: len(rows)], entries, office_email=office_email, lookup=lookup
        )
    messages = _messages(shown, described, names)
    outcomes: dict[int, RowOutcome] = {
        i: RowOutcome(i, "skipped", why) for i, why in skipped.items()
    }
    outcomes.update({r.row_id: RowOutcome(r.row_id, "refused", r.reason) for r in plan.refused})
    if deliver is None:
        for p in plan.planned:
            outcomes[p.row_id] = RowOutcome(p.row_id, "would_resend", _where(p, future=True))
        return _finish(report, messages, outcomes)
    reason = f"{by} 要求重发：渠道修复后重新发送失败的消息"
    by_id = {r.id: r for r in rows}
    with session_scope(engine) as session:
        retry = [by_id[i] for i in plan.retry_ids()]
        marked = (
            repo.mark_for_resend(session, retry, now=now, actor=by, reason=reason)
            if mark
            else [r.id or 0 for r in retry]
        )
        for p in plan.planned:
            if p.covered:
                to = {k: "sent" for k in p.replaced_by}
                repo.note_replaced(
                    session, by_id[p.row_id], now=now, actor=by, reason=reason, to=to
                )
                outcomes[p.row_id] = RowOutcome(p.row_id, "covered", _where(p, future=False))
    for i in set(plan.retry_ids()) - set(marked):
        outcomes[i] = RowOutcome(i, "taken", "该投递的状态已变化（他处已处理），未重发")
    sending = set(marked) | {p.row_id for p in plan.planned if p.replaced_by and not p.covered}
    notices = plan.notices(sending)
    if notices:
        delivered = deliver(notices, now)
        report.summary = delivered.summary()
        _note_pipeline(report, delivered, plan, names)
    _read_back(engine, plan, sending, outcomes, by=by, now=now, reason=reason)
    return _finish(report, messages, outcomes)


def _failed(
    ctx: FlowContext, row: Delivery, obs: Mapping[int, repo.ObligationRow], now: datetime
) -> Failed:
    ob_row = obs.get(row.obligation_id or 0)
    item, ob_unit, status = None, None, None
    if ob_row is not None:
        ob = ob_row[0]
        ob_unit, status = ob.unit_id, ob.status
        stage_level = item_level(row.stage, ob.escalation_level)
        if stage_level is not None:
            stage, level = stage_level
            today = now.astimezone(OFFICE_TZ).date()
            item = make_item(ctx, ob_row, stage=stage, seq=row.seq, level=level, today=today)
    return Failed(
        row_id=row.id or 0,
        key=row.key,
        batch=row.batch,
        unit_id=row.unit_id,
        channel_type=row.channel_type,
        stage=row.stage,
        seq=row.seq,
        item=item,
        obligation_unit_id=ob_unit,
        obligation_status=status,
    )


def _messages(
    rows: Sequence[Delivery], failed: Sequence[Failed], names: Mapping[int, str]
) -> dict[int, MessageOutcome]:
    """Row id → its message (original batch), shared by the rows of one batch."""
    items = {f.row_id: f.item for f in failed}
    by_batch: dict[str, MessageOutcome] = {}
    out: dict[int, MessageOutcome] = {}
    for r in sorted(rows, key=lambda d: d.id or 0):
        unit = names.get(r.unit_id or 0, "办公室") if r.unit_id is not None else "办公室"
        msg = by_batch.setdefault(
            r.batch, MessageOutcome(r.batch, unit, r.channel_type, r.channel_id, r.recipient)
        )
        item = items.get(r.id or 0)
        msg.items.append(label(item) if item else f"义务 #{r.obligation_id}（{r.stage}）")
        out[r.id or 0] = msg
    return out


def _where(p: Planned, *, future: bool) -> str:
    to = "、".join(f"{r.target.kind} {r.recipient}" for r in p.routes)
    if p.covered:
        return f"原收件人已不在目录中；{to} 已收到此消息，记为已改投"
    if p.replaced_by:
        return f"原收件人已不在目录中，{'将' if future else ''}改发给 {to}"
    return f"将重发到 {to}" if future else f"已重发到 {to}"


def _note_pipeline(
    report: ResendReport, delivered: DeliveryReport, plan: ResendPlan, names: Mapping[int, str]
) -> None:
    ours = {(r.target.kind, r.recipient) for p in plan.planned for r in p.routes}
    for r in delivered.results:
        if r.status == "sent" and (r.channel, r.recipient) not in ours:
            unit = names.get(r.unit_id or 0, "办公室")
            report.also_sent.append(f"{unit} {r.channel} {r.recipient}")
        if r.flag == "recovered" and r.channel_id is not None:
            report.recovered.append(r.channel_id)
    report.unreached = [f"{u.unit_name}: {u.reason}" for u in delivered.unreached]


def _read_back(
    engine: Engine,
    plan: ResendPlan,
    sending: set[int],
    outcomes: dict[int, RowOutcome],
    *,
    by: str,
    now: datetime,
    reason: str,
) -> None:
    """Each sent row's state after delivery; close replaced rows whose stand-ins have rows."""
    wanted = [p for p in plan.planned if p.row_id in sending]
    with session_scope(engine) as session:
        own = repo.deliveries_by_id(session, (p.row_id for p in wanted if not p.replaced_by))
        stand = repo.deliveries_by_key(session, (k for p in wanted for k in p.replaced_by))
        for p in wanted:
            if not p.replaced_by:
                outcomes[p.row_id] = _state(p, [own[p.row_id]] if p.row_id in own else [])
                continue
            got = [stand[k] for k in p.replaced_by if k in stand]
            outcomes[p.row_id] = _state(p, got)
            if got:
                old = repo.deliveries_by_id(session, [p.row_id])[p.row_id]
                to = {d.key: d.status for d in got}
                repo.note_replaced(session, old, now=now, actor=by, reason=reason, to=to)
                if outcomes[p.row_id].outcome == "sent":
                    outcomes[p.row_id].outcome = "replaced"


def _state(p: Planned, rows: Sequence[Delivery]) -> RowOutcome:
    if not rows:
        return RowOutcome(p.row_id, "failed", "未能发出（见上方无法送达的原因）")
    worst = max(rows, key=lambda d: ("superseded", "sent", "sending", "failed").index(d.status))
    if worst.status in ("sent", "superseded"):
        return RowOutcome(p.row_id, "sent", _where(p, future=False))
    if worst.status == "sending":
        return RowOutcome(p.row_id, "sending", "发送结果尚未记录")
    if worst.permanent:
        return RowOutcome(p.row_id, "failed", worst.last_error or "永久性错误")
    return RowOutcome(p.row_id, "retry", f"{worst.last_error}（临时错误，可稍后再次重发）")


def _finish(
    report: ResendReport, messages: Mapping[int, MessageOutcome], outcomes: Mapping[int, RowOutcome]
) -> ResendReport:
    seen: dict[str, MessageOutcome] = {}
    for row_id, msg in messages.items():
        if row_id in outcomes:
            msg.rows.append(outcomes[row_id])
        seen.setdefault(msg.batch, msg)
    report.messages = list(seen.values())
    return report
