"""The office's overview: counts by plan and by unit, the directory's gaps, failing deliveries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, literal_column
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.directory import Channel, Contact, Unit
from models.repo.boards import CLOSED, LATE_DAYS, SOON_DAYS, local_time, rag_of
from models.tables import Delivery, Obligation, ObligationCount, Plan, QueueItem


def _bucket_sql(today: date, due: Any) -> Any:
    return case(
        (due < today - timedelta(days=LATE_DAYS), "late"),
        (due < today, "slight"),
        (due <= today + timedelta(days=SOON_DAYS), "soon"),
        else_="later",
    )


def board_statement(today: date, by: str) -> Any:
    """The dashboard's one statement: `obligation_count` of the active plans by key and bucket."""
    counts = ObligationCount.__table__.c  # type: ignore[attr-defined]
    key = counts.plan_id if by == "plan" else counts.unit_id
    bucket = _bucket_sql(today, counts.due_on)
    plan = Plan.__table__.c  # type: ignore[attr-defined]
    active = sa_select(plan.id).where(plan.status == "active")
    # grouped by the output column's name: the CASE is evaluated once a row (SQLite would
    # compute the repeated expression again, its bound dates being other parameters)
    return (
        sa_select(
            key, counts.status, counts.escalated, bucket.label("due_bucket"), func.sum(counts.n)
        )
        .where(counts.plan_id.in_(active.scalar_subquery()))
        .group_by(key, counts.status, counts.escalated, literal_column("due_bucket"))
    )


def fold_board(found: Iterable[tuple[int, str, bool, str, int]]) -> dict[int, dict[str, Any]]:
    """(key, status, escalated, due bucket, count) rows → one row of figures per key: total,
    red/yellow/green/done, overdue, due soon, escalated, waiting to be accepted, extensions."""
    acc: dict[int, dict[str, Any]] = {}
    figures = ("total", "red", "yellow", "green", "done", "overdue", "escalated")
    for k, status, esc, bkt, n in found:
        row = acc.setdefault(
            k, {"id": k} | dict.fromkeys((*figures, "submitted", "extension", "due_soon"), 0)
        )
        rag = rag_of(status, bool(esc), bkt)
        row["total"] += n
        row[rag] += n
        open_ = status not in CLOSED and status != "submitted"
        row["overdue"] += n if open_ and bkt in ("late", "slight") else 0
        row["due_soon"] += n if open_ and bkt == "soon" else 0
        row["escalated"] += n if open_ and esc else 0
        row["submitted"] += n if status == "submitted" else 0
        row["extension"] += n if status == "extension_requested" else 0
    return acc


def board(session: Session, today: date, *, by: str) -> list[dict[str, Any]]:
    """Counts per plan (`by="plan"`) or per unit (`by="unit"`): by status group and colour.

    Read from `obligation_count` (kept by triggers in every write's transaction, migration
    0022): a few thousand rows summed by due-date bucket, the same figures as grouping every
    obligation of the active plans (`tests/flows/test_dashboard_counts.py` checks both).
    """
    found = session.connection().execute(board_statement(today, by)).all()
    acc = fold_board((k, status, esc, bkt, int(n)) for k, status, esc, bkt, n in found)
    names = _names(session, by, list(acc))
    out = [r | {"name": names.get(r["id"], str(r["id"]))} for r in acc.values()]
    out.sort(key=lambda r: (-r["red"], -r["yellow"], r["name"]))
    return out


def _names(session: Session, by: str, ids: list[int]) -> dict[int, str]:
    """The names of `ids`: every active plan's title, or every unit's name (the directory is a
    few thousand rows; one read without 2,000 bound ids is cheaper than an IN list of them)."""
    if not ids:
        return {}
    if by == "plan":
        plan = Plan.__table__.c  # type: ignore[attr-defined]
        stmt = sa_select(plan.id, plan.title).where(plan.status == "active")
    else:
        unit = Unit.__table__.c  # type: ignore[attr-defined]
        stmt = sa_select(unit.id, unit.name)
    return {int(i): str(name) for i, name in session.connection().execute(stmt).all()}


def deliveries_of(session: Session, ob_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The messages sent about a duty and what became of them."""
    return [
        {
            "at": local_time(d.sent_at or d.created_at),
            "stage": d.stage,
            "channel": d.channel_type,
            "recipient": d.recipient,
            "status": d.status,
            "error": d.last_error or "",
        }
        for d in session.exec(
            select(Delivery)
            .where(Delivery.obligation_id == ob_id)
            .order_by(col(Delivery.id).desc())
            .limit(limit)
        ).all()
    ]


def open_queue_count(session: Session) -> int:
    """How many 督办/通报 items are not resolved."""
    return int(
        session.exec(
            select(func.count()).select_from(QueueItem).where(col(QueueItem.status) != "resolved")
        ).one()
    )


def directory_rows(session: Session, *, missing_only: bool = False) -> list[dict[str, Any]]:
    """Every unit with how it is reached: contacts with an address, channels, failing ones.

    Four statements for the whole directory (not four per unit). `missing_only` keeps the units
    nobody can reach: no contact with an e-mail or a mobile and no robot channel.
    """
    units = session.exec(select(Unit).order_by(col(Unit.name))).all()
    contacts: dict[int, list[Contact]] = {}
    for c in session.exec(select(Contact).order_by(col(Contact.id))).all():
        contacts.setdefault(c.unit_id, []).append(c)
    channels: dict[int, list[Channel]] = {}
    for ch in session.exec(select(Channel).order_by(col(Channel.id))).all():
        channels.setdefault(ch.unit_id, []).append(ch)
    open_counts = dict(
        session.exec(
            select(Obligation.unit_id, func.count())
            .where(col(Obligation.status).not_in(CLOSED))
            .group_by(col(Obligation.unit_id))
        ).all()
    )
    out = []
    for u in units:
        cs, chs = contacts.get(u.id or 0, []), channels.get(u.id or 0, [])
        robots = [ch for ch in chs if ch.type != "email" and ch.enabled]
        reachable = any(c.email or c.mobile for c in cs) or bool(robots)
        if missing_only and reachable:
            continue
        out.append(
            {
                "id": u.id,
                "name": u.name,
                "kind": u.kind,
                "pending": u.status == "pending",
                "contacts": [
                    {
                        "name": c.name,
                        "role": c.role,
                        "email": c.email or "",
                        "mobile": c.mobile or "",
                    }
                    for c in cs
                ],
                "channels": [
                    {
                        "type": ch.type,
                        "enabled": ch.enabled,
                        "failing": ch.failing,
                        "error": ch.last_error or "",
                        "since": local_time(ch.failing_since),
                    }
                    for ch in chs
                ],
                "reachable": reachable,
                "open": int(open_counts.get(u.id or 0, 0)),
            }
        )
    return out


def failed_deliveries(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """The newest deliveries that failed for good (a fix and `duban notify resend` are needed)."""
    rows = session.exec(
        select(Delivery, Unit.name)
        .join(Unit, col(Unit.id) == col(Delivery.unit_id), isouter=True)
        .where(col(Delivery.status) == "failed")
        .order_by(col(Delivery.id).desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": d.id,
            "at": local_time(d.created_at),
            "unit": name or "",
            "obligation_id": d.obligation_id,
            "stage": d.stage,
            "channel": d.channel_type,
            "recipient": d.recipient,
            "attempts": d.attempts,
            "permanent": d.permanent,
            "error": d.last_error or "",
        }
        for d, name in rows
    ]
