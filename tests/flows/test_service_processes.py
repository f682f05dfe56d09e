"""Real processes: `kill -9` in the middle of a tick, and two `duban serve` on one database."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select
from werkzeug import Request, Response

from duban import runtime
from models.tables import AuditEvent, Delivery, ServiceLease, TickRun
from schedules.clock import OFFICE_TZ
from tests.flows.conftest import Office
from tests.notify.conftest import SmtpSink

DUBAN = str(Path(sys.executable).parent / "duban")
T_REMIND = datetime.combine(date(2024, 9, 19), clock_time(9, 5), tzinfo=OFFICE_TZ)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(("DUBAN_", "PATH", "HOME", "LANG"))}
    env.update(extra)
    return env


def _serve_env() -> dict[str, str]:
    """`duban serve` on the pinned clock, running on, with a 3 s lease and a tick a second."""
    return _env(
        DUBAN_NOW=T_REMIND.isoformat(),
        DUBAN_NOW_RUNNING="1",
        DUBAN_LEASE_TTL="3",
        DUBAN_LEASE_RENEW="1",
        DUBAN_TICK_SECONDS="1",
    )


def _wait(what: Callable[[], bool], timeout: float, why: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if what():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {why}")


def _rows(stmt):  # type: ignore[no-untyped-def]
    with Session(runtime.engine()) as s:
        return list(s.exec(stmt).all())


def test_it_loses_nothing_when_killed_mid_tick_and_repeats_at_most_the_in_flight_message(
    office: Office,
) -> None:
    release = threading.Event()
    received: list[str] = []

    def slow(request: Request) -> Response:
        received.append(request.headers.get("Idempotency-Key", ""))
        release.wait(30)  # the first sender is killed while waiting here
        return Response('{"ok": true}', content_type="application/json")

    office.hook.clear()
    office.hook.expect_request("/hook", method="POST").respond_with_handler(slow)
    proc = subprocess.Popen(
        [DUBAN, "tick"],
        env=_env(DUBAN_NOW=T_REMIND.isoformat()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    in_flight = select(Delivery).where(
        Delivery.status == "sending", Delivery.channel_type == "webhook"
    )
    _wait(lambda: bool(_rows(in_flight)) and bool(received), 60, "the webhook send to be in flight")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    # What was in flight at the kill: claimed, not yet recorded. Only these may be sent twice.
    in_flight_rows = _rows(select(Delivery).where(Delivery.status == "sending"))
    flying = {r.recipient for r in in_flight_rows}
    release.set()
    # After the delivery lease (15 min) the next tick reclaims and sends the in-flight messages again.
    later = T_REMIND.replace(minute=30).isoformat()
    out = subprocess.run(
        [DUBAN, "tick"], env=_env(DUBAN_NOW=later), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    rows = _rows(select(Delivery))
    assert rows and all(r.status == "sent" for r in rows)  # nothing lost
    assert sum(r.reclaims for r in rows) == len(in_flight_rows) >= 1
    assert len(_rows(select(AuditEvent).where(col(AuditEvent.action).contains("reclaim")))) >= 1
    assert received.count(received[0]) == 2  # the in-flight webhook message, once more
    assert len(received) == len(set(received)) + 1
    emails = [r[0] for _, r, _ in office.smtp.sink.received]
    twice = {e for e in emails if emails.count(e) > 1}
    assert twice <= flying  # only what was in flight was repeated
    assert all(emails.count(e) <= 2 for e in emails)


def test_it_lets_exactly_one_of_two_services_send_and_fails_over(office: Office) -> None:
    env = _serve_env()
    a = subprocess.Popen(
        [DUBAN, "serve", "--no-web"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    b = None
    try:
        _wait(
            lambda: bool(_rows(select(TickRun).where(col(TickRun.finished_at).is_not(None)))),
            60,
            "A's tick",
        )
        b = subprocess.Popen(
            [DUBAN, "serve", "--no-web"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        time.sleep(4)
        holders = {r.holder for r in _rows(select(TickRun))}
        assert len(holders) == 1, holders
        sent = _rows(select(Delivery).where(Delivery.status == "sent"))
        assert sent and len(office.smtp.sink.received) == len(
            {r.batch for r in sent if r.channel_type == "email"}
        )
        a.send_signal(signal.SIGKILL)
        a.wait(10)

        _wait(lambda: len({r.holder for r in _rows(select(TickRun))}) == 2, 30, "B to take over")
        with Session(runtime.engine()) as s:
            lease = s.get(ServiceLease, "sender")
            assert lease is not None and lease.holder not in holders  # B holds the lease now
        b.send_signal(signal.SIGTERM)
        assert b.wait(30) == 0  # clean stop
        out = b.stdout.read().decode() if b.stdout else ""
        assert "服务已停止" in out
        with Session(runtime.engine()) as s:
            row = s.exec(select(TickRun).order_by(col(TickRun.id).desc())).first()
        assert row is not None and row.holder not in holders
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.kill()


@dataclass
class SlowSink(SmtpSink):
    """An SMTP relay that takes `delay` seconds to accept each message."""

    delay: float = 2.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def _slow_relay(office: Office, delay: float) -> SlowSink:
    office.smtp.stop()
    office.smtp.sink = sink = SlowSink(delay=delay)
    office.smtp.start()  # the same port
    return sink


def _message_ids(sink: SmtpSink) -> list[str]:
    return [str(m["Message-ID"]) for _, _, m in sink.received]


def _in_flight() -> list[Delivery]:
    return _rows(select(Delivery).where(Delivery.status == "sending"))


def _everything_sent() -> bool:
    rows = _rows(select(Delivery))
    return bool(rows) and all(r.status == "sent" for r in rows)


def test_it_resends_what_a_killed_tick_left_even_after_the_webhook_went(office: Office) -> None:
    sink = _slow_relay(office, delay=3.0)
    proc = subprocess.Popen(
        [DUBAN, "tick"], env=_env(DUBAN_NOW=T_REMIND.isoformat()), stdout=subprocess.DEVNULL
    )
    hook_sent = select(Delivery).where(
        Delivery.channel_type == "webhook", Delivery.status == "sent"
    )
    _wait(
        lambda: bool(_rows(hook_sent)) and bool(_in_flight()), 60, "webhook sent, e-mail in flight"
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    flying = _in_flight()
    assert flying, "the kill should leave e-mails in flight"
    # The next tick, at the same pinned minute: the dead tick's lease, claims and sends are
    # taken back at once (its process is gone), not after the 5- and 15-minute leases.
    out = subprocess.run(
        [DUBAN, "tick", "--json"],
        env=_env(DUBAN_NOW=T_REMIND.isoformat()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert _everything_sent()  # nothing lost, though the unit's webhook had already gone out
    ids = _message_ids(sink)
    repeated = [i for i in set(ids) if ids.count(i) > 1]
    assert len(repeated) <= len({r.batch for r in flying})  # at most what was in flight
    # Every message reclaimed from the dead tick is recorded as a possible repeat (the relay
    # may or may not have accepted it before the kill).
    assert summary["repeats"] == len({r.batch for r in flying})
    assert len(office.hook.log) == 1  # the webhook is not sent again
    takeovers = _rows(select(AuditEvent).where(AuditEvent.action == "takeover"))
    assert len(takeovers) == 1 and takeovers[0].data["deliveries"] == len(flying)


def test_sigterm_stops_a_long_pass_within_the_bound_with_no_second_sender(office: Office) -> None:
    sink = _slow_relay(office, delay=3.0)
    env = _serve_env()
    a = subprocess.Popen(
        [DUBAN, "serve", "--no-web"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    b = None
    try:
        _wait(lambda: bool(_in_flight()), 60, "A's pass to be sending")
        b = subprocess.Popen(
            [DUBAN, "serve", "--no-web"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        started = time.monotonic()
        a.send_signal(signal.SIGTERM)
        assert a.wait(45) == 0  # a clean stop
        stopped_in = time.monotonic() - started
        assert stopped_in < 30, stopped_in  # the in-flight sends (3 s each), then out
        a_ticks = [r for r in _rows(select(TickRun)) if f":{a.pid}:" in r.holder]
        assert a_ticks and all(r.finished_at for r in a_ticks)
        a_end = max(r.finished_at for r in a_ticks if r.finished_at)
        assert not _in_flight()  # every send A began has its outcome written
        # B sends only after A has written its outcomes and let go of the lease.
        a_holders = {t.holder for t in a_ticks}

        def b_ticks() -> list[TickRun]:
            return [r for r in _rows(select(TickRun)) if r.holder not in a_holders]

        _wait(lambda: bool(b_ticks()) and _everything_sent(), 60, "B to lead and finish")
        assert min(r.started_at for r in b_ticks()) >= a_end
        ids = _message_ids(sink)
        assert len(ids) == len(set(ids))  # a clean stop repeats nothing
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)


def test_a_standby_completes_the_dead_leaders_wave_within_the_lease_bound(office: Office) -> None:
    sink = _slow_relay(office, delay=2.0)
    env = _serve_env()
    a = subprocess.Popen(
        [DUBAN, "serve", "--no-web"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    b = subprocess.Popen(
        [DUBAN, "serve", "--no-web"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        _wait(lambda: bool(_in_flight()), 60, "the leader's wave to be sending")
        a_holder = {r.holder for r in _rows(select(TickRun))}
        leader = a if any(f":{a.pid}:" in h for h in a_holder) else b
        standby = b if leader is a else a
        leader.send_signal(signal.SIGKILL)
        leader.wait(10)
        flying = _in_flight()
        killed = time.monotonic()
        # README: ttl + renew (4 s here) to notice, then the work itself (slow relay: 2 s a message).
        _wait(_everything_sent, 40, "the standby to finish the dead leader's wave")
        took = time.monotonic() - killed
        assert took < 30, took
        ids = _message_ids(sink)
        repeated = {i for i in ids if ids.count(i) > 1}
        assert len(repeated) <= len({r.batch for r in flying})
        assert standby.poll() is None
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.kill()
                p.wait(10)


def test_sigterm_ends_a_one_shot_tick_cleanly(office: Office) -> None:
    _slow_relay(office, delay=3.0)
    proc = subprocess.Popen(
        [DUBAN, "tick"],
        env=_env(DUBAN_NOW=T_REMIND.isoformat()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait(lambda: bool(_in_flight()), 60, "the tick to be sending")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=45)
    assert proc.returncode == 0
    assert "收到停止信号" in out
    [run] = _rows(select(TickRun))
    assert run.finished_at is not None and "停止信号" in run.note
    assert not _in_flight()  # every begun send has its outcome written
    with Session(runtime.engine()) as s:
        lease = s.get(ServiceLease, "sender")
        assert lease is not None and lease.holder == ""  # released
    # What it did not get to, the next tick sends; nothing twice.
    later = T_REMIND.replace(minute=6).isoformat()
    again = subprocess.run(
        [DUBAN, "tick"], env=_env(DUBAN_NOW=later), capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert _everything_sent()
    ids = _message_ids(office.smtp.sink)
    assert len(ids) == len(set(ids))
