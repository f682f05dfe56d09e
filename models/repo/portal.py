"""Portal links in the database: revoke one link or all of a unit's, and check a link against it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.directory import Unit
from models.people import PortalRevocation
from models.repo.audit import record_event
from models.tokens import TokenError, UnitToken


def revoke_links(
    *,
    session: Session,
    unit_id: int,
    by: str,
    now: datetime,
    token: UnitToken | None = None,
    reason: str = "",
) -> PortalRevocation:
    """Revoke `token`, or (without one) every link of the unit issued up to now. Audited."""
    row = PortalRevocation(
        unit_id=unit_id,
        token_sig=token.sig if token else None,
        issued_before=None if token else now,
        reason=reason,
        by=by,
        at=now,
    )
    session.add(row)
    session.flush()
    record_event(
        session=session,
        at=now,
        actor=by,
        entity="unit",
        entity_id=unit_id,
        action="portal_links_revoked",
        reason=reason,
        data={"token": token.sig[:8] if token else None, "all_before": now.isoformat()},
    )
    return row


def check_not_revoked(session: Session, token: UnitToken) -> None:
    """Raise `TokenError("revoked")` when the office revoked this link (or all the unit's older ones)."""
    rows = session.exec(
        select(PortalRevocation.token_sig, PortalRevocation.issued_before).where(
            col(PortalRevocation.unit_id) == token.unit_id
        )
    ).all()
    _refuse_revoked(token, rows)


def _refuse_revoked(token: UnitToken, rows: Iterable[tuple[str | None, datetime | None]]) -> None:
    for sig, before in rows:
        if sig == token.sig or (before is not None and token.issued_at <= before):
            raise TokenError(
                "revoked", "链接已被安委办停用：请打开最近收到的消息中的新链接，或联系安委办。"
            )


_UNIT = Unit.__table__  # type: ignore[attr-defined]
_REVOKED = PortalRevocation.__table__  # type: ignore[attr-defined]
_UN, _RV = _UNIT.c, _REVOKED.c
_UNIT_AND_REVOCATIONS = (
    sa_select(_UN.id, _UN.name, _RV.token_sig, _RV.issued_before)
    .select_from(_UNIT.outerjoin(_REVOKED, _RV.unit_id == _UN.id))
    .where(_UN.id == bindparam("unit_id"))
)


def unit_behind(session: Session, token: UnitToken) -> tuple[int, str] | None:
    """The (id, name) of the token's unit, None when it no longer exists; one read, with the
    unit's revocations (raises `TokenError("revoked")` as `check_not_revoked` does)."""
    rows = list(session.connection().execute(_UNIT_AND_REVOCATIONS, {"unit_id": token.unit_id}))
    if not rows:
        return None
    _refuse_revoked(token, [(r.token_sig, r.issued_before) for r in rows])
    return int(rows[0].id), str(rows[0].name)
