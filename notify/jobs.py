"""One message's worth of work in a pass: a notice through one route, and its delivery rows.

Pure helpers for the pipeline: the claim requests a job makes (one dedupe key per item), the
outcome it records, and the result it reports.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from models.repo.deliveries import ClaimRequest, ClaimResult, Outcome
from notify.breaker import host_of
from notify.keys import build_key
from notify.notice import Item, Notice
from notify.report import JobResult
from notify.retry import Attempt
from notify.targets import Route
from notify.transport import Rendered


@dataclass(frozen=True)
class Job:
    """A notice through one route (channel and recipient), rendered, with its rows to claim."""

    notice: Notice
    route: Route
    recipient_name: str
    content: Rendered
    failing: bool
    requests: tuple[ClaimRequest, ...]


def key_stage(notice: Notice, item: Item) -> str:
    """The stage part of an item's key: the digest is its own stage, not the item's."""
    return "digest" if notice.kind == "digest" else item.stage


# A key another message or pass already handled: delivered, in flight, failed for good, or closed
# as needless (a later message of the same obligation reached the same recipient).
_SKIPPED = {"sent": "sent", "sending": "retry", "failed": "failed", "superseded": "sent"}


def claim_requests(notice: Notice, route: Route, batch: str) -> tuple[ClaimRequest, ...]:
    """One row per item of `notice` through `route`, all sent in message `batch`.

    A 通报 being sent lists no obligation: one row keyed by its document (`bulletin`, `doc<id>`).
    A month's roll-call likewise: one row keyed by its month (`rollcall`, `month2024-09`).
    """
    single = None
    if notice.kind == "bulletin" and notice.bulletin is not None:
        single = ("bulletin", f"doc{notice.bulletin.doc_id}")
    elif notice.kind == "rollcall" and notice.rollcall is not None:
        single = ("rollcall", f"month{notice.rollcall.month}")
    if single is not None:
        stage, seq = single
        key = build_key(
            obligation_id=None,
            stage=stage,
            seq=seq,
            channel=route.channel_key,
            recipient=route.recipient_key,
        )
        return (
            ClaimRequest(
                key=key,
                batch=batch,
                obligation_id=None,
                unit_id=notice.unit_id,
                channel_id=route.channel_id,
                stage=stage,
                seq=seq,
                channel_type=route.target.kind,
                recipient=route.recipient,
            ),
        )
    out = []
    for item in notice.items:
        stage = key_stage(notice, item)
        key = build_key(
            obligation_id=item.obligation_id,
            stage=stage,
            seq=item.seq,
            channel=route.channel_key,
            recipient=route.recipient_key,
        )
        out.append(
            ClaimRequest(
                key=key,
                batch=batch,
                obligation_id=item.obligation_id,
                unit_id=notice.unit_id,
                channel_id=route.channel_id,
                stage=stage,
                seq=item.seq,
                channel_type=route.target.kind,
                recipient=route.recipient,
            )
        )
    return tuple(out)


def outcome_of(job: Job, claim: ClaimResult, attempt: Attempt) -> Outcome:
    """What to record on the rows this job owns."""
    return Outcome(
        ids=tuple(claim.claimed[r.key] for r in job.requests if claim.owns(r)),
        batch=job.requests[0].batch,
        ok=attempt.ok,
        attempts=attempt.attempts,
        duration_ms=attempt.duration_ms,
        error=attempt.error,
        permanent=attempt.permanent,
        ref=attempt.result.ref if attempt.result else None,
        # Not sent because the service stopped: the next pass takes it first.
        retry_after=timedelta(0) if attempt.deferred == "stop" else None,
    )


def result_of(job: Job, claim: ClaimResult, attempt: Attempt | None, flag: str | None) -> JobResult:
    """The job's line in the report; `attempt` is None when it had nothing of its own to send."""
    skipped = tuple(
        (r.obligation_id or 0, _SKIPPED[claim.skipped[r.key]])
        for r in job.requests
        if r.key in claim.skipped
    )
    base = JobResult(
        unit_id=job.notice.unit_id,
        channel=job.route.target.kind,
        channel_id=job.route.channel_id,
        recipient=job.route.recipient,
        status="duplicate",
        item_status=skipped,
        host=host_of(job.route.target),
    )
    if attempt is None:
        in_flight = any(claim.skipped.get(r.key) == "sending" for r in job.requests)
        return replace(base, status="in_flight" if in_flight else "duplicate")
    outcome = "sent" if attempt.ok else ("failed" if attempt.permanent else "retry")
    claimed = tuple((r.obligation_id or 0, outcome) for r in job.requests if claim.owns(r))
    return replace(
        base,
        status="sent" if attempt.ok else "failed",
        deferred=attempt.deferred,
        repeat=attempt.ok and any(r.key in claim.repeats for r in job.requests if claim.owns(r)),
        item_status=skipped + claimed,
        attempts=attempt.attempts,
        error=attempt.error,
        permanent=attempt.permanent,
        flag=flag,
    )
