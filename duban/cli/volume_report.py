"""What a run actually sent, as `duban simulate`'s volume figures (read from the audit log).

Every send the tick records is an audit event of its obligation (`assign_sent`, `remind_sent`,
`chase_sent`, `escalated`, with the stage in its data; `receipt_resent` for a 再次交办) at the
tick's instant; the tick groups one unit's items of one pass into one message per audience, so
the same counting as the simulation (`schedules/volume.py`) applies to them. A 再次交办 is a
message of its own (its own notice, beside that pass's reminders): to the unit's contacts, and
for a re-sent 督办 to its head too; it adds no 督办单.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.directory import Unit
from models.tables import AuditEvent, Obligation
from schedules.obligation import (
    STAGE_LEVEL,
    STAGE_RECIPIENTS,
    Action,
    Reason,
    Recipient,
    Stage,
)
from schedules.volume import Volume, measure_volume

RESEND_EVENT = "receipt_resent"  # flows/receipts.ACTION
SEND_EVENTS = ("assign_sent", "remind_sent", "chase_sent", "escalated", RESEND_EVENT)
# The audiences of a re-send by what it re-sends (flows/receipts: the 督办 also to the head).
_RESEND_TO: dict[str, tuple[Recipient, ...]] = {
    "assign": (Recipient.UNIT_CONTACTS,),
    "office": (Recipient.UNIT_CONTACTS, Recipient.UNIT_HEAD),
}


@dataclass(frozen=True)
class _Owed:
    unit: str


@dataclass(frozen=True)
class _Sent:
    obligation: _Owed
    action: Action


def _sent(
    unit: str, stage: Stage, at: datetime, seq: str, to: tuple[Recipient, ...] | None = None
) -> _Sent:
    action = Action(
        stage=stage,
        level=STAGE_LEVEL[stage],
        at=at,
        recipients=STAGE_RECIPIENTS[stage] if to is None else to,
        reason=Reason.NONE,
        seq=seq,
        due=at.date(),
        scheduled_at=at,
    )
    return _Sent(_Owed(unit), action)


def measure_sent(session: Session) -> Volume:
    """The volume figures of everything recorded as sent so far."""
    rows = session.exec(
        select(AuditEvent, Unit.name)
        .join(Obligation, col(Obligation.id) == col(AuditEvent.entity_id))
        .join(Unit, col(Unit.id) == col(Obligation.unit_id))
        .where(AuditEvent.entity == "obligation", col(AuditEvent.action).in_(SEND_EVENTS))
        .order_by(col(AuditEvent.id))
    ).all()
    # One entry per obligation send: measure_volume counts 催办 per obligation by identity.
    owed: dict[int, _Owed] = {}
    sent = []
    for event, unit in rows:
        ob = owed.setdefault(event.entity_id or 0, _Owed(unit))
        seq = event.data.get("seq", "")
        if event.action == RESEND_EVENT:  # counted as a level-0 message: no 催办, no 督办单
            to = _RESEND_TO.get(event.data.get("kind", ""), _RESEND_TO["assign"])
            sent.append(_Sent(ob, _sent(unit, Stage.REMIND, event.at, seq, to).action))
            continue
        stage = Stage(event.data.get("stage", "remind"))
        sent.append(_Sent(ob, _sent(unit, stage, event.at, seq).action))
    return measure_volume(sent)
