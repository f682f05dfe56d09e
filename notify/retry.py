"""Send with retry: exponential backoff for transient failures, none for permanent ones.

Retrying happens here only (flows' send tasks run with Prefect `retries=0`). The delay doubles
from `first_delay` up to `max_delay`; a service's own hint (`Retry-After`, a robot's rate-limit
reply) is honoured when longer. `sleep` is injected so tests run without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from notify.mask import mask_text, url_secrets
from notify.transport import Message, SendResult, Transport, TransportError


@dataclass(frozen=True)
class RetrySettings:
    """How hard to try one message within one pass."""

    # Short on purpose: a message still failing after these is not lost but left pending, and a
    # later pass (the tick's retry of pending messages) tries it again; long waits here would
    # hold the whole pass to one slow host.
    attempts: int = 3
    first_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.first_delay < 0 or self.factor < 1 or self.max_delay < 0:
            raise ValueError(f"重试设置无效: {self!r}")

    def delay(self, attempt: int, hint: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        backoff = self.first_delay * self.factor ** (attempt - 1)
        return min(self.max_delay, max(backoff, hint or 0.0))


@dataclass(frozen=True)
class Attempt:
    """The outcome of sending one message: how many tries, the last error, the result."""

    ok: bool
    attempts: int
    duration_ms: int
    result: SendResult | None = None
    error: str | None = None
    permanent: bool = False
    deferred: str | None = None  # not tried (or retries cut short): "host" paused, or "stop"


def send_with_retry(
    transport: Transport,
    msg: Message,
    *,
    key: str,
    retry: RetrySettings,
    sleep: Callable[[float], None] = time.sleep,
    observe: Callable[[TransportError | None], None] | None = None,
    go_on: Callable[[], str | None] | None = None,
) -> Attempt:
    """Try up to `retry.attempts` times; stop at once on success or a permanent failure.

    `observe` hears each attempt's outcome (None: success); `go_on`, asked while waiting to
    retry, names a reason to stop retrying ("host", "stop") or returns None to go on.
    """
    started = time.monotonic()
    error: TransportError | None = None
    for attempt in range(1, retry.attempts + 1):
        try:
            result = transport.send(msg, key=key)
        except TransportError as exc:
            error = exc
        except Exception as exc:  # a bug in a channel must not leave the rows in `sending`
            error = TransportError(f"渠道内部错误: {type(exc).__name__}: {exc}", permanent=True)
        else:
            if observe is not None:
                observe(None)
            return Attempt(True, attempt, _ms_since(started), result=result)
        if observe is not None:
            observe(error)
        if error.permanent or attempt == retry.attempts:
            break
        cut = _wait(retry.delay(attempt, error.retry_after), sleep, go_on)
        if cut is not None:
            return Attempt(
                False, attempt, _ms_since(started), error=_told(error, msg), deferred=cut
            )
    assert error is not None
    return Attempt(
        False, attempt, _ms_since(started), error=_told(error, msg), permanent=error.permanent
    )


def _wait(
    seconds: float, sleep: Callable[[float], None], go_on: Callable[[], str | None] | None
) -> str | None:
    """Wait before a retry; with `go_on`, asked before and after the wait, give up the retry as
    soon as it names a reason (a host paused by other messages' failures meanwhile, a stop)."""
    if go_on is None:
        sleep(seconds)
        return None
    if (cut := go_on()) is not None:
        return cut
    sleep(seconds)  # the caller's sleep may itself end early once go_on would say stop
    return go_on()


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _told(error: TransportError, msg: Message) -> str:
    """The error as it is stored and shown: this target's token and secret masked too."""
    target = msg.target
    return mask_text(error.message, extra=[*url_secrets(target.url or ""), target.secret or ""])
