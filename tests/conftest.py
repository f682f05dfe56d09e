"""Shared fixtures: databases (SQLite file and, when available, PostgreSQL), the seeds, the CLI."""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from models.db import make_engine, normalise_url
from models.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
EXAMPLES = ROOT / "examples"


_PRIVATE: dict[str, str] = {}  # DUBAN_TEST_PG_URL → this test process's own database


def _pg_url() -> str | None:
    url = os.environ.get("DUBAN_TEST_PG_URL")
    if not url and os.environ.get("CI"):
        pytest.fail("CI must provide PostgreSQL: DUBAN_TEST_PG_URL is not set (see .ci/run)")
    if not url:
        return None
    if url not in _PRIVATE:
        _PRIVATE[url] = _private_database(url)
    return _PRIVATE[url]


def _private_database(url: str) -> str:
    """A database of this test process's own on the same server (dropped at exit), so that two
    test runs against one server (two developers, parallel jobs) never drop each other's tables."""
    base = make_url(normalise_url(url))
    name = f"{base.database}_{os.getpid()}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    atexit.register(drop)
    return base.set(database=name).render_as_string(hide_password=False)


def _fresh_postgres(url: str) -> Engine:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'duban.db'}"
        return
    url = _pg_url()
    if not url:
        pytest.skip("PostgreSQL not available (set DUBAN_TEST_PG_URL, as .ci/run does)")
    _fresh_postgres(url).dispose()
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on each database."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Iterator[Path]:
    """Point the `duban` CLI at a fresh database and home folder for one test."""
    from duban import runtime

    monkeypatch.setenv("DUBAN_DATABASE_URL", db_url)
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DUBAN_NOW", "2024-03-04T09:00:00+08:00")
    monkeypatch.setenv("DUBAN_ACTOR", "test")
    monkeypatch.delenv("DUBAN_CONFIG", raising=False)
    runtime.reset()
    yield tmp_path
    runtime.reset()


@pytest.fixture
def seeds_dir() -> Path:
    """../shared/seeds (present in CI; a fresh clone has none)."""
    if not SEEDS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have {SEEDS}")
        pytest.skip("../shared/seeds is not beside this clone")
    return SEEDS
