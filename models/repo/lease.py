"""The one-sender lease: an atomic compare-and-set on one row, the same on SQLite and PostgreSQL.

APScheduler's job stores must never be shared between schedulers, so two `duban serve` processes
on one database agree through this row instead: only the holder of an unexpired lease sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from models.tables import ServiceLease


def acquire_lease(
    *,
    session: Session,
    name: str,
    holder: str,
    now: datetime,
    ttl: timedelta,
    dead: Callable[[str], bool] | None = None,
) -> bool:
    """Take or renew the lease; True if `holder` now holds it until now + ttl. Commits."""
    return take_lease(session=session, name=name, holder=holder, now=now, ttl=ttl, dead=dead).held


@dataclass(frozen=True)
class Taken:
    """The outcome of asking for the lease: held or not, and whose it was if we took it over."""

    held: bool
    previous: str | None = None  # another holder we took over from (expired, released or dead)


def take_lease(
    *,
    session: Session,
    name: str,
    holder: str,
    now: datetime,
    ttl: timedelta,
    dead: Callable[[str], bool] | None = None,
) -> Taken:
    """Take or renew the lease (wall-clock `now`). Commits.

    `dead(holder)` may say that the current holder is known dead (a process of this machine that
    no longer exists): its lease is taken at once instead of after it expires.
    """
    row = session.get(ServiceLease, name)
    # A released lease has no holder: taking it over is not a takeover (nothing was left behind).
    previous = row.holder if row is not None and row.holder not in (holder, "") else None
    free = or_(col(ServiceLease.holder) == holder, col(ServiceLease.expires_at) <= now)
    if previous is not None and dead is not None and dead(previous):
        free = or_(free, col(ServiceLease.holder) == previous)
    stmt = update(ServiceLease).where(col(ServiceLease.name) == name).where(free)
    if session.exec(stmt.values(holder=holder, expires_at=now + ttl)).rowcount == 1:
        if previous is not None:
            session.execute(
                update(ServiceLease).where(col(ServiceLease.name) == name).values(acquired_at=now)
            )
        session.commit()
        return Taken(True, previous)
    session.commit()
    if row is not None:
        return Taken(False)
    try:
        session.add(ServiceLease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
        session.commit()
    except IntegrityError:  # another process inserted the row first
        session.rollback()
        return Taken(False)
    return Taken(True)


def release_lease(*, session: Session, name: str, holder: str, now: datetime) -> None:
    """Give the lease up at once (clean stop), so a standby takes over without waiting. Commits."""
    stmt = (
        update(ServiceLease)
        .where(col(ServiceLease.name) == name, col(ServiceLease.holder) == holder)
        .values(expires_at=now, holder="")
    )
    session.exec(stmt)
    session.commit()


def lease_holder(*, session: Session, name: str, now: datetime) -> str | None:
    """Who holds the lease now (None when free or expired)."""
    row = session.get(ServiceLease, name)
    if row is None or row.expires_at <= now:
        return None
    return row.holder
