"""The append-only audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.tables import AuditEvent


def record_event(
    *,
    session: Session,
    at: datetime,
    actor: str,
    entity: str,
    entity_id: int | None,
    action: str,
    reason: str = "",
    from_status: str | None = None,
    to_status: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event (flushed, not committed: it shares the caller's transaction)."""
    event = AuditEvent(
        at=at,
        actor=actor,
        entity=entity,
        entity_id=entity_id,
        action=action,
        reason=reason,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
    )
    session.add(event)
    session.flush()
    return event
