"""A read-only look at a database at head through the plain DB-API (sqlite3, psycopg): no SQLAlchemy.

`duban status`, `queue list` and `obligation list` are typed all day; importing SQLAlchemy Core
alone costs about 0.25 s of CPU here, half of their start. When the database is already at the
newest migration these commands read through this module; otherwise (an empty or older database,
an unknown driver) `open_fast` returns None and they take the ordinary path, which migrates.
SQL is written with `?` placeholders; values come back as the ORM would give them: aware UTC
datetimes, dates, decoded JSON.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

VERSIONS = Path(__file__).resolve().parents[1] / "models" / "migrations" / "versions"
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.M)
DATETIMES = frozenset(
    {"next_action_at", "queued_at", "created_at", "at", "now", "next_run_at", "last_run_at"}
)
DATES = frozenset({"due_on"})
JSONS = frozenset({"notes", "data"})


def head_from_files() -> str | None:
    """The one revision in `versions/` that no other names as its parent (None: not one)."""
    revisions, parents = set(), set()
    for path in VERSIONS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN.search(source)
        if rev is None or down is None:
            return None
        revisions.add(rev.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


class FastConn:
    """A DB-API connection with `rows(sql, params)` / `scalar(sql, params)` on `?` placeholders."""

    def __init__(self, raw: Any, dialect: str) -> None:
        self.raw, self.dialect = raw, dialect

    def rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[dict[str, Any]]:
        """All rows as dicts, with datetimes, dates and JSON decoded by column name."""
        if self.dialect == "postgresql":
            sql = sql.replace("%", "%%").replace("?", "%s")
        cur = self.raw.cursor()
        try:
            cur.execute(sql, tuple(params))
            names = [d[0] for d in cur.description]
            return [
                {n: _value(n, v, self.dialect) for n, v in zip(names, row, strict=True)}
                for row in cur.fetchall()
            ]
        finally:
            cur.close()

    def scalar(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        """The first column of the first row, or None."""
        found = self.rows(sql, params)
        return next(iter(found[0].values())) if found else None

    def close(self) -> None:
        """Close the connection."""
        self.raw.close()


def _value(name: str, value: Any, dialect: str) -> Any:
    if value is None:
        return None
    if name in DATETIMES:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if name in DATES and isinstance(value, str):
        return date.fromisoformat(value)
    if name in JSONS and isinstance(value, (str, bytes)):
        return json.loads(value)
    return value


def _connect(url: str) -> FastConn | None:
    if url.startswith("sqlite:///"):
        import sqlite3

        path = url.removeprefix("sqlite:///")
        if not path or path == ":memory:" or path.startswith("file:") or "?" in path:
            return None
        if not Path(path).is_file():
            return None
        raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        return FastConn(raw, "sqlite")
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            import psycopg

            pg = psycopg.connect("postgresql://" + url.removeprefix(prefix), autocommit=True)
            return FastConn(pg, "postgresql")
    return None


def open_fast(url: str) -> FastConn | None:
    """A read-only connection when the database is at this code's newest migration, else None."""
    head = head_from_files()
    if head is None:
        return None
    try:
        conn = _connect(url)
    except Exception:  # let the ordinary path say what is wrong, in its words
        return None
    if conn is None:
        return None
    try:
        versions = [r["version_num"] for r in conn.rows("SELECT version_num FROM alembic_version")]
    except Exception:
        conn.close()
        return None
    if versions != [head]:
        conn.close()
        return None
    return conn
