"""Delivery writes: claim keys before sending, record outcomes, reclaim abandoned sends, flag channels.

The `delivery.key` unique constraint is the dedupe: a claim inserts `sending` rows with
`ON CONFLICT DO NOTHING`, so of two senders (or two passes) only one gets each key. A row left in
`sending` past its lease (the sender died mid-send) is reclaimed: marked for resending and
audited; the next pass that carries its key claims it again (at-least-once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import false, or_, update
from sqlmodel import Session, col, select

from models.directory import Channel
from models.repo.audit import record_event
from models.repo.bulk import insert_rows, one_of, update_rows
from models.tables import Delivery

# A message that failed transiently is tried again by a later pass no sooner than this.
RETRY_AFTER = timedelta(minutes=10)
# Statuses of a row that nothing sends again: delivered, given up for good, or made needless.
SUPERSEDED = "superseded"


@dataclass(frozen=True)
class ClaimRequest:
    """One row to claim: a (obligation, stage, occurrence, channel, recipient) key and its labels."""

    key: str
    batch: str  # the message this row goes out in
    obligation_id: int | None
    unit_id: int | None
    channel_id: int | None
    stage: str
    seq: str
    channel_type: str
    recipient: str


@dataclass
class ClaimResult:
    """Which keys this sender now owns (key → row id, and the batch that sends it), and why the
    others were skipped. Two messages of one pass may carry the same key (a group robot hears
    of an item through the contacts' and the head's notices): only the first batch owns it."""

    claimed: dict[str, int] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)  # key → batch
    skipped: dict[str, str] = field(default_factory=dict)  # key → sent | failed | sending
    repeats: set[str] = field(default_factory=set)  # keys reclaimed from a dead sender: maybe sent

    def owns(self, request: ClaimRequest) -> bool:
        """Whether `request`'s message is the one to send its key."""
        return self.owner.get(request.key) == request.batch


_TABLE = Delivery.__table__  # type: ignore[attr-defined]


def claim_deliveries(
    *,
    session: Session,
    requests: Sequence[ClaimRequest],
    now: datetime,
    lease: timedelta,
) -> ClaimResult:
    """Claim every free key: new keys, and keys whose last send failed transiently.

    Sent keys, permanently failed keys and keys another sender holds are skipped. Commit before
    sending, so every other sender sees the claim.
    """
    result = ClaimResult()
    if not requests:
        return result
    lease_until = now + lease
    constants = {
        "status": "sending",
        "attempts": 0,
        "permanent": False,
        "reclaims": 0,
        "lease_until": lease_until,
        "created_at": now,
    }
    returned = insert_rows(
        session,
        _TABLE,
        [_new_row(r) for r in requests],
        constants=constants,
        skip_conflicts_on="key",
        returning=("id", "key", "batch"),
    )
    for row_id, key, batch in returned:
        result.claimed[key], result.owner[key] = row_id, batch
    batches: dict[str, str] = {}
    for r in requests:
        batches.setdefault(r.key, r.batch)  # the first message carrying a key sends it
    rest = [k for k in batches if k not in result.claimed]
    for row in _existing(session, rest):
        taken = row.status == "failed" and not row.permanent
        if taken and _take(session, row, batches[row.key], lease_until):
            result.claimed[row.key], result.owner[row.key] = row.id or 0, batches[row.key]
            if row.reclaims:
                result.repeats.add(row.key)
        else:
            result.skipped[row.key] = row.status
    session.flush()
    return result


def _new_row(r: ClaimRequest) -> dict[str, Any]:
    return {
        "key": r.key,
        "batch": r.batch,
        "obligation_id": r.obligation_id,
        "unit_id": r.unit_id,
        "channel_id": r.channel_id,
        "stage": r.stage,
        "seq": r.seq,
        "channel_type": r.channel_type,
        "recipient": r.recipient[:500],
    }


def _existing(session: Session, keys: list[str]) -> list[Delivery]:
    return [
        r
        for cond in one_of(session, col(Delivery.key), keys)
        for r in session.exec(select(Delivery).where(cond))
    ]


def _still_pending(row: Delivery) -> Any:
    """UPDATE of `row` only while it is still failed-not-permanent (compare-and-set)."""
    return update(Delivery).where(
        col(Delivery.id) == row.id,
        col(Delivery.status) == "failed",
        col(Delivery.permanent) == false(),
    )


def _take(session: Session, row: Delivery, batch: str, lease_until: datetime) -> bool:
    # Compare-and-set on the state we read: of two senders retrying the same key, one wins.
    stmt = (
        _still_pending(row)
        .values(status="sending", batch=batch, lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Outcome:
    """One message's result, for all of its rows (still held by `batch`)."""

    ids: tuple[int, ...]
    batch: str
    ok: bool
    attempts: int
    duration_ms: int
    error: str | None = None
    permanent: bool = False
    ref: str | None = None
    retry_after: timedelta | None = None  # not retried before this long (a transient failure)


def record_outcomes(*, session: Session, outcomes: Sequence[Outcome], now: datetime) -> None:
    """Record many messages' outcomes in one statement.

    A row another sender has reclaimed since (its batch changed) is left to that sender.
    """
    rows = [
        {
            "id": row_id,
            "batch": o.batch,
            "status": "sent" if o.ok else "failed",
            "attempts": o.attempts,
            "permanent": o.permanent and not o.ok,
            "last_error": None if o.ok else (o.error or "")[:2000],
            "duration_ms": o.duration_ms,
            "sent_at": now if o.ok else None,
            "ref": ((o.ref or "")[:1000] or None) if o.ok else None,
            # A transient failure's row waits here until the retry sweep may take it again.
            "lease_until": None
            if o.ok or o.permanent
            else now + (RETRY_AFTER if o.retry_after is None else o.retry_after),
        }
        for o in outcomes
        for row_id in o.ids
    ]
    update_rows(
        session,
        _TABLE,
        rows,
        match=("id", "batch"),
        increments=("attempts",),
    )


def reclaim_expired(
    *, session: Session, now: datetime, actor: str, everything: bool = False
) -> list[Delivery]:
    """Mark rows stuck in `sending` past their lease for resending, each with an audit event.

    `everything`: every `sending` row, whatever its lease (the sender lease was taken over from a
    dead holder, so nobody else is sending).
    """
    query = select(Delivery).where(col(Delivery.status) == "sending")
    if not everything:
        query = query.where(
            or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now)
        )
    stuck = session.exec(query).all()
    reclaimed = []
    for row in stuck:
        stmt = (
            update(Delivery)
            .where(
                col(Delivery.id) == row.id,
                col(Delivery.status) == "sending",
                col(Delivery.batch) == row.batch,
            )
            .values(
                status="failed",
                permanent=False,
                reclaims=col(Delivery.reclaims) + 1,
                last_error="发送方在租约内未记录结果（可能中途崩溃），已收回待重发",
                lease_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        if not session.execute(stmt).rowcount:  # type: ignore[attr-defined]
            continue  # another sender reclaimed it first
        _audit_reclaim(session, row, now, actor)
        reclaimed.append(row)
    session.flush()
    return reclaimed


def _audit_reclaim(session: Session, row: Delivery, now: datetime, actor: str) -> None:
    audit_delivery(
        session,
        row,
        now=now,
        actor=actor,
        action="reclaimed",
        reason="发送租约已过期，发送结果未记录：收回并重发（至少一次送达）",
        data={"key": row.key, "batch": row.batch, "lease_until": str(row.lease_until)},
        to_status="failed",
    )


def audit_delivery(
    session: Session,
    row: Delivery,
    *,
    now: datetime,
    actor: str,
    action: str,
    reason: str,
    data: dict[str, Any],
    to_status: str | None = None,
) -> None:
    """An audit event on a delivery row: from its status to `to_status` (default: unchanged)."""
    record_event(
        session=session,
        at=now,
        actor=actor,
        entity="delivery",
        entity_id=row.id,
        action=action,
        from_status=row.status,
        to_status=to_status or row.status,
        reason=reason,
        data=data,
    )


def consecutive_permanent_failures(*, session: Session, channel_id: int, limit: int) -> int:
    """How many of the channel's latest messages (batches) failed permanently, newest first."""
    rows = session.exec(
        select(Delivery.batch, Delivery.status, Delivery.permanent)
        .where(col(Delivery.channel_id) == channel_id, col(Delivery.status) != "sending")
        .order_by(col(Delivery.id).desc())
        .limit(limit * 50)
    ).all()
    outcome: dict[str, bool] = {}  # batch → every row failed permanently; in newest-first order
    for batch, status, permanent in rows:
        outcome[batch] = outcome.get(batch, True) and status == "failed" and permanent
    count = 0
    for failed in list(outcome.values())[:limit]:
        if not failed:
            break
        count += 1
    return count


def note_channel_result(
    *,
    session: Session,
    channel_id: int,
    ok: bool,
    error: str | None,
    now: datetime,
    flag_after: int,
    actor: str,
) -> str | None:
    """Flag a channel after `flag_after` consecutive permanent failures; clear it on success.

    Returns "flagged", "recovered" or None, and audits each change for the office.
    """
    channel = session.get(Channel, channel_id)
    if channel is None:
        return None
    if ok:
        if not channel.failing:
            return None
        channel.failing, channel.failing_since, channel.last_error = False, None, None
        _audit_channel(session, channel, now, actor, "channel_recovered", "渠道恢复正常")
        return "recovered"
    channel.last_error = (error or "")[:2000]
    failures = consecutive_permanent_failures(
        session=session, channel_id=channel_id, limit=flag_after
    )
    if channel.failing or failures < flag_after:
        session.flush()
        return None
    channel.failing, channel.failing_since = True, now
    reason = f"连续 {failures} 次永久性发送失败，请检查渠道配置：{channel.last_error}"
    _audit_channel(session, channel, now, actor, "channel_flagged", reason)
    return "flagged"


def _audit_channel(
    session: Session, channel: Channel, now: datetime, actor: str, action: str, reason: str
) -> None:
    session.add(channel)
    record_event(
        session=session,
        at=now,
        actor=actor,
        entity="channel",
        entity_id=channel.id,
        action=action,
        reason=reason,
        data={"unit_id": channel.unit_id, "type": channel.type},
    )


def pending_due(*, session: Session, now: datetime, limit: int) -> list[Delivery]:
    """Rows that failed transiently and may be tried again now (oldest first, at most `limit`)."""
    stmt = (
        select(Delivery)
        .where(
            col(Delivery.status) == "failed",
            col(Delivery.permanent) == false(),
            or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) <= now),
            # A 通报's rows are retried by sending it again, a roll-call's by the next monthly run.
            col(Delivery.stage).not_in(("bulletin", "rollcall")),
        )
        .order_by(col(Delivery.id))
        .limit(limit)
    )
    return list(session.exec(stmt).all())


@dataclass
class Settled:
    """What `settle_pending` closed: rows made needless, and rows given up after the bound."""

    superseded: list[int] = field(default_factory=list)
    given_up: list[int] = field(default_factory=list)


def _route(row: Delivery) -> tuple[int | None, bool, str, str]:
    return (row.obligation_id, row.stage == "digest", row.channel_type, row.recipient)


def settle_pending(
    *,
    session: Session,
    now: datetime,
    give_up_after: timedelta,
    chased: frozenset[str],
    actor: str,
    limit: int = 5000,
) -> Settled:
    """Close the transiently failed rows that nothing should send any more (audited, flushed).

    - superseded: the obligation is no longer chased (reported, accepted, waived), or a later
      message for the same obligation went to the same recipient through the same channel kind
      (catch-up sends the latest stage only; the older one would be stale);
    - given up: still undelivered `give_up_after` after it was first claimed; it becomes a
      permanent failure, shown where the office looks and re-sendable by `duban notify resend`.
    """
    from models.tables import Obligation

    out = Settled()
    pending = list(
        session.exec(
            select(Delivery)
            .where(col(Delivery.status) == "failed", col(Delivery.permanent) == false())
            # A roll-call is tried again by each monthly run while its month is owed: not given up.
            .where(col(Delivery.stage) != "rollcall")
            .order_by(col(Delivery.id))
            .limit(limit)
        ).all()
    )
    if not pending:
        return out
    ob_ids = {r.obligation_id for r in pending if r.obligation_id is not None}
    statuses = {
        i: st
        for cond in one_of(session, col(Obligation.id), ob_ids)
        for i, st in session.exec(select(Obligation.id, Obligation.status).where(cond))
    }
    newest: dict[tuple[int | None, bool, str, str], int] = {}
    for cond in one_of(session, col(Delivery.obligation_id), ob_ids):
        later = select(Delivery).where(
            cond, col(Delivery.status).in_(("sent", "sending", "failed"))
        )
        for r in session.exec(later):
            if r.status == "failed" and r.permanent:
                continue
            key = _route(r)
            newest[key] = max(newest.get(key, 0), r.id or 0)
    oldest = now - give_up_after
    for row in pending:
        status = statuses.get(row.obligation_id or 0)
        if row.obligation_id is not None and (status is None or status not in chased):
            why = "义务已不再催办（已报送、已销号、已免除或已删除），不再重试"
        elif newest.get(_route(row), 0) > (row.id or 0):
            why = "同一收件人已收到该义务更新的消息，旧消息不再重试"
        else:
            why = ""
        if why:
            _close(session, row, now, actor, status=SUPERSEDED, permanent=False, why=why)
            out.superseded.append(row.id or 0)
        elif row.created_at < oldest:
            hours = int(give_up_after.total_seconds() // 3600)
            why = f"超过 {hours} 小时仍未送达，转为失败（最后一次错误：{row.last_error or '无'}）"
            _close(session, row, now, actor, status="failed", permanent=True, why=why)
            out.given_up.append(row.id or 0)
    session.flush()
    return out


def _close(
    session: Session,
    row: Delivery,
    now: datetime,
    actor: str,
    *,
    status: str,
    permanent: bool,
    why: str,
) -> None:
    stmt = (
        _still_pending(row)
        .values(status=status, permanent=permanent, last_error=why[:2000], lease_until=None)
        .execution_options(synchronize_session=False)
    )
    if session.execute(stmt).rowcount:  # type: ignore[attr-defined]
        action = "superseded" if status == SUPERSEDED else "gave_up"
        data = {"key": row.key, "batch": row.batch, "last_error": row.last_error}
        audit_delivery(
            session,
            row,
            now=now,
            actor=actor,
            action=action,
            reason=why,
            data=data,
            to_status=status,
        )


def sending_now(*, session: Session) -> int:
    """How many rows are claimed and not yet recorded (in flight, or left by a dead sender)."""
    from sqlalchemy import func

    return int(
        session.exec(
            select(func.count()).select_from(Delivery).where(col(Delivery.status) == "sending")
        ).one()
    )


@dataclass
class Trouble:
    """Messages waiting or failed on one host (or channel kind), for status, doctor, digests."""

    host: str
    channel_type: str
    waiting: int = 0  # messages pending: failed transiently, tried again later
    failed: int = 0  # messages failed for good, not re-sent yet
    rows: int = 0  # the delivery rows (items) they carry
    since: datetime | None = None  # the oldest of them was first tried then
    last_error: str = ""


def _host(channel_type: str, recipient: str) -> str:
    if "://" in recipient:
        from urllib.parse import urlsplit

        parts = urlsplit(recipient)
        return parts.netloc.rsplit("@", 1)[-1] or channel_type
    return channel_type  # e-mail: one relay for every address


def delivery_troubles(*, session: Session, failed_ids: Sequence[int] = ()) -> list[Trouble]:
    """Pending rows (and the given permanently failed ones) grouped by host, worst first."""
    out: dict[tuple[str, str], Trouble] = {}
    seen: set[tuple[str, bool]] = set()

    def add(row: Delivery, *, pending: bool) -> None:
        host = _host(row.channel_type, row.recipient)
        t = out.setdefault((row.channel_type, host), Trouble(host, row.channel_type))
        t.rows += 1
        if (row.batch, pending) not in seen:  # one message: every row of one batch
            seen.add((row.batch, pending))
            if pending:
                t.waiting += 1
            else:
                t.failed += 1
        if t.since is None or row.created_at < t.since:
            t.since = row.created_at
        t.last_error = row.last_error or t.last_error

    pending = select(Delivery).where(
        col(Delivery.status) == "failed", col(Delivery.permanent) == false()
    )
    for row in session.exec(pending.order_by(col(Delivery.id))):
        add(row, pending=True)
    for cond in one_of(session, col(Delivery.id), set(failed_ids)):
        for row in session.exec(select(Delivery).where(cond).order_by(col(Delivery.id))):
            add(row, pending=False)
    return sorted(out.values(), key=lambda t: (-(t.waiting + t.failed), t.host))


def repeat_count(*, session: Session) -> int:
    """Rows delivered after being reclaimed from a dead sender (possible duplicates)."""
    from sqlalchemy import func

    stmt = (
        select(func.count())
        .select_from(Delivery)
        .where(col(Delivery.status) == "sent", col(Delivery.reclaims) > 0)
    )
    return int(session.exec(stmt).one())
