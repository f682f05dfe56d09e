"""Column types that keep timestamps aware and lists as JSON on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware (UTC).

    SQLite has no time zone support: `DateTime(timezone=True)` hands back a naive value there, so a
    Shanghai 17:00 would silently become a naive 17:00. We refuse naive input at the boundary and
    re-attach UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime refused (give a time zone): {value!r}")
        value = value.astimezone(UTC)
        # SQLite stores text; a naive UTC value sorts correctly and round-trips exactly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JSONValue(TypeDecorator[Any]):
    """Portable JSON column (JSON on both dialects, non-ASCII kept readable)."""

    impl = JSON
    cache_ok = True


_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13)) | {0x7F: None}


def clean_text(value: str) -> str:
    """Text as a column may hold it: no NUL (PostgreSQL refuses it) nor other control characters
    but tab and line breaks. Applied to whatever people type, at the pages' and the API's edge."""
    return value.translate(_CONTROL)
