"""Migration 0024: `data_version.n` moves once per committed write, in the writing transaction.

The console's kept pages (duban/web/page_cache.py) are only right if every write that can change
a page moves the number, and moves it no earlier than its rows become visible. PostgreSQL only."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from models.db import data_stamp

V0024 = importlib.import_module("models.migrations.versions.0024_data_version")


@pytest.fixture
def pg(engine: Engine) -> Iterator[Engine]:
    if engine.dialect.name != "postgresql":
        pytest.skip("the data version is PostgreSQL's (SQLite keeps no pages)")
    yield engine


def _n(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT n FROM data_version")).scalar_one())


def _unit_sql(name: str) -> str:
    return (
        "INSERT INTO unit (name, kind, status, note, created_at, updated_at) "
        f"VALUES ('{name}', 'department', 'active', '', now(), now())"
    )


def test_every_table_but_the_bookkeeping_ones_moves_it(pg: Engine) -> None:
    with pg.connect() as conn:
        triggered = set(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE t.tgname = c.relname || '_data_version'"
                )
            ).scalars()
        )
    models = set(SQLModel.metadata.tables)
    assert models - triggered == set(V0024.UNCOUNTED)  # a new table without it fails here
    assert not triggered & set(V0024.UNCOUNTED)


def test_once_per_committed_write_and_never_for_reads_or_rollbacks(pg: Engine) -> None:
    start = _n(pg)
    with pg.begin() as conn:  # several statements, two tables: one move
        conn.execute(text(_unit_sql("甲街道")))
        conn.execute(text(_unit_sql("乙街道")))
        conn.execute(text("UPDATE unit SET name = name || '办' WHERE name = '甲街道'"))
        conn.execute(
            text("INSERT INTO unit_alias (unit_id, alias) SELECT id, '甲' FROM unit LIMIT 1")
        )
    assert _n(pg) == start + 1
    with pg.connect() as conn:  # reads only
        conn.execute(text("SELECT count(*) FROM unit")).scalar_one()
        conn.commit()
    assert _n(pg) == start + 1
    with pg.connect() as conn:  # rolled back
        conn.execute(text(_unit_sql("丙街道")))
        conn.rollback()
    assert _n(pg) == start + 1
    with pg.begin() as conn:  # a savepoint rolled back, then a write: one move
        nested = conn.begin_nested()
        conn.execute(text(_unit_sql("丁街道")))
        nested.rollback()
        conn.execute(text("DELETE FROM unit WHERE name = '乙街道'"))
    assert _n(pg) == start + 2
    with pg.begin() as conn:  # bookkeeping only: the sender's lease
        conn.execute(text("DELETE FROM service_lease"))
    assert _n(pg) == start + 2
    with pg.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM data_version_mark")).scalar_one() == 0


def test_it_moves_at_the_commit_not_before(pg: Engine) -> None:
    start = _n(pg)
    writer = pg.connect()
    writer.begin()
    writer.execute(text(_unit_sql("戊街道")))
    with pg.connect() as reader:  # the write is not visible, nor is the move
        assert reader.execute(text("SELECT n FROM data_version")).scalar_one() == start
        assert reader.execute(text("SELECT count(*) FROM unit")).scalar_one() == 0
    with pg.begin() as other:  # a second writer commits while the first is still open
        other.execute(text(_unit_sql("己街道")))
    assert _n(pg) == start + 1
    writer.commit()
    writer.close()
    assert _n(pg) == start + 2
    with pg.connect() as conn:
        stamp = data_stamp(conn)
    assert stamp is not None and stamp.endswith(f"|{start + 2}")
