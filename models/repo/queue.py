"""The office's escalation queue (督办 / 通报 items): acknowledge, annotate, resolve."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from models.repo.audit import record_event
from models.tables import QueueItem


class QueueError(ValueError):
    """A queue operation that does not fit the item's state."""


def _get(session: Session, item_id: int) -> QueueItem:
    item = session.get(QueueItem, item_id)
    if item is None:
        raise QueueError(f"督办队列中没有编号为 {item_id} 的事项")
    return item


def _move(
    session: Session, item: QueueItem, status: str, by: str, now: datetime, reason: str = ""
) -> None:
    before, item.status = item.status, status
    record_event(
        session=session,
        at=now,
        actor=by,
        entity="queue_item",
        entity_id=item.id,
        action=status,
        from_status=before,
        to_status=status,
        reason=reason,
    )


def ack_item(*, session: Session, item_id: int, by: str, now: datetime) -> QueueItem:
    """The office takes the item in hand (认领)."""
    item = _get(session, item_id)
    if item.status == "resolved":
        raise QueueError(f"事项 {item_id} 已办结，不能认领")
    item.acked_by, item.acked_at = by, now
    _move(session, item, "acked", by, now)
    return item


def note_item(*, session: Session, item_id: int, by: str, text: str, now: datetime) -> QueueItem:
    """Add a note (phone call made, unit promised a date …)."""
    if not text.strip():
        raise QueueError("备注内容不能为空")
    item = _get(session, item_id)
    item.notes = [*item.notes, {"at": now.isoformat(), "by": by, "text": text.strip()}]
    record_event(
        session=session,
        at=now,
        actor=by,
        entity="queue_item",
        entity_id=item.id,
        action="noted",
        reason=text.strip(),
    )
    return item


def resolve_item(
    *, session: Session, item_id: int, by: str, now: datetime, reason: str = ""
) -> QueueItem:
    """Close the item (the obligation itself is closed by accept / waive)."""
    item = _get(session, item_id)
    if item.status == "resolved":
        raise QueueError(f"事项 {item_id} 已办结")
    item.resolved_by, item.resolved_at = by, now
    _move(session, item, "resolved", by, now, reason)
    return item


UNREACHABLE_LEVEL = 0  # a queue item of its own: nobody could be told of this obligation


def queue_unreachable(
    *, session: Session, obligation_ids: list[int], reason: str, now: datetime, actor: str
) -> list[int]:
    """Open (or annotate) an office item for each obligation no channel could reach. Flushed.

    The office has to phone such a unit or fix its directory entry; the item says why.
    """
    from sqlmodel import col, select

    from models.tables import Obligation

    opened = []
    note = {"at": now.isoformat(), "by": actor, "text": f"无法送达：{reason}"}
    for ob_id in dict.fromkeys(obligation_ids):
        if session.get(Obligation, ob_id) is None:
            continue
        item = session.exec(
            select(QueueItem).where(
                col(QueueItem.obligation_id) == ob_id, col(QueueItem.level) == UNREACHABLE_LEVEL
            )
        ).first()
        if item is not None and item.status != "resolved":
            item.notes = [*item.notes, note]
            session.add(item)
            continue
        if item is None:
            item = QueueItem(obligation_id=ob_id, level=UNREACHABLE_LEVEL, created_at=now)
        item.status, item.notes = "open", [*(item.notes or []), note]
        session.add(item)
        session.flush()
        record_event(
            session=session,
            at=now,
            actor=actor,
            entity="queue_item",
            entity_id=item.id,
            action="opened_unreachable",
            to_status="open",
            reason=note["text"],
            data={"obligation_id": ob_id},
        )
        opened.append(item.id or 0)
    session.flush()
    return opened
