"""`duban serve`: one APScheduler process that fires the ticks, guarded by the database lease.

Every job is one call into a flow; the flow works out what is due from duban's own state
(`next_action_at`), never from the scheduler's memory of missed fire times, so a restart or a
coalesced misfire loses nothing. Two services on one database: only the lease holder sends.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from schedules.clock import OFFICE_TZ, utc_now

log = logging.getLogger("duban.service")
Job = Callable[[datetime, threading.Event], object]


@dataclass
class ServiceJobs:
    """What the service runs; each takes (now, stop_event).

    `periodic` runs after every tick, on the same clock: the periodic jobs (monthly cycle, digests)
    are due by their own rows in the database (schedules/periodic.py), not by cron triggers here,
    so the service, `duban tick` from cron and a drill all run them once per occurrence.
    """

    tick: Job
    periodic: Job | None = None


@dataclass
class LeaseOps:
    """How the service takes, renews and gives up the one-sender lease."""

    acquire: Callable[[datetime], bool]
    release: Callable[[datetime], None]
    ttl: timedelta = timedelta(seconds=90)
    renew_every: timedelta = timedelta(seconds=20)


@dataclass
class Service:
    """The scheduler process: lease renewal, ticks and after each the periodic jobs; stops cleanly."""

    jobs: ServiceJobs
    lease: LeaseOps
    clock: Callable[[], datetime]
    tick_every: timedelta = timedelta(minutes=1)
    stop_grace: float = 45.0  # > one send's timeout (SMTP 20 s, HTTP 5 + 20 s)
    stop_event: threading.Event = field(default_factory=threading.Event)
    is_leader: bool = False
    scheduler: BackgroundScheduler | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def build_scheduler(self) -> BackgroundScheduler:
        """APScheduler with an explicit time zone and stable, coalescing, single-instance jobs."""
        sched = BackgroundScheduler(
            timezone=OFFICE_TZ,
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        # The job store is in memory (never shared between processes); replace_existing only
        # matters within this process, and duban's own state says what is due after a restart.
        sec = self.lease.renew_every.total_seconds()
        add: dict[str, Any] = {"replace_existing": True}
        sched.add_job(
            self._lease_job, IntervalTrigger(seconds=sec, timezone=OFFICE_TZ), id="lease_job", **add
        )
        tick = IntervalTrigger(seconds=self.tick_every.total_seconds(), timezone=OFFICE_TZ)
        sched.add_job(
            self._run, tick, args=["tick_job", self._tick_then_periodic], id="tick_job", **add
        )
        return sched

    def _tick_then_periodic(self, now: datetime, stop: threading.Event) -> None:
        self.jobs.tick(now, stop)
        if self.jobs.periodic is not None and not stop.is_set():
            self.jobs.periodic(self.clock(), stop)

    def _lease_job(self) -> None:
        if self.stop_event.is_set():
            return
        was = self.is_leader
        try:
            self.is_leader = self.lease.acquire(self.clock())
        except Exception:  # a database hiccup: act as standby until the next renewal
            log.exception("租约续期失败，暂按备用实例运行")
            self.is_leader = False
        if self.is_leader != was:
            log.warning(
                "本实例现在是%s", "主实例（负责发送）" if self.is_leader else "备用实例（不发送）"
            )
            if self.is_leader and self.scheduler is not None and self.scheduler.running:
                # Taken over from a leader that died: do its work now, not at the next interval.
                self.scheduler.modify_job("tick_job", next_run_time=utc_now())

    def _run(self, name: str, job: Job) -> None:
        if self.stop_event.is_set() or not self.is_leader:
            return
        with self._lock:  # ticks, digests and the monthly cycle never overlap
            if self.stop_event.is_set() or not self.is_leader:
                return
            try:
                job(self.clock(), self.stop_event)
            except Exception:
                log.exception("%s 运行失败，下一次运行会从数据库状态继续", name)

    def start(self) -> None:
        """Take the lease if free, run the first tick at once (catch-up), then schedule."""
        self._lease_job()
        self.scheduler = self.build_scheduler()
        self.scheduler.start()
        # The scheduler runs on real time (the logical clock may be pinned or simulated): fire the
        # first tick now, which catches up on whatever fell due while the service was down.
        self.scheduler.modify_job("tick_job", next_run_time=utc_now())

    def stop(self) -> bool:
        """No new work; wait for in-flight work up to `stop_grace`; release the lease. True if clean.

        The jobs see `stop_event`: a tick claims nothing more, sends nothing new, makes no further
        retry and writes the outcomes of the sends in flight (each bounded by its channel's
        timeout). The lease is released only after that, so a standby never sends beside us. If
        the work is still running after `stop_grace` the lease is kept (it runs out by its TTL)
        and the stop is reported unclean.
        """
        self.stop_event.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        clean = self._wait_for_work()
        if not clean:
            log.error(
                "进行中的工作在 %.0f 秒内未结束：不释放租约，由其到期后备用实例接管",
                self.stop_grace,
            )
            return False
        try:
            if self.is_leader:
                self.lease.release(self.clock())
                self.is_leader = False
        finally:
            self._lock.release()
        return True

    def _wait_for_work(self) -> bool:
        """Wait up to `stop_grace` for the running job, renewing the lease meanwhile: while our
        sends are in flight we are still the sender, so no standby may take over."""
        end = time.monotonic() + self.stop_grace
        step = max(0.05, self.lease.renew_every.total_seconds())
        while True:
            left = end - time.monotonic()
            if self._lock.acquire(timeout=max(0.0, min(step, left))):
                return True
            if left <= step:
                return False
            if self.is_leader:
                try:
                    self.is_leader = bool(self.lease.acquire(self.clock()))
                except Exception:  # the database is gone: the lease will run out by its TTL
                    log.exception("停止期间续租失败")

    def serve_forever(self) -> int:
        """Run until SIGTERM or SIGINT; exit code 0 after a clean stop."""

        def _signal(signum: int, _frame: FrameType | None) -> None:
            log.warning("收到信号 %s，停止接收新任务", signal.Signals(signum).name)
            self.stop_event.set()

        signal.signal(signal.SIGTERM, _signal)
        signal.signal(signal.SIGINT, _signal)
        self.start()
        while not self.stop_event.wait(1.0):
            pass
        return 0 if self.stop() else 1
