"""The APScheduler service: one sender among two, clean stop, stable job definitions."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.repo.lease import acquire_lease, lease_holder, release_lease
from schedules.service import LeaseOps, Service, ServiceJobs

SH = ZoneInfo("Asia/Shanghai")


class FakeTime:
    """A settable clock (the service takes any callable)."""

    def __init__(self) -> None:
        self.t = datetime(2024, 9, 19, 9, 0, tzinfo=SH)

    def __call__(self) -> datetime:
        return self.t


def _service(engine: Engine, holder: str, clock: FakeTime, ticks: list[str]) -> Service:
    def acquire(now: datetime) -> bool:
        with Session(engine) as s:
            return acquire_lease(
                session=s, name="sender", holder=holder, now=now, ttl=timedelta(seconds=90)
            )

    def release(now: datetime) -> None:
        with Session(engine) as s:
            release_lease(session=s, name="sender", holder=holder, now=now)

    def tick(now: datetime, stop: threading.Event) -> None:
        ticks.append(holder)

    jobs = ServiceJobs(tick=tick)
    lease = LeaseOps(acquire=acquire, release=release, renew_every=timedelta(seconds=0.2))
    return Service(
        jobs=jobs, lease=lease, clock=clock, tick_every=timedelta(seconds=0.1), stop_grace=5
    )


def test_it_lets_only_the_lease_holder_tick_and_hands_over_on_stop(engine: Engine) -> None:
    clock, ticks = FakeTime(), []  # type: ignore[var-annotated]
    a = _service(engine, "A", clock, ticks)
    b = _service(engine, "B", clock, ticks)
    a.start()
    b.start()
    time.sleep(1.0)
    assert a.is_leader and not b.is_leader
    assert ticks and set(ticks) == {"A"}
    assert a.stop()  # clean stop releases the lease
    with Session(engine) as s:
        assert lease_holder(session=s, name="sender", now=clock()) is None
    ticks.clear()
    time.sleep(1.0)
    assert b.is_leader and ticks and set(ticks) == {"B"}
    assert b.stop()


def test_it_defines_stable_coalescing_jobs_in_shanghai_time(engine: Engine) -> None:
    svc = _service(engine, "A", FakeTime(), [])
    sched = svc.build_scheduler()
    sched.start(paused=True)  # defaults are applied when pending jobs are added for real
    jobs = {j.id: j for j in sched.get_jobs()}
    sched.shutdown(wait=False)
    assert set(jobs) == {"lease_job", "tick_job"}  # periodic jobs run after ticks, by their rows
    assert str(sched.timezone) == "Asia/Shanghai"
    for job in jobs.values():
        assert job.coalesce and job.max_instances == 1 and job.misfire_grace_time == 300
        assert str(job.trigger.timezone) == "Asia/Shanghai"


def test_it_stops_within_the_bound_while_a_tick_is_in_flight(engine: Engine) -> None:
    clock = FakeTime()
    started = threading.Event()

    def slow_tick(now: datetime, stop: threading.Event) -> None:
        started.set()
        stop.wait(10)  # a well-behaved tick stops taking new work when asked

    svc = _service(engine, "A", clock, [])
    svc.jobs.tick = slow_tick
    svc.start()
    assert started.wait(5)
    t = time.monotonic()
    assert svc.stop()
    assert time.monotonic() - t < 5
