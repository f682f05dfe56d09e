"""What the chat robots (DingTalk, WeCom, Feishu) share: a poster, their rate limits, a clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from notify.http import JsonPoster
from notify.ratelimit import RateLimiter
from schedules.clock import utc_now


class Robot:
    """One keep-alive poster, a limiter that makes each robot URL's messages wait their turn
    (never dropped), and the clock signatures are stamped with (injected in tests)."""

    kind: ClassVar[str]
    limits: ClassVar[tuple[tuple[int, float], ...]]  # (messages, per seconds) per robot URL

    def __init__(
        self,
        poster: JsonPoster | None = None,
        *,
        limiter: RateLimiter | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.poster = poster or JsonPoster()
        self.limiter = limiter or RateLimiter(self.limits)
        self.clock = clock
