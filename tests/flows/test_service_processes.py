"""Real processes: `kill -9` in the middle of a tick, and two `duban serve` on one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path

from sqlmodel import Session, col, select
from werkzeug import Request, Response

from duban import runtime
from models.tables import AuditEvent, Delivery, ServiceLease, TickRun
from schedules.clock import OFFICE_TZ
from tests.flows.conftest import Office

DUBAN = str(Path(sys.executable).parent / "duban")
T_REMIND = datetime.combine(date(2024, 9, 19), clock_time(9, 5), tzinfo=OFFICE_TZ)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(("DUBAN_", "PATH", "HOME", "LANG"))}
    env.update(extra)
    return env


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
    env = _env(
        DUBAN_NOW=T_REMIND.isoformat(),
        DUBAN_NOW_RUNNING="1",
        DUBAN_LEASE_TTL="3",
        DUBAN_LEASE_RENEW="1",
        DUBAN_TICK_SECONDS="1",
    )
    a = subprocess.Popen(
        [DUBAN, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    b = None
    try:
        _wait(
            lambda: bool(_rows(select(TickRun).where(col(TickRun.finished_at).is_not(None)))),
            60,
            "A's tick",
        )
        b = subprocess.Popen(
            [DUBAN, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
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
