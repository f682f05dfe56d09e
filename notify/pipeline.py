"""The delivery pipeline the flows call: render → dedupe → send with retry → record.

For each notice: resolve the unit's enabled channels and recipients, render once, and per
(channel, recipient) claim one delivery row per item (the dedupe key), send only the claimed
items as one message, retry transient failures with backoff, then record status, attempts, error
and duration on the message's rows. A channel failing permanently several times running is
flagged for the office; the other channels go on regardless, so nothing waits silently. Rows a
crashed sender left in `sending` are reclaimed once their lease expires (at-least-once).
"""

from __future__ import annotations

import functools
import itertools
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from models.db import session_scope
from models.repo.audit import record_event
from models.repo.deliveries import (
    ClaimResult,
    claim_deliveries,
    note_channel_result,
    reclaim_expired,
    record_outcomes,
)
from models.repo.papers import paper_files
from models.repo.queue import queue_unreachable
from notify.breaker import HostBreaker, host_of
from notify.channels import build_transports, office_info
from notify.config import SendConfig
from notify.jobs import Job, claim_requests, outcome_of, result_of
from notify.keys import message_key
from notify.notice import Notice
from notify.papers import attachments_of
from notify.render import PORTAL_AUDIENCES, Renderer, RenderError, formats_for
from notify.report import DeliveryReport, JobResult, Unreached
from notify.retry import Attempt, RetrySettings, send_with_retry
from notify.targets import UnitEntry, load_units, routes_for
from notify.transport import Attachment, Message, Transport, TransportError

DEFAULT_LEASE = timedelta(minutes=15)
PAPER_STAGES = frozenset({"office", "chase"})  # items that may carry a 督办单 / 催办单


Finished = tuple[Job, ClaimResult, Attempt]
_Work = tuple[Job, ClaimResult, Callable[[], Attempt]]
_Done = tuple[Job, ClaimResult, Attempt | BaseException]  # what a send returned, or raised


class _Crew:
    """Sender threads and one recorder thread around two plain queues (no futures).

    Senders take (job, claim, send) from the job queue and put what `send` returned (or raised)
    on the finished queue. The recorder records everything finished by then in one transaction:
    group commit without a timer, since while one commit waits on the database (a network round
    trip and an fsync on PostgreSQL) the next messages finish and go in the next one, and the
    main thread goes on rendering and claiming. `room` bounds the messages claimed but not yet
    recorded, so a crash repeats at most that many. Senders start as work arrives, up to
    `workers`.
    """

    def __init__(
        self,
        record: Callable[[list[Finished]], list[JobResult]],
        *,
        workers: int,
        room: int,
        window: float,
    ) -> None:
        self._record = record
        self._window = window
        self._most = max(1, room // 2)
        self._workers = max(1, workers)
        self._jobs: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._finished: queue.SimpleQueue[_Done | None] = queue.SimpleQueue()
        self._room = threading.Semaphore(room)
        self._senders: list[threading.Thread] = []
        self._recorder = threading.Thread(
            target=self._record_loop, name="duban-delivery-recorder", daemon=True
        )
        self._recorder.start()
        self.results: list[JobResult] = []
        self.error: BaseException | None = None  # recording failed: nothing more is recorded
        self.bug: BaseException | None = None  # a send raised: no more sends start

    def submit(self, send: Callable[[], Attempt], job: Job, claim: ClaimResult) -> None:
        """Send `job` once there is room; its result goes to the recorder."""
        self._room.acquire()
        self.check()
        if len(self._senders) < self._workers:
            sender = threading.Thread(
                target=self._send_loop,
                name=f"duban-delivery-sender-{len(self._senders) + 1}",
                daemon=True,
            )
            sender.start()
            self._senders.append(sender)
        self._jobs.put((job, claim, send))

    def close(self) -> list[JobResult]:
        """After the last submit: let every send finish, record it, stop, re-raise any failure."""
        for _ in self._senders:
            self._jobs.put(None)
        for sender in self._senders:
            sender.join()
        self._finished.put(None)
        self._recorder.join()
        self.check()
        return self.results

    def check(self) -> None:
        failure = self.error or self.bug
        if failure is not None:
            raise failure

    def _send_loop(self) -> None:
        while (work := self._jobs.get()) is not None:
            job, claim, send = work
            try:
                outcome: Attempt | BaseException = send()
            except BaseException as exc:  # a bug: re-raised on the caller's thread
                outcome = exc
            self._finished.put((job, claim, outcome))

    def _record_loop(self) -> None:
        done = False
        while not done:
            first = self._finished.get()
            batch = [] if first is None else [first]
            done = first is None
            deadline = time.monotonic() + self._window
            while not done and len(batch) < self._most:
                try:
                    more = self._finished.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    done = True
                else:
                    batch.append(more)
            sent = [(j, c, o) for j, c, o in batch if not isinstance(o, BaseException)]
            if sent and self.error is None:
                try:
                    self.results += self._record(sent)
                except BaseException as exc:  # re-raised on the caller's thread
                    # The rows stay `sending` and are reclaimed after their lease: nothing lost.
                    self.error = exc
            # A send that raised (a bug, not a delivery failure) stops the pass, but what the
            # others sent is still recorded; its own rows are reclaimed after their lease.
            bugs = [o for _, _, o in batch if isinstance(o, BaseException)]
            self.bug = self.bug or (bugs[0] if bugs else None)
            for _ in batch:
                self._room.release()


@dataclass(frozen=True)
class PipelineOptions:
    """Tuning: retries, the claim lease, when to flag a channel, concurrency, audit actor."""

    retry: RetrySettings = field(default_factory=RetrySettings)
    lease: timedelta = DEFAULT_LEASE  # longer than any one message's retries and rate waits
    flag_after: int = 3
    host_threshold: int = 3  # consecutive transient failures that pause a host (notify/breaker)
    host_cool_off: float = 60.0  # seconds a paused host waits before one probe message
    workers: int = 4  # messages in flight at once (robots still wait for their own turn)
    chunk: int = 64  # notices per claim transaction
    record_window: float = 0.05  # seconds: outcomes finishing this close share a transaction
    actor: str = "notify"
    office_email: str = ""  # where office notices go when they name no unit


class Pipeline:
    """Long-lived: holds the transports (their connections and rate limiters) between passes."""

    def __init__(
        self,
        *,
        engine: Engine,
        transports: Mapping[str, Transport],
        renderer: Renderer,
        options: PipelineOptions | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.transports = dict(transports)
        self.renderer = renderer
        self.options = options or PipelineOptions()
        self.sleep = sleep
        self.breaker = HostBreaker(
            threshold=self.options.host_threshold, cool_off=self.options.host_cool_off
        )

    def deliver(
        self,
        notices: Sequence[Notice],
        *,
        now: datetime,
        stop: threading.Event | None = None,
    ) -> DeliveryReport:
        """Deliver `notices` at the instant `now` (aware); return what happened.

        `stop` set (the service is stopping): nothing more is claimed, claimed messages not yet
        started are recorded as not sent (pending, tried first by the next pass), sends in flight
        make no further retry; the call returns once their outcomes are written.

        Notices go in chunks: their messages are rendered (while earlier ones are being sent),
        one transaction claims their rows, a few sender threads send them, and a recorder thread
        records each message as soon as it is done (those finishing together share a
        transaction). A crash loses no message (claimed rows are reclaimed after their lease) and
        repeats only the messages claimed but not yet recorded (at most two chunks).
        """
        if now.tzinfo is None:
            raise ValueError("now 必须带时区 (naive datetimes are rejected)")
        started = time.monotonic()
        report = DeliveryReport()
        self.renderer.refresh()
        # One random id per pass, then a counter: a fresh UUID per message costs a syscall each.
        pass_id = uuid.uuid4().hex[:16]
        batch_ids = (f"{pass_id}-{n}" for n in itertools.count(1))
        with session_scope(self.engine) as session:
            reclaimed = reclaim_expired(session=session, now=now, actor=self.options.actor)
            report.reclaimed = len(reclaimed)
            units = load_units(session, (n.unit_id for n in notices if n.unit_id is not None))
        size = max(1, self.options.chunk)
        crew = _Crew(
            functools.partial(self._record_at, now=now, started=started),
            workers=self.options.workers,
            room=2 * size,
            window=self.options.record_window,
        )
        try:
            for first in range(0, len(notices), size):
                if stop is not None and stop.is_set():
                    report.abandon(notices[first:])
                    break
                jobs = self._plan(notices[first : first + size], units, now, report, batch_ids)
                report.results += self._start(jobs, crew, now, started, stop)
        finally:
            report.results += crew.close()
        if report.unreached:
            self._audit_unreached(report.unreached, now)
        report.template_fallbacks = self.renderer.take_fallbacks()
        if report.template_fallbacks:
            self._audit_fallbacks(report.template_fallbacks, now)
        return report

    def _audit_fallbacks(self, errors: list[str], now: datetime) -> None:
        with session_scope(self.engine) as session:
            for error in errors:
                record_event(
                    session=session,
                    at=now,
                    actor=self.options.actor,
                    entity="template",
                    entity_id=None,
                    action="template_fallback",
                    reason=f"办公室的覆盖模板出错，本轮已改用默认模板发送：{error}",
                    data={"error": error},
                )

    def _plan(
        self,
        notices: Sequence[Notice],
        units: Mapping[int, UnitEntry],
        now: datetime,
        report: DeliveryReport,
        batch_ids: Iterator[str],
    ) -> list[Job]:
        jobs: list[Job] = []
        papers = self._papers(notices)
        for notice in notices:
            entry = units.get(notice.unit_id) if notice.unit_id is not None else None
            name = entry.unit.name if entry else self.renderer.office.name
            obligations = tuple(dict.fromkeys(i.obligation_id for i in notice.items))
            routes = routes_for(notice, entry, self.options.office_email)
            if not routes:
                reason = (
                    "目录中没有该单位"
                    if notice.unit_id and entry is None
                    else "没有可用的渠道或邮箱"
                )
                report.unreached.append(Unreached(notice.unit_id, name, reason, obligations))
                continue
            formats = formats_for({r.target.kind for r in routes})
            try:
                content = self.renderer.render_or_fallback(
                    notice, recipient_name=name, at=now, formats=formats
                )
            except RenderError as exc:
                reason = f"模板错误（永久性）: {exc}"
                report.unreached.append(Unreached(notice.unit_id, name, reason, obligations))
                continue
            # Each paper once, however many of the notice's items it lists.
            listed = (papers.get((i.obligation_id, i.seq), ()) for i in notice.items)
            files = notice.files + tuple(dict.fromkeys(f for fs in listed for f in fs))
            if files:  # the items' 督办单/催办单, the same stored files on every (re)send
                content = replace(content, attachments=files)
            failing = {c.id for c in entry.channels if c.failing} if entry else set()
            for r in routes:
                batch = next(batch_ids)
                requests = claim_requests(notice, r, batch)
                jobs.append(Job(notice, r, name, content, r.channel_id in failing, requests))
        return jobs

    def _papers(self, notices: Sequence[Notice]) -> dict[tuple[int, str], tuple[Attachment, ...]]:
        """The stored papers of the 督办/催办 items the unit's own messages list."""
        pairs = {
            (i.obligation_id, i.seq)
            for n in notices
            if n.audience in PORTAL_AUDIENCES
            for i in n.items
            if i.stage in PAPER_STAGES
        }
        if not pairs:
            return {}
        with session_scope(self.engine) as session:
            found = paper_files(session, pairs)
        made: dict[int, tuple[Attachment, ...]] = {}
        for pid, title, docx, pdf, lines in found.values():
            if pid not in made:
                ref = " ".join(f"{ob}:{seq}" for ob, seq in lines)
                made[pid] = attachments_of(title, docx, pdf, ref)
        return {key: made[found[key][0]] for key in found}

    def _start(
        self,
        jobs: list[Job],
        crew: _Crew,
        now: datetime,
        started: float,
        stop: threading.Event | None = None,
    ) -> list[JobResult]:
        """Claim the jobs' rows and hand the claimed ones to the senders; report the others."""
        if not jobs:
            return []
        with session_scope(self.engine) as session:
            claim = claim_deliveries(
                session=session,
                requests=[r for job in jobs for r in job.requests],
                now=_at(now, started),
                lease=self.options.lease,
            )
        skipped = []
        for job in jobs:
            if any(claim.owns(r) for r in job.requests):
                send = functools.partial(self._send, job, claim, now, started, stop)
                crew.submit(send, job, claim)
            else:
                skipped.append(result_of(job, claim, None, None))
        return skipped

    def _send(
        self,
        job: Job,
        claim: ClaimResult,
        now: datetime,
        started: float,
        stop: threading.Event | None = None,
    ) -> Attempt:
        host = host_of(job.route.target)
        if stop is not None and stop.is_set():
            return Attempt(
                False, 0, 0, error="服务正在停止，本条未发送，下一轮优先发送", deferred="stop"
            )
        if not self.breaker.allow(host, _at(now, started)):
            why = f"发往 {host} 的消息连续失败，暂停发往该主机，稍后自动重试"
            return Attempt(False, 0, 0, error=why, deferred="host")
        keys = [r.key for r in job.requests if claim.owns(r)]
        content = job.content
        if len(keys) < len(job.requests):
            # Some items already went out through this route: the message lists only the rest.
            items = tuple(
                i for i, r in zip(job.notice.items, job.requests, strict=True) if r.key in keys
            )
            subset = replace(job.notice, items=items, kind=job.notice.template)
            formats = formats_for({job.route.target.kind})
            try:
                content = self.renderer.render_or_fallback(
                    subset, recipient_name=job.recipient_name, at=now, formats=formats
                )
            except RenderError as exc:
                return Attempt(False, 0, 0, error=f"模板错误: {exc}", permanent=True)
            refs = {f"{i.obligation_id}:{i.seq}" for i in items}
            files = tuple(f for f in job.content.attachments if refs & set(f.ref.split()))
            content = replace(content, attachments=files)
        transport = self.transports.get(job.route.target.kind)
        if transport is None:
            error = f"未配置渠道类型 {job.route.target.kind} 的发送方式"
            return Attempt(False, 0, 0, error=error, permanent=True)
        msg = Message(content=content, target=job.route.target, at=_at(now, started))

        def observe(error: TransportError | None) -> None:
            transient = error is not None and not error.permanent
            self.breaker.record(
                host,
                ok=error is None,
                transient=transient,
                error=error.message if error else "",
                at=_at(now, started),
            )

        def go_on() -> str | None:
            if stop is not None and stop.is_set():
                return "stop"
            return "host" if self.breaker.is_open(host) else None

        def sleep(seconds: float) -> None:
            if self.sleep is not time.sleep:
                self.sleep(seconds)  # an injected sleep (tests): called once, as asked
                return
            # Real waits end early once the host is paused by other messages or a stop comes.
            end = time.monotonic() + seconds
            while go_on() is None and (left := end - time.monotonic()) > 0:
                if stop is not None:
                    stop.wait(min(0.05, left))
                else:
                    time.sleep(min(0.05, left))

        return send_with_retry(
            transport,
            msg,
            key=message_key(keys),
            retry=self.options.retry,
            sleep=sleep,
            observe=observe,
            go_on=go_on,
        )

    def _record_at(
        self, finished: list[Finished], *, now: datetime, started: float
    ) -> list[JobResult]:
        return self._record(finished, _at(now, started))

    def _record(self, finished: list[Finished], at: datetime) -> list[JobResult]:
        outcomes = [outcome_of(job, claim, attempt) for job, claim, attempt in finished]
        results = []
        with session_scope(self.engine) as session:
            record_outcomes(session=session, outcomes=outcomes, now=at)
            for job, claim, attempt in finished:
                flag, channel_id = None, job.route.channel_id
                if channel_id is not None and (attempt.permanent or (attempt.ok and job.failing)):
                    flag = note_channel_result(
                        session=session,
                        channel_id=channel_id,
                        ok=attempt.ok,
                        error=attempt.error,
                        now=at,
                        flag_after=self.options.flag_after,
                        actor=self.options.actor,
                    )
                results.append(result_of(job, claim, attempt, flag))
        return results

    def _audit_unreached(self, unreached: list[Unreached], now: datetime) -> None:
        with session_scope(self.engine) as session:
            for u in unreached:
                record_event(
                    session=session,
                    at=now,
                    actor=self.options.actor,
                    entity="unit",
                    entity_id=u.unit_id,
                    action="unreachable",
                    reason=f"{u.unit_name}: {u.reason}",
                    data={"obligations": list(u.obligations)},
                )
                if u.unit_id is not None and u.obligations:
                    queue_unreachable(
                        session=session,
                        obligation_ids=list(u.obligations),
                        reason=f"{u.unit_name}: {u.reason}",
                        now=now,
                        actor=self.options.actor,
                    )


def _at(now: datetime, started: float) -> datetime:
    # The pass reads the clock once (`now`); later instants add the monotonic time elapsed.
    return now + timedelta(seconds=time.monotonic() - started)


def build_pipeline(
    config: SendConfig,
    engine: Engine,
    *,
    options: PipelineOptions | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Pipeline:
    """The installation's pipeline: transports and templates from the config."""
    office = office_info(config)
    opts = options or PipelineOptions(office_email=config.office_email)
    return Pipeline(
        engine=engine,
        transports=build_transports(config),
        renderer=Renderer(office, config.templates_dir),
        options=opts,
        sleep=sleep,
    )
