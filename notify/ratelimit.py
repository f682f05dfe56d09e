"""Robots' send limits, respected by the sender: messages wait their turn, never dropped.

DingTalk and WeCom allow 20 messages a minute per robot, Feishu 5 a second and 100 a minute. A
plain token bucket of 20 lets 39 messages into one 60-second span (a full bucket, then the refill);
we keep, per robot URL, the instants of the recent sends and reserve the first instant at which
every window still has room, so no span of `period` seconds ever holds more than `count` sends.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

DINGTALK_LIMITS: tuple[tuple[int, float], ...] = ((20, 60.0),)
WECOM_LIMITS: tuple[tuple[int, float], ...] = ((20, 60.0),)
FEISHU_LIMITS: tuple[tuple[int, float], ...] = ((5, 1.0), (100, 60.0))


class RateLimiter:
    """At most `count` sends per `period` seconds for each key, for every (count, period) given.

    `clock` is monotonic seconds and `sleep` waits; both are injected so tests need not wait.
    Reservations are first come, first served, so waiting messages keep their order.
    """

    def __init__(
        self,
        limits: Sequence[tuple[int, float]],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not limits or any(n < 1 or p <= 0 for n, p in limits):
            raise ValueError(f"限速设置无效: {limits!r}（每项应为 (条数≥1, 秒数>0)）")
        self.limits = tuple(limits)
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._logs: dict[str, list[deque[float]]] = {}

    def reserve(self, key: str) -> float:
        """Reserve the next free instant for `key`; return how many seconds to wait for it."""
        with self._lock:
            now = self.clock()
            logs = self._logs.setdefault(key, [deque() for _ in self.limits])
            start = max([now] + [log[-1] for log in logs if log])
            for (count, period), log in zip(self.limits, logs, strict=True):
                while log and log[0] <= now - period:
                    log.popleft()
                if len(log) >= count:
                    start = max(start, log[-count] + period)
            for log in logs:
                log.append(start)
            return start - now

    def acquire(self, key: str) -> float:
        """Wait until `key` may send again; return the seconds waited."""
        wait = self.reserve(key)
        if wait > 0:
            self.sleep(wait)
        return wait
