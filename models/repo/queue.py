"""The office's escalation queue (督办 / 通报 items): acknowledge, annotate, resolve.

The queue holds one item (line) per obligation and level, and every line sits on a 督办单
(`QueueSheet`): one per unit, level and office day, so a unit whose twenty duties reach 督办 on the
same morning is one sheet for the office. A sheet is taken, noted and closed as a whole (its open
lines with it); it closes by itself when its last open line closes (reported, waived, rolled over).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlmodel import Session, col, select

from models.repo.audit import record_event
from models.tables import QueueItem, QueueSheet
from schedules.clock import OFFICE_TZ

_OPEN = ("open", "acked")


class QueueError(ValueError):
    """A queue operation that does not fit the item's state."""


def _get(session: Session, item_id: int) -> QueueItem:
    item = session.get(QueueItem, item_id)
    if item is None:
        raise QueueError(f"督办队列中没有编号为 {item_id} 的事项")
    return item


def _move(
    session: Session,
    row: QueueItem | QueueSheet,
    status: str,
    by: str,
    now: datetime,
    reason: str = "",
) -> None:
    """Move a queue item or a 督办单 to `status`, audited under its own table's name."""
    before, row.status = row.status, status
    session.add(row)
    record_event(
        session=session,
        at=now,
        actor=by,
        entity=row.__tablename__,
        entity_id=row.id,
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
    session.flush()
    close_done_sheets(session=session, sheet_ids=[item.sheet_id], by=by, now=now, reason=reason)
    return item


# --- 督办单 (sheets) ------------------------------------------------------------------------


def office_day(now: datetime) -> date:
    """The office day an instant belongs to (Shanghai)."""
    return now.astimezone(OFFICE_TZ).date()


def sheet_for(
    *, session: Session, unit_id: int, level: int, now: datetime, actor: str = "duban"
) -> QueueSheet:
    """The unit's sheet at `level` for today's office day, opened (or reopened) if need be. Flushed."""
    day = office_day(now)
    sheet = session.exec(
        select(QueueSheet).where(
            col(QueueSheet.unit_id) == unit_id,
            col(QueueSheet.level) == level,
            col(QueueSheet.office_day) == day,
        )
    ).first()
    if sheet is not None and sheet.status in _OPEN:
        return sheet
    if sheet is None:
        sheet = QueueSheet(unit_id=unit_id, level=level, office_day=day, created_at=now)
        action = "sheet_opened"
    else:  # closed earlier today, a new line comes in
        sheet.status, sheet.resolved_by, sheet.resolved_at = "open", None, None
        action = "open"
    session.add(sheet)
    session.flush()
    record_event(
        session=session,
        at=now,
        actor=actor,
        entity="queue_sheet",
        entity_id=sheet.id,
        action=action,
        to_status="open",
        data={"unit_id": unit_id, "level": level, "office_day": day.isoformat()},
    )
    return sheet


def close_done_sheets(
    *,
    session: Session,
    sheet_ids: Iterable[int | None],
    by: str,
    now: datetime,
    reason: str = "",
) -> list[int]:
    """Close every given sheet that has no open line left (audited); the ids closed."""
    closed = []
    for sheet_id in dict.fromkeys(i for i in sheet_ids if i is not None):
        sheet = session.get(QueueSheet, sheet_id)
        if sheet is None or sheet.status not in _OPEN:
            continue
        still_open = session.exec(
            select(QueueItem.id).where(
                col(QueueItem.sheet_id) == sheet_id, col(QueueItem.status).in_(_OPEN)
            )
        ).first()
        if still_open is not None:
            continue
        before = sheet.status
        sheet.status, sheet.resolved_by, sheet.resolved_at = "resolved", by, now
        session.add(sheet)
        record_event(
            session=session,
            at=now,
            actor=by,
            entity="queue_sheet",
            entity_id=sheet.id,
            action="resolved",
            from_status=before,
            to_status="resolved",
            reason=reason or "督办单上的事项均已办结",
        )
        closed.append(sheet_id)
    session.flush()
    return closed


def _get_sheet(session: Session, sheet_id: int) -> QueueSheet:
    sheet = session.get(QueueSheet, sheet_id)
    if sheet is None:
        raise QueueError(f"督办队列中没有编号为 {sheet_id} 的督办单")
    return sheet


def sheet_lines(session: Session, sheet_id: int, *, open_only: bool = False) -> list[QueueItem]:
    """The sheet's lines (queue items), oldest first."""
    stmt = select(QueueItem).where(col(QueueItem.sheet_id) == sheet_id)
    if open_only:
        stmt = stmt.where(col(QueueItem.status).in_(_OPEN))
    return list(session.exec(stmt.order_by(col(QueueItem.id))).all())


def ack_sheet(*, session: Session, sheet_id: int, by: str, now: datetime) -> QueueSheet:
    """The office takes the whole sheet in hand (认领): the sheet and its open lines."""
    sheet = _get_sheet(session, sheet_id)
    if sheet.status == "resolved":
        raise QueueError(f"督办单 {sheet_id} 已办结，不能认领")
    sheet.acked_by, sheet.acked_at = by, now
    _move(session, sheet, "acked", by, now)
    for item in sheet_lines(session, sheet_id, open_only=True):
        item.acked_by, item.acked_at = by, now
        _move(session, item, "acked", by, now)
    session.flush()
    return sheet


def note_sheet(*, session: Session, sheet_id: int, by: str, text: str, now: datetime) -> QueueSheet:
    """A note on the sheet (one phone call for the unit's whole sheet)."""
    if not text.strip():
        raise QueueError("备注内容不能为空")
    sheet = _get_sheet(session, sheet_id)
    sheet.notes = [*sheet.notes, {"at": now.isoformat(), "by": by, "text": text.strip()}]
    session.add(sheet)
    record_event(
        session=session,
        at=now,
        actor=by,
        entity="queue_sheet",
        entity_id=sheet.id,
        action="noted",
        reason=text.strip(),
    )
    session.flush()
    return sheet


def resolve_sheet(
    *, session: Session, sheet_id: int, by: str, now: datetime, reason: str = ""
) -> QueueSheet:
    """Close the sheet and its open lines (the obligations are closed by accept / waive)."""
    sheet = _get_sheet(session, sheet_id)
    if sheet.status == "resolved":
        raise QueueError(f"督办单 {sheet_id} 已办结")
    for item in sheet_lines(session, sheet_id, open_only=True):
        item.resolved_by, item.resolved_at = by, now
        _move(session, item, "resolved", by, now, reason)
    sheet.resolved_by, sheet.resolved_at = by, now
    _move(session, sheet, "resolved", by, now, reason)
    session.flush()
    return sheet


UNREACHABLE_LEVEL = 0  # a queue item of its own: nobody could be told of this obligation


def queue_unreachable(
    *, session: Session, obligation_ids: list[int], reason: str, now: datetime, actor: str
) -> list[int]:
    """Open (or annotate) an office item for each obligation no channel could reach. Flushed.

    The office has to phone such a unit or fix its directory entry; the item says why.
    """
    from models.tables import Obligation

    opened = []
    note = {"at": now.isoformat(), "by": actor, "text": f"无法送达：{reason}"}
    for ob_id in dict.fromkeys(obligation_ids):
        ob = session.get(Obligation, ob_id)
        if ob is None:
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
        sheet = sheet_for(
            session=session, unit_id=ob.unit_id, level=UNREACHABLE_LEVEL, now=now, actor=actor
        )
        item.sheet_id = sheet.id
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
