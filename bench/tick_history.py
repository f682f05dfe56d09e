"""bench_tick's two extra measures: the 再次交办 query per tick and the 督办单 papers per pass.

The tick does both besides claiming and deciding: every tick (in the office window) asks which
交办/督办 were delivered and not 签收 in time (flows/receipts.plan_resends), and a 督办 pass issues
its numbered papers (flows/papers.issue_papers: DOCX + PDF each) before delivering.

History loaded beside the N obligations: each obligation's 交办 was delivered (one `assign`
delivery row, sent). The old ones (the 99 % not due) were sent on 2024-01-15 and 签收 (a receipt
each), as in a database that has run for months; the due ones were sent on 2024-03-22, three days
before NOW, and not 签收: each is a 再次交办 now. The baseline table holds only the due rows and
their history, so the query's ratio says whether it reads the old history on every tick.

Papers: the due rows' actions taken as one 督办 pass (every due item reaches 督办 at once, 200
units): `issue_papers` renders and stores one paper per unit, listing that unit's items.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from bench_db import copy_rows
from sqlalchemy import text
from sqlalchemy.engine import Engine

from models.people import Receipt
from models.tables import Delivery

OLD_SENT = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
RECENT_SENT = datetime(2024, 3, 22, 1, 0, tzinfo=UTC)  # Friday 09:00 Shanghai, 3 days before NOW
DELIVERY_COLUMNS = [
    "key", "batch", "obligation_id", "unit_id", "stage", "seq", "channel_type", "recipient",
    "status", "attempts", "permanent", "reclaims", "created_at", "sent_at",
]  # fmt: skip
RECEIPT_COLUMNS = ["obligation_id", "by", "via", "at"]
DUE_SOON = date(2024, 3, 27)  # bench_tick's due rows (the others are due from June on)


def history_rows(ids: list[tuple[int, int, bool]]) -> Iterator[tuple[Any, ...]]:
    """One sent `assign` delivery per (obligation id, unit id, due now)."""
    for ob, unit, due in ids:
        at = RECENT_SENT if due else OLD_SENT
        yield (
            f"{ob}:assign:assign@x:email:u{unit}@example.gov.cn", "b0", ob, unit, "assign",
            "assign@x", "email", f"u{unit}@example.gov.cn", "sent", 1, False, 0, at, at,
        )  # fmt: skip


def load_history(engine: Engine) -> int:
    """Deliveries for every obligation, a receipt for every old one; returns the rows written."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, unit_id, due_on <= :soon FROM obligation ORDER BY id"),
            {"soon": DUE_SOON},
        ).all()
    ids = [(int(r[0]), int(r[1]), bool(r[2])) for r in rows]
    receipts = ((ob, "单位", "portal", OLD_SENT) for ob, _, due in ids if not due)
    copy_rows(engine, Delivery.__table__, DELIVERY_COLUMNS, history_rows(ids))  # type: ignore[attr-defined]
    copy_rows(engine, Receipt.__table__, RECEIPT_COLUMNS, receipts)  # type: ignore[attr-defined]
    return len(ids)


def time_receipts(now: datetime, repeat: int = 3) -> tuple[float, int]:
    """The 再次交办 step's reading (plan_resends) as a tick runs it: (median s, re-sends due)."""
    from sqlmodel import Session

    from flows.context import flow_context
    from flows.receipts import plan_resends

    times, found = [], 0
    for _ in range(repeat):
        with Session(flow_context().engine) as session:
            t = time.perf_counter()
            found = len(plan_resends(session, now))
            times.append(time.perf_counter() - t)
    return statistics.median(times), found


def time_papers(now: datetime) -> tuple[float, int, int]:
    """One 督办 pass over the due rows: (s, papers issued, items listed)."""
    from sqlmodel import Session

    from flows.context import flow_context
    from flows.papers import issue_papers
    from flows.tick import Planned, _rows, make_item
    from notify.notice import Audience
    from schedules.obligation import Action, Reason, Recipient, Stage
    from schedules.policy import Policy

    ctx = flow_context()
    with Session(ctx.engine) as session:
        ids = [
            int(i)
            for i in session.connection()
            .execute(text("SELECT id FROM obligation WHERE due_on <= :soon"), {"soon": DUE_SOON})
            .scalars()
        ]
        rows = _rows(session, ids)
    planned = []
    today = now.date()
    for row in rows:
        ob, seq = row[0], f"office@{row[0].due_on.isoformat()}"
        action = Action(
            Stage.OFFICE,
            2,
            now,
            (Recipient.UNIT_HEAD,),
            Reason.ESCALATE_OFFICE,
            seq,
            ob.due_on,
            now,
        )
        item = make_item(ctx, row, stage="office", seq=seq, level=2, today=today)
        targets = ((row[4].id, Audience.UNIT_HEAD),)
        planned.append(Planned(ob.id, action, item, targets, Policy(), None))
    t = time.perf_counter()
    made = issue_papers(planned, now)
    return time.perf_counter() - t, made, len(planned)
