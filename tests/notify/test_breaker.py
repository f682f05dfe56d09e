"""The per-host breaker (pure, clock injected) and the pipeline's use of it and of a stop."""

from __future__ import annotations

import threading
import time as wall
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from notify.breaker import HostBreaker, host_of
from notify.transport import Target, TransportError
from tests.notify.conftest import T0, add_obligations, add_unit, make_notice
from tests.notify.test_pipeline import LIAISON, pipeline, rows


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_it_opens_a_host_after_three_transient_failures_and_closes_it_after_the_cool_off() -> None:
    clock = Clock()
    b = HostBreaker(threshold=3, cool_off=60, clock=clock)
    for _ in range(2):
        b.record("h:1", ok=False, error="refused")
    assert b.allow("h:1") and not b.is_open("h:1")
    b.record("h:1", ok=False, error="refused")
    assert b.is_open("h:1") and not b.allow("h:1") and b.allow("other")
    assert b.open_hosts() == {"h:1": "refused"}
    clock.t = 59.9
    assert not b.allow("h:1")
    clock.t = 60.0
    assert b.allow("h:1") and not b.is_open("h:1")  # a fresh count after the cool-off


def test_it_counts_only_transient_failures_and_a_success_resets() -> None:
    b = HostBreaker(threshold=2, clock=Clock())
    b.record("h", ok=False, transient=False, error="400")  # the host answered
    b.record("h", ok=False, error="timeout")
    b.record("h", ok=True)
    b.record("h", ok=False, error="timeout")
    assert b.allow("h")
    b.record("h", ok=False, error="timeout")
    assert not b.allow("h")


def test_a_pass_in_the_logical_future_counts_as_cooled_off() -> None:
    b = HostBreaker(threshold=1, cool_off=60, clock=Clock())
    b.record("h", ok=False, error="x", at=T0)
    assert not b.allow("h", T0 + timedelta(seconds=30))
    assert b.allow("h", T0 + timedelta(minutes=15))  # a drill's 09:20 tick after 09:05


def test_host_of_names_the_url_host_or_the_channel_kind() -> None:
    assert (
        host_of(Target(kind="webhook", url="https://oapi.example.cn/robot/send?access_token=x"))
        == "oapi.example.cn"
    )
    assert host_of(Target(kind="webhook", url="http://127.0.0.1:8080/hook")) == "127.0.0.1:8080"
    assert host_of(Target(kind="email")) == "email"


class DeadHost:
    """A transport whose host refuses every connection; counts the attempts."""

    kind = "email"

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def send(self, msg: Any, *, key: str) -> Any:
        with self.lock:
            self.calls += 1
        raise TransportError("连接被拒绝", permanent=False)


def test_a_dead_host_costs_a_few_attempts_not_one_backoff_per_message(engine: Engine) -> None:
    dead = DeadHost()
    p = pipeline(engine, {"email": dead})
    notices = []
    for n in range(20):
        uid, _ = add_unit(engine, f"单位{n}", contacts=(LIAISON,), channels=(("email", "", None),))
        notices.append(make_notice(uid, add_obligations(engine, uid, 1)))
    report = p.deliver(notices, now=T0)
    assert report.pending == 20 and report.failed_permanently == 0
    # At most the threshold plus one attempt per sender thread already under way.
    assert dead.calls <= 3 + p.options.workers, dead.calls
    assert sum(report.deferred_by_host().values()) >= 20 - dead.calls
    assert all(r.status == "failed" and not r.permanent for r in rows(engine))
    assert {v for v in report.by_obligation().values()} == {"retry"}


class Slow:
    """A transport that takes `delay` seconds per message; records what it sent."""

    kind = "email"

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.sent: list[str] = []

    def send(self, msg: Any, *, key: str) -> Any:
        wall.sleep(self.delay)
        self.sent.append(key)
        from notify.transport import SendResult

        return SendResult(ref="ok")


def test_a_stop_records_unstarted_messages_as_pending_and_lets_in_flight_ones_finish(
    engine: Engine,
) -> None:
    slow = Slow(0.5)
    p = pipeline(engine, {"email": slow})
    notices = []
    for n in range(10):
        uid, _ = add_unit(engine, f"单位{n}", contacts=(LIAISON,), channels=(("email", "", None),))
        notices.append(make_notice(uid, add_obligations(engine, uid, 1)))
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = wall.monotonic()
    report = p.deliver(notices, now=T0, stop=stop)
    took = wall.monotonic() - started
    assert report.sent == len(slow.sent) == p.options.workers  # those in flight finished
    assert report.pending == 10 - report.sent
    assert took < 2.0  # one message's time, not ten
    waiting = [r for r in rows(engine) if r.status == "failed"]
    assert len(waiting) == 10 - report.sent
    # Taken first by the next pass: no wait before they may be retried.
    assert all(
        r.lease_until is not None and r.lease_until <= T0 + timedelta(seconds=5) for r in waiting
    )
    again = p.deliver(notices, now=T0 + timedelta(minutes=1))
    assert again.sent == 10 - report.sent and len(set(slow.sent)) == 10
