"""What a run actually sent, as `duban simulate`'s volume figures (read from the audit log).

Every send the tick records is an audit event of its obligation (`assign_sent`, `remind_sent`,
`chase_sent`, `escalated`, with the stage in its data) at the tick's instant; the tick groups one
unit's items of one pass into one message per audience, so the same counting as the simulation
(`schedules/volume.py`) applies to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.directory import Unit
from models.tables import AuditEvent, Obligation
from schedules.obligation import STAGE_LEVEL, STAGE_RECIPIENTS, Action, Reason, Stage
from schedules.volume import Volume, measure_volume

SEND_EVENTS = ("assign_sent", "remind_sent", "chase_sent", "escalated")


@dataclass(frozen=True)
class _Owed:
    unit: str


@dataclass(frozen=True)
class _Sent:
    obligation: _Owed
    action: Action


def _sent(unit: str, stage: Stage, at: datetime, seq: str) -> _Sent:
    action = Action(
        stage=stage,
        level=STAGE_LEVEL[stage],
        at=at,
        recipients=STAGE_RECIPIENTS[stage],
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
        stage = Stage(event.data.get("stage", "remind"))
        sent.append(_Sent(ob, _sent(unit, stage, event.at, event.data.get("seq", "")).action))
    return measure_volume(sent)
