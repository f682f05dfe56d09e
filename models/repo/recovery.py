"""Taking over from a sender that died: its claims are released and its sends reclaimed at once.

Only the holder of the sender lease claims obligations and deliveries (`duban serve`'s leader and
a one-shot `duban tick` alike). So when the lease is taken over from a holder that did not
release it (it expired, or its process is known dead), every obligation claim and every delivery
row still `sending` is that holder's unfinished work: nobody else can be sending it. Rather than
wait for the 5-minute obligation claim and the 15-minute delivery lease, the new holder takes
them back now; the reclaimed rows are re-sent by its first tick (audited as reclaimed, counted
as possible repeats when delivered).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from models.repo.audit import record_event
from models.repo.deliveries import reclaim_expired
from models.tables import Obligation


@dataclass(frozen=True)
class Recovered:
    """What a takeover took back."""

    claims: int
    deliveries: int


def take_back(*, session: Session, now: datetime, previous: str, actor: str) -> Recovered:
    """Release `previous`'s obligation claims and reclaim every row in `sending`. Commits."""
    table = Obligation.__table__  # type: ignore[attr-defined]
    released = session.connection().execute(
        update(table)
        .where(table.c.lease_until.is_not(None))
        .values(lease_owner=None, lease_until=None)
    )
    claims = int(released.rowcount or 0)
    rows = reclaim_expired(session=session, now=now, actor=actor, everything=True)
    if claims or rows:
        record_event(
            session=session,
            at=now,
            actor=actor,
            entity="service",
            entity_id=None,
            action="takeover",
            reason=(
                f"接管发送租约（原持有者 {previous} 未正常释放）：释放 {claims} 个义务认领，"
                f"收回 {len(rows)} 条未记录结果的发送"
            ),
            data={"previous": previous, "claims": claims, "deliveries": len(rows)},
        )
    session.commit()
    return Recovered(claims, len(rows))
