"""What every command needs: settings, the database engine (migrated), the clock and the actor.

Also the flows' context: importing this module registers `flow_context_from_settings` with
flows/context.py, so that flows/ builds its context without importing duban (the edge provides it).

Light on purpose: `duban status` and the lists start from here, and SQLModel (the ORM, 0.3 s to
import) or Prefect (1 s) are imported only by the commands that write or run flows.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from duban.settings import Settings, SettingsError, load_settings
from flows.context import build_context, provide_context, reset_context

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlmodel import Session

    from duban.fast_db import FastConn
    from flows.context import FlowContext
    from models.repo.evidence import EvidenceStore


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The installation's settings (read once per process)."""
    return load_settings()


@lru_cache(maxsize=4)
def engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: the configured database)."""
    from models.db import make_engine  # SQLAlchemy: not for `duban --help`

    eng = make_engine(url or settings().resolved_database_url)
    _ENGINES.append(eng)
    return eng


def migrated_engine(url: str | None = None) -> Engine:
    """The engine, after bringing the schema to the newest migration if it is behind."""
    from models.migrate import current_revision, head_revision, known_revisions, upgrade

    eng = engine(url)
    current, head = current_revision(eng), head_revision(eng)
    known = known_revisions()
    if current is not None and known is not None and current not in known[0]:
        raise SettingsError(
            f"数据库的版本 {current} 比本程序新（本程序最新为 {head}）：请用与数据库相同或更新版本的 duban"
        )
    if current != head:
        upgrade(eng)
    return eng


@contextmanager
def transaction(url: str | None = None) -> Iterator[Session]:
    """One all-or-nothing unit of work on the migrated database."""
    from models.db import session_scope

    with session_scope(migrated_engine(url)) as session:
        yield session


@contextmanager
def reading(url: str | None = None) -> Iterator[Connection]:
    """A read-only look at the migrated database through SQLAlchemy Core (no ORM to import)."""
    with migrated_engine(url).connect() as conn:
        yield conn


@contextmanager
def fast_reading() -> Iterator[FastConn | Connection]:
    """A read-only look for the commands typed all day: the plain DB-API when the database is at
    head (duban/fast_db.py, no SQLAlchemy to import), else `reading()` (which migrates)."""
    from duban.fast_db import open_fast

    fast = open_fast(settings().resolved_database_url)
    if fast is None:
        with reading() as conn:
            yield conn
        return
    try:
        yield fast
    finally:
        fast.close()


def keep_engine(eng: Engine) -> None:
    """Dispose of `eng` with the others on `reset()` (an engine made with options of its own)."""
    _ENGINES.append(eng)


def reset() -> None:
    """Forget cached settings and engines (tests change the environment between commands), and
    the flows' context built from them."""
    reset_context()
    while _ENGINES:
        _ENGINES.pop().dispose()
    settings.cache_clear()
    engine.cache_clear()


# lru_cache keeps no public view of its values; keep our own list to dispose of them.
_ENGINES: list[Engine] = []


def current_time() -> datetime:
    """The one clock every command reads (pinned by $DUBAN_NOW for drills, demos and tests)."""
    from schedules.clock import NOW_ENV, now

    try:
        return now()
    except ValueError:
        raise SettingsError(
            f"环境变量 {NOW_ENV} 的值 {os.environ.get(NOW_ENV, '')!r} 无效：应为带时区偏移的时间，"
            "如 2024-09-19T09:05:00+08:00（不设则用当前时间）"
        ) from None


def actor() -> str:
    """Who is acting, for the audit log ($DUBAN_ACTOR, else the login name)."""
    return os.environ.get("DUBAN_ACTOR") or f"cli:{getpass.getuser()}"


def evidence_store() -> EvidenceStore:
    """The installation's 佐证 folder and its limits (the CLI and the pages share them)."""
    from models.repo.evidence import EvidenceStore

    st = settings()
    return EvidenceStore(
        st.resolved_evidence_dir,
        max_bytes=int(st.evidence_max_mb * 1024 * 1024),
        quota_bytes=int(st.evidence_quota_mb * 1024 * 1024),
    )


def flow_context_from_settings() -> FlowContext:
    """The flows' context from this installation's settings (registered below for flows/)."""
    st = settings()
    return build_context(
        engine=migrated_engine(),
        send=st.send_config(),
        calendar_file=st.calendar_file,
        policy_file=st.policy_file,
        pending_give_up_hours=st.pending_give_up_hours,
    )


provide_context(flow_context_from_settings)
