"""The tick's last step: messages still pending are settled or tried again, on their own.

A message that failed transiently keeps its delivery rows `failed`, not permanent. Usually the
tick's rounds try it again, because its obligation waits for it (notify/report: a stage counts as
delivered only when every route is settled). Some pending rows have no such carrier: a message
reclaimed from a crashed sender after its obligation moved on, a digest, a resend. This step
(1) closes the rows nothing should send any more (their obligation was reported or closed, or a
later message of the same obligation reached the same recipient: `superseded`), (2) gives up on
rows still undelivered after the bound (default 24 h: a permanent failure, shown to the office),
and (3) re-sends the rest whose retry time has come, rebuilt as the messages they were
(flows/resend), through the same pipeline, at most `limit` rows per tick.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flows.context import flow_context
from flows.resend import resend_deliveries
from models.db import session_scope
from models.repo.deliveries import pending_due, settle_pending
from notify.notice import Notice
from notify.report import DeliveryReport
from notify.resend import RESENDABLE

ACTOR = "自动重试"


@dataclass
class PendingSummary:
    """What the step did."""

    superseded: int = 0
    given_up: int = 0
    retried: int = 0  # rows tried again
    report: DeliveryReport = field(default_factory=DeliveryReport)


def retry_pending(
    now: datetime,
    *,
    give_up_after: timedelta,
    limit: int = 500,
    stop: threading.Event | None = None,
) -> PendingSummary:
    """Settle pending rows, then try again those whose time has come (module docstring)."""
    from flows.delivery import pipeline

    ctx, out = flow_context(), PendingSummary()
    with session_scope(ctx.engine) as session:
        settled = settle_pending(
            session=session, now=now, give_up_after=give_up_after, chased=RESENDABLE, actor=ACTOR
        )
        out.superseded, out.given_up = len(settled.superseded), len(settled.given_up)
        rows = pending_due(session=session, now=now, limit=limit)
        session.expunge_all()
    if not rows or (stop is not None and stop.is_set()):
        return out

    def deliver(notices: list[Notice], at: datetime) -> DeliveryReport:
        out.report = pipeline().deliver(notices, now=at, stop=stop)
        return out.report

    resend_deliveries(
        engine=ctx.engine,
        ctx=ctx,
        rows=rows,
        skipped={},
        deliver=deliver,
        office_email=ctx.send.office_email,
        by=ACTOR,
        now=now,
        mark=False,
    )
    out.retried = len(rows)
    return out
