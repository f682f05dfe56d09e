"""Engine and session: a SQLite file by default (WAL, foreign keys on), PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, create_engine, make_url

if TYPE_CHECKING:
    from sqlmodel import Session


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite files, create the folder and turn on WAL and foreign keys."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers (status, the web pages) run while the service writes; foreign keys are off
    # by default in SQLite and our cascades depend on them.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back everything on any error."""
    from sqlmodel import Session  # the ORM costs 0.3 s to import: only where a session is used

    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# PostgreSQL's tables behind `data_stamp` (migration 0024; no model: nothing but triggers write them)
DATA_VERSION_TABLES = ("data_version", "data_version_mark")


def data_stamp(conn: Any) -> str | None:
    """A value that moves with every commit that changed what the pages show (PostgreSQL:
    `data_version.n`, moved by triggers in the committing transaction itself, migration 0024);
    None elsewhere.

    Read before a page's other reads, it says those reads are at least as new as it: a page
    rendered from them may be served again while it is unchanged (duban/web/page_cache.py)."""
    if conn.dialect.name != "postgresql":
        return None
    n = conn.exec_driver_sql("SELECT n FROM data_version WHERE id = 1").scalar_one()
    # the URL keeps two databases apart (tests run several in one process)
    return f"{conn.engine.url.render_as_string(hide_password=True)}|{n}"
