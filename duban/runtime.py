"""What every command needs: settings, the database engine (migrated), the clock and the actor."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache

from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.settings import Settings, load_settings
from models.db import make_engine, session_scope
from models.migrate import current_revision, head_revision, upgrade
from models.repo.evidence import EvidenceStore


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The installation's settings (read once per process)."""
    return load_settings()


@lru_cache(maxsize=4)
def engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: the configured database)."""
    eng = make_engine(url or settings().resolved_database_url)
    _ENGINES.append(eng)
    return eng


def migrated_engine(url: str | None = None) -> Engine:
    """The engine, after bringing the schema to the newest migration if it is behind."""
    eng = engine(url)
    if current_revision(eng) != head_revision(eng):
        upgrade(eng)
    return eng


@contextmanager
def transaction(url: str | None = None) -> Iterator[Session]:
    """One all-or-nothing unit of work on the migrated database."""
    with session_scope(migrated_engine(url)) as session:
        yield session


def reset() -> None:
    """Forget cached settings and engines (tests change the environment between commands)."""
    while _ENGINES:
        _ENGINES.pop().dispose()
    settings.cache_clear()
    engine.cache_clear()


# lru_cache keeps no public view of its values; keep our own list to dispose of them.
_ENGINES: list[Engine] = []


def current_time() -> datetime:
    """The one clock every command reads (pinned by $DUBAN_NOW for drills, demos and tests)."""
    from schedules.clock import now

    return now()


def actor() -> str:
    """Who is acting, for the audit log ($DUBAN_ACTOR, else the login name)."""
    return os.environ.get("DUBAN_ACTOR") or f"cli:{getpass.getuser()}"


def evidence_store() -> EvidenceStore:
    """The installation's 佐证 folder and its limits (the CLI and the pages share them)."""
    st = settings()
    return EvidenceStore(
        st.resolved_evidence_dir,
        max_bytes=int(st.evidence_max_mb * 1024 * 1024),
        quota_bytes=int(st.evidence_quota_mb * 1024 * 1024),
    )
