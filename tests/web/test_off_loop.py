"""A form waiting on the database does not stall the worker (issue 16): the handlers read the
form on the event loop and do the rest in the thread pool, so while one POST waits on a write
lock another request of the same worker process is answered.

The pages run in uvicorn on 127.0.0.1 in this process, so that the test can see the moment the
POST's first write reaches the database (a SQLAlchemy event, observing only) and asks the other
request only then: on code that writes on the event loop, nothing is answered until the lock
goes (PostgreSQL) or the POST gives up on it (SQLite's 30 s busy timeout, answered 500)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, func, select

from duban import runtime
from models.db import make_engine
from models.people import EvidenceFile, Receipt, WebSession
from models.tables import Obligation
from tests.notify.conftest import free_port
from tests.web.conftest import PASSWORD, Pages, csrf_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
WAIT = 60  # seconds: only so that a broken build fails instead of hanging
WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def live(pages: Pages) -> Iterator[str]:
    """The pages served by uvicorn on a free port of 127.0.0.1, in a thread of this process."""
    from duban.web.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(WAIT * 10):
        if server.started:
            break
        thread.join(0.1)
    assert server.started, "uvicorn did not start"
    yield base
    server.should_exit = True
    thread.join(WAIT)


class WriteLock:
    """Another connection holding the database's write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL:
    the tables the forms write, in EXCLUSIVE mode, which lets reads through)."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self._sqlite: sqlite3.Connection | None = None
        self._pg: Any = None
        if parsed.get_backend_name() == "sqlite":
            self._sqlite = sqlite3.connect(str(parsed.database), isolation_level=None)
            self._sqlite.execute("BEGIN IMMEDIATE")
            return
        self._engine = make_engine(url)
        self._pg = self._engine.connect()
        self._pg.exec_driver_sql(
            "LOCK TABLE obligation, audit_event, receipt, user_account, web_session IN EXCLUSIVE MODE"
        )

    def release(self) -> None:
        if self._sqlite is not None:
            self._sqlite.execute("ROLLBACK")
            self._sqlite.close()
        else:
            self._pg.rollback()
            self._pg.close()
            self._engine.dispose()


@dataclass
class Case:
    """A form to post while the lock is held, and what it must have written afterwards."""

    prepare: Callable[[requests.Session, str, Pages], tuple[str, dict[str, Any]]]
    wrote: Callable[[], bool]


def _count(model: type) -> int:
    with Session(runtime.engine()) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def _duty(pages: Pages) -> tuple[str, int]:
    links = pages.links("zhangsan@example.gov.cn")
    ob, path = sorted(links.items())[0]
    return path, ob


def _portal_ack(http: requests.Session, base: str, pages: Pages) -> tuple[str, dict[str, Any]]:
    path, ob = _duty(pages)
    csrf = csrf_of(http.get(f"{base}{path}/o/{ob}").text)
    return f"{path}/o/{ob}/ack", {"data": {"csrf": csrf}}


def _portal_done(http: requests.Session, base: str, pages: Pages) -> tuple[str, dict[str, Any]]:
    path, ob = _duty(pages)
    csrf = csrf_of(http.get(f"{base}{path}/o/{ob}").text)
    files = [("files", ("检查报告.pdf", PDF, "application/pdf"))]
    return f"{path}/o/{ob}/done", {"data": {"csrf": csrf, "note": "已完成"}, "files": files}


def _login_form(http: requests.Session, base: str) -> dict[str, str]:
    csrf = csrf_of(http.get(f"{base}/office/login").text)
    return {"csrf": csrf, "login": "wang", "password": PASSWORD, "next": "/office"}


def _office_login(http: requests.Session, base: str, pages: Pages) -> tuple[str, dict[str, Any]]:
    return "/office/login", {"data": _login_form(http, base)}


def _office_waive(http: requests.Session, base: str, pages: Pages) -> tuple[str, dict[str, Any]]:
    logged_in = http.post(
        f"{base}/office/login", data=_login_form(http, base), allow_redirects=False
    )
    assert logged_in.status_code == 303
    _, ob = _duty(pages)
    csrf = csrf_of(http.get(f"{base}/office/obligations/{ob}").text)
    return f"/office/obligations/{ob}/waive", {"data": {"csrf": csrf, "reason": "已合并办理"}}


def _status(status: str) -> Callable[[], bool]:
    def check() -> bool:
        with Session(runtime.engine()) as s:
            return s.exec(select(Obligation).where(Obligation.status == status)).first() is not None

    return check


CASES = {
    "portal-ack": Case(_portal_ack, lambda: _count(Receipt) == 1),
    "portal-done-with-file": Case(_portal_done, lambda: _count(EvidenceFile) == 1),
    "office-login": Case(_office_login, lambda: _count(WebSession) == 1),
    "office-waive": Case(_office_waive, _status("waived")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_it_answers_other_requests_while_a_form_waits_on_a_write_lock(
    live: str, pages: Pages, db_url: str, name: str
) -> None:
    case = CASES[name]
    http = requests.Session()
    path, kwargs = case.prepare(http, live, pages)
    duty_page = f"{live}{_duty(pages)[0]}"
    assert not case.wrote()
    here = threading.get_ident()
    writing = threading.Event()

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        first = statement.lstrip().upper()
        if threading.get_ident() != here and (first.startswith(WRITES) or "FOR UPDATE" in first):
            writing.set()  # the POST's first write: it waits on the lock from here on

    with ThreadPoolExecutor(1) as pool:
        lock = WriteLock(db_url)
        event.listen(Engine, "before_cursor_execute", on_execute)
        try:
            post = pool.submit(
                http.post, f"{live}{path}", allow_redirects=False, timeout=WAIT, **kwargs
            )
            assert writing.wait(WAIT), "the form never reached its first write"
            health = requests.get(f"{live}/healthz", timeout=WAIT)
            assert health.status_code == 200 and health.text == "ok"
            duties = requests.get(duty_page, timeout=WAIT)  # a page that reads the database
            assert duties.status_code == 200 and "任务" in duties.text
            assert not post.done(), "the form finished while the lock was held"
        finally:
            event.remove(Engine, "before_cursor_execute", on_execute)
            lock.release()
        answer = post.result(timeout=WAIT)
    assert answer.status_code == 303, answer.text[:500]
    assert case.wrote()
