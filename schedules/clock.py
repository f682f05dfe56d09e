"""The only module that reads the system clock.

Everything else takes ``now`` as a parameter (see STYLE.md §2): read the clock once per sweep,
at the edge, and pass it down.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

OFFICE_TZ = ZoneInfo("Asia/Shanghai")
NOW_ENV = "DUBAN_NOW"
RUNNING_ENV = "DUBAN_NOW_RUNNING"
# With DUBAN_NOW_RUNNING=1 the pinned time starts at DUBAN_NOW and then runs with the wall
# clock (drills of failover and leases need time to pass from a fixed starting point).
_STARTED = time.monotonic()


def utc_now() -> datetime:
    """Return the real current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


def parse_aware(text: str, *, field: str = "时间") -> datetime:
    """Parse an ISO 8601 instant that carries an offset; naive or malformed input is an error.

    ``field`` names the source (an env variable, a CLI option, a file line) in the message.
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(
            f"{field} 不是有效的 ISO 8601 时间：{text!r}（例如 2024-09-19T09:05:00+08:00）"
        ) from exc
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{field} 缺少时区偏移：{text!r}；请写成 2024-09-19T09:05:00+08:00 这样的带偏移时间"
            " (naive datetimes are rejected)"
        )
    return value


def now() -> datetime:
    """Return the current instant in UTC, honouring ``DUBAN_NOW`` for simulations and tests."""
    forced = os.environ.get(NOW_ENV)
    if not forced:
        return utc_now()
    pinned = parse_aware(forced, field=f"环境变量 {NOW_ENV}").astimezone(UTC)
    if os.environ.get(RUNNING_ENV) == "1":
        return pinned + timedelta(seconds=time.monotonic() - _STARTED)
    return pinned
