"""Per-host circuit breaker: a host that keeps failing is paused, so it cannot stall a pass.

After `threshold` consecutive transient failures on one host (an SMTP relay, a robot's API host,
a webhook receiver), the host is *open*: messages for it are not tried in this pass but deferred
at once (their rows stay pending and a later pass tries them), and in-flight retries to it stop.
After `cool_off` seconds the host is closed again and gets a fresh count: at most `threshold`
more attempts find out whether it is back, while every message queued for it goes out at once if
it is. Other hosts are not affected. Thread-safe; the clock is
injected (monotonic seconds by default), and a pass may also say its logical instant: the cool-off
has passed when either clock has moved on by `cool_off` (a drill that pins the clock to 09:20
after a 09:05 outage probes the host again, as a service running on real time would).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from notify.transport import Target


@dataclass
class HostState:
    """One host's recent record."""

    failures: int = 0  # consecutive transient failures
    opened_at: float | None = None  # when it was last opened (None: closed)
    opened_logical: datetime | None = None  # the pass's instant then, if it said one
    last_error: str = ""


def host_of(target: Target) -> str:
    """The host a message goes to: the URL's host and port, or the channel kind (one relay)."""
    if target.url:
        parts = urlsplit(target.url)
        try:
            port = parts.port
        except ValueError:
            port = None
        host = parts.hostname or target.url[:80]
        return f"{host}:{port}" if port else host
    return target.kind  # e-mail: every message goes through the one configured relay


class HostBreaker:
    """Counts consecutive transient failures per host; opens a host at `threshold`."""

    def __init__(
        self,
        *,
        threshold: int = 3,
        cool_off: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = max(1, threshold)
        self.cool_off = cool_off
        self.clock = clock
        self._hosts: dict[str, HostState] = {}
        self._lock = threading.Lock()

    def allow(self, host: str, at: datetime | None = None) -> bool:
        """Whether a new message may be sent to `host` now (an open host after its cool-off: yes)."""
        with self._lock:
            st = self._hosts.get(host)
            if st is None or st.opened_at is None:
                return True
            if not self._cooled(st, at):
                return False
            del self._hosts[host]
            return True

    def _cooled(self, st: HostState, at: datetime | None) -> bool:
        assert st.opened_at is not None
        if self.clock() - st.opened_at >= self.cool_off:
            return True
        if at is None or st.opened_logical is None:
            return False
        return (at - st.opened_logical).total_seconds() >= self.cool_off

    def is_open(self, host: str) -> bool:
        """Whether `host` is paused (retries to it should stop)."""
        with self._lock:
            st = self._hosts.get(host)
            return st is not None and st.opened_at is not None

    def record(
        self,
        host: str,
        *,
        ok: bool,
        transient: bool = True,
        error: str = "",
        at: datetime | None = None,
    ) -> None:
        """Note one attempt's outcome. Permanent failures say the host answered: not counted."""
        with self._lock:
            st = self._hosts.setdefault(host, HostState())
            if ok or not transient:
                self._hosts.pop(host, None)
                return
            st.failures += 1
            st.last_error = error
            if st.opened_at is None and st.failures >= self.threshold:
                st.opened_at, st.opened_logical = self.clock(), at

    def open_hosts(self) -> dict[str, str]:
        """Host → last error, for the hosts paused now."""
        with self._lock:
            return {h: s.last_error for h, s in self._hosts.items() if s.opened_at is not None}
