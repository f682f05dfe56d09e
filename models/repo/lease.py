"""The one-sender lease: an atomic compare-and-set on one row, the same on SQLite and PostgreSQL.

APScheduler's job stores must never be shared between schedulers, so two `duban serve` processes
on one database agree through this row instead: only the holder of an unexpired lease sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from models.tables import ServiceLease


def acquire_lease(
    *, session: Session, name: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take or renew the lease; True if `holder` now holds it until now + ttl. Commits."""
    stmt = (
        update(ServiceLease)
        .where(col(ServiceLease.name) == name)
        .where(or_(col(ServiceLease.holder) == holder, col(ServiceLease.expires_at) <= now))
        .values(holder=holder, expires_at=now + ttl)
    )
    if session.exec(stmt).rowcount == 1:  # type: ignore[call-overload]
        row = session.get(ServiceLease, name)
        if row is not None and row.acquired_at > now:
            row.acquired_at = now
        session.commit()
        return True
    session.commit()
    if session.get(ServiceLease, name) is not None:
        return False
    try:
        session.add(ServiceLease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
        session.commit()
    except IntegrityError:  # another process inserted the row first
        session.rollback()
        return False
    return True


def release_lease(*, session: Session, name: str, holder: str, now: datetime) -> None:
    """Give the lease up at once (clean stop), so a standby takes over without waiting. Commits."""
    stmt = (
        update(ServiceLease)
        .where(col(ServiceLease.name) == name, col(ServiceLease.holder) == holder)
        .values(expires_at=now)
    )
    session.exec(stmt)  # type: ignore[call-overload]
    session.commit()


def lease_holder(*, session: Session, name: str, now: datetime) -> str | None:
    """Who holds the lease now (None when free or expired)."""
    row = session.get(ServiceLease, name)
    if row is None or row.expires_at <= now:
        return None
    return row.holder
