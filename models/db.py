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


def data_stamp(conn: Any) -> str | None:
    """What the database has committed, as a value that changes with every commit (PostgreSQL:
    the current snapshot, `xmin:xmax:in-progress`); None elsewhere.

    Two reads under the same stamp see the same committed rows, so a page rendered from reads
    made after reading the stamp may be served again while the stamp is unchanged
    (duban/web/page_cache.py). Read-only work assigns no transaction id and leaves it as it is."""
    if conn.dialect.name != "postgresql":
        return None
    # The snapshot is the cluster's: the URL keeps two databases of one server apart.
    snapshot = conn.exec_driver_sql("SELECT pg_current_snapshot()").scalar_one()
    return f"{conn.engine.url.render_as_string(hide_password=True)}|{snapshot}"
