"""The pages that only read (the portal's list, the dashboard, the queue) read without a
transaction, on the pages' own pool; the forms still write in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, select

from duban.web.app import WEB_POOL, web_engine
from models.people import Receipt
from tests.web.conftest import Pages, csrf_of, login


@contextmanager
def isolation_seen() -> Iterator[list[str]]:
    """The isolation level of every statement the pages run meanwhile."""
    seen: list[str] = []

    def before(conn: Any, *_args: Any) -> None:
        seen.append(conn.get_execution_options().get("isolation_level", "transaction"))

    engine = web_engine()
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_it_reads_the_listing_pages_without_a_transaction(pages: Pages, client: TestClient) -> None:
    ob, path = sorted(pages.links("zhangsan@example.gov.cn").items())[0]
    with isolation_seen() as seen:
        assert client.get(path).status_code == 200
    assert seen and set(seen) == {"AUTOCOMMIT"}
    login(client)
    for page in ("/office", "/office/queue"):
        with isolation_seen() as seen:
            assert client.get(page).status_code == 200
        assert seen and set(seen) == {"AUTOCOMMIT"}, page
    csrf = csrf_of(client.get(f"{path}/o/{ob}").text)
    with isolation_seen() as seen:
        assert client.post(f"{path}/o/{ob}/ack", data={"csrf": csrf}).status_code == 303
    assert seen and "AUTOCOMMIT" not in seen  # the 签收 and its audit: one transaction
    with Session(web_engine()) as s:
        assert s.exec(select(Receipt.by)).all() == ["区应急局"]


def test_it_keeps_the_pages_connections_on_postgresql(pages: Pages, client: TestClient) -> None:
    engine = web_engine()
    if engine.dialect.name != "postgresql":
        return  # SQLite keeps the engine's own pool
    _ob, path = sorted(pages.links("zhangsan@example.gov.cn").items())[0]
    for _ in range(3):
        assert client.get(path).status_code == 200
    assert engine.pool.size() == WEB_POOL  # type: ignore[attr-defined]
    assert engine.pool.checkedin() >= 1  # type: ignore[attr-defined]
