"""The benchmarks' databases: an empty, migrated PostgreSQL database of a bench's own (dropped and
created again on the server of DUBAN_TEST_PG_URL), or a SQLite file."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine, make_url

from models.db import make_engine
from models.migrate import upgrade


def fresh_postgres(db_name: str) -> str:
    """The URL of `db_name` on the test server, dropped, created again and migrated."""
    base = os.environ.get("DUBAN_TEST_PG_URL")
    if not base:
        raise SystemExit(
            'PostgreSQL: 未设置 DUBAN_TEST_PG_URL（先运行 eval "$(bash .ci/postgres)"）'
        )
    admin = make_engine(make_url(base).set(database="postgres").render_as_string(False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {db_name}"))
    admin.dispose()
    return migrated(make_url(base).set(database=db_name).render_as_string(hide_password=False))


def migrated(url: str) -> str:
    """`url`, after bringing its schema to head."""
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def copy_rows(
    engine: Engine, table: Any, columns: list[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Bulk-load `rows` (tuples in `columns` order) into `table`: COPY on PostgreSQL, executemany
    in chunks of 20,000 elsewhere."""
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cols = ", ".join(f'"{c}"' for c in columns)
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy,  # type: ignore[attr-defined]
            ):
                for row in rows:
                    copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        return
    with engine.begin() as conn:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(dict(zip(columns, row, strict=True)))
            if len(chunk) == 20_000:
                conn.execute(insert(table), chunk)
                chunk = []
        if chunk:
            conn.execute(insert(table), chunk)
