"""Alembic migrations, run programmatically: the schema is created and upgraded only through them.

Alembic itself is imported only to migrate: every command checks that the database is current, and
importing Alembic for that check alone cost 0.4 s of a CLI command's start, so the check reads the
version table and the revision ids in `versions/` directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"
_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision\s*=\s*(.+)$", re.M)


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to `engine` (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


# pg_advisory_lock key of the schema migration (any fixed 64-bit number; "duban" in ASCII).
_MIGRATION_LOCK = 0x647562616E


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """One migrator at a time per database: processes that start together (`duban serve` and its
    pages, `duban web --workers N`, two cron runs) would otherwise run the same migration twice,
    and the second fails half-way ("column … already exists"). PostgreSQL: a session advisory
    lock; SQLite file: an exclusive lock on a file beside the database."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    try:
        import fcntl
    except ImportError:  # not a POSIX system: one process at a time is the operator's to ensure
        yield
        return
    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the newest), one migrator at a time: a process
    that waited for another finds the schema already there and does nothing."""
    from alembic import command

    with migration_lock(engine):
        command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Step the database back to `revision` ("base" empties it)."""
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:  # branches: let Alembic say what it makes of them
        from alembic.runtime.migration import MigrationContext

        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    return str(rows[0]) if rows else None


def head_revision(engine: Engine | None = None) -> str | None:
    """The newest revision this code knows."""
    return _head_from_files() or _head_from_alembic(engine)


@lru_cache(maxsize=1)
def known_revisions() -> tuple[frozenset[str], frozenset[str]] | None:
    """The revision ids in `versions/` and those named as parents (None: a file this cannot read)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN.search(source)
        if rev is None or down is None:
            return None  # a shape this reader does not know: ask Alembic
        revisions.add(rev.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return frozenset(revisions), frozenset(parents)


def _head_from_files() -> str | None:
    """The one revision no other names as its parent (None when there is no single head)."""
    known = known_revisions()
    heads = set(known[0] - known[1]) if known else set()
    return heads.pop() if len(heads) == 1 else None


def _head_from_alembic(engine: Engine | None) -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = alembic_config(engine) if engine is not None else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()
