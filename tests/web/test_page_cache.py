"""The console's pages kept while nothing is committed (PostgreSQL), and never after a commit.

The queue page and the dashboard are rendered once per data version (migration 0024) and person; any commit,
by any path (here: SQL from another connection, the CLI, a form), makes the next request render
afresh. Each session's CSRF token is put into the kept HTML; roles never share a page."""

from __future__ import annotations

import re
from collections import OrderedDict
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from duban.web.app import create_app
from duban.web.page_cache import HEADER, MARK, PAGES
from models.db import make_engine
from tests.flows.conftest import tick_at
from tests.web.conftest import PASSWORD, Pages, csrf_of, login

ESCALATED = (date(2024, 9, 27), date(2024, 9, 29), date(2024, 9, 30))


def _postgres() -> bool:
    return runtime.engine().dialect.name == "postgresql"


def _commit_elsewhere(sql: str, **args: object) -> None:
    """A commit the web process did not make (another connection, as the service's tick)."""
    engine = make_engine(runtime.settings().resolved_database_url)
    with engine.begin() as conn:
        conn.execute(text(sql), args)
    engine.dispose()


def _state(response: object) -> str:
    return response.headers[HEADER]  # type: ignore[attr-defined, no-any-return]


def test_the_queue_page_is_kept_until_anything_commits(pages: Pages, client: TestClient) -> None:
    for day in ESCALATED:
        tick_at(day)
    login(client)
    first = client.get("/office/queue")
    assert first.status_code == 200 and _state(first) == "rendered"
    assert "区应急局" in first.text
    second = client.get("/office/queue")
    if not _postgres():  # SQLite: no stamp, every request renders
        assert _state(second) == "rendered" and second.text == first.text
        return
    assert _state(second) == "cached" and second.text == first.text
    assert MARK not in second.text and csrf_of(second.text) == csrf_of(first.text)
    # filters and other pages are their own entries
    assert _state(client.get("/office/queue?level=3")) == "rendered"

    _commit_elsewhere("UPDATE unit SET name = '区应急管理局' WHERE name = '区应急局'")
    third = client.get("/office/queue")
    assert _state(third) == "rendered"
    assert "区应急管理局" in third.text and "区应急局<" not in third.text
    assert _state(client.get("/office/queue")) == "cached"

    # a write through the CLI (its own process's transaction) is seen at once as well
    sheet = int(re.findall(r'<tr id="s-(\d+)">', third.text)[0])
    result = CliRunner().invoke(app, ["queue", "note", "--sheet", str(sheet), "已电话催办：缓存"])
    assert result.exit_code == 0, result.output
    fourth = client.get("/office/queue")
    assert _state(fourth) == "rendered" and "已电话催办：缓存" in fourth.text


def test_each_session_gets_its_own_token_and_its_form_works(pages: Pages) -> None:
    for day in ESCALATED:
        tick_at(day)
    app_ = create_app()
    with (
        TestClient(app_, follow_redirects=False) as one,
        TestClient(app_, follow_redirects=False) as two,
    ):
        login(one)
        login(two)  # the same clerk, a second session (another desk)
        a, b = one.get("/office/queue"), two.get("/office/queue")
        assert _state(b) == ("cached" if _postgres() else "rendered")
        assert csrf_of(a.text) != csrf_of(b.text)
        assert a.text.replace(csrf_of(a.text), "") == b.text.replace(csrf_of(b.text), "")
        sheet = re.findall(r'<tr id="s-(\d+)">', b.text)[0]
        # the first session's token is no good in the second's form
        refused = two.post(
            f"/office/queue/sheet/{sheet}/note", data={"csrf": csrf_of(a.text), "text": "错令牌"}
        )
        assert refused.status_code == 403
        done = two.post(
            f"/office/queue/sheet/{sheet}/note",
            data={"csrf": csrf_of(b.text), "text": "第二台电脑"},
        )
        assert done.status_code == 303
        after = one.get("/office/queue")
        assert _state(after) == "rendered" and "第二台电脑" in after.text
        assert "错令牌" not in after.text


def test_a_leader_never_gets_the_office_page(pages: Pages, client: TestClient) -> None:
    for day in ESCALATED:
        tick_at(day)
    login(client)
    office_page = client.get("/office/queue")
    assert 'action="/office/queue/sheet/' in office_page.text
    client.cookies.clear()
    login(client, "zhang", PASSWORD)
    leader_page = client.get("/office/queue")
    assert _state(leader_page) == "rendered"
    assert "/office/queue/sheet/" not in leader_page.text.split("<h1>", 1)[1].split("action=")[0]
    assert 'action="/office/queue/sheet/' not in leader_page.text
    assert "张主任" in leader_page.text and "王科长" not in leader_page.text


def test_the_dashboard_counts_are_never_older_than_the_last_commit(
    pages: Pages, client: TestClient
) -> None:
    login(client)
    first = client.get("/office")
    assert first.status_code == 200 and _state(first) == "rendered"
    if _postgres():
        assert _state(client.get("/office")) == "cached"
    plan = runtime.engine().connect()
    with plan:
        title = plan.execute(text("SELECT title FROM plan WHERE status = 'active'")).scalar_one()
    assert title in first.text
    _commit_elsewhere("UPDATE plan SET title = :t WHERE status = 'active'", t="改过名的计划")
    after = client.get("/office")
    assert _state(after) == "rendered" and "改过名的计划" in after.text


def test_the_cache_keeps_within_its_budget() -> None:
    from duban.web.page_cache import PageCache

    kept = PageCache(budget=800)
    for i in range(20):
        kept.put(("page", i), bytes(90))
    assert kept.size <= 800 and len(kept.entries) == 8
    assert kept.get(("page", 0)) is None and kept.get(("page", 19)) == bytes(90)
    kept.put(("big",), bytes(200))  # over an eighth of the budget: not kept
    assert kept.get(("big",)) is None
    PAGES.clear()


def test_page_cache_mb_0_renders_every_request(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUBAN_PAGE_CACHE_MB", "0")
    runtime.reset()
    with TestClient(create_app(), follow_redirects=False) as c:
        login(c)
        states = {_state(c.get("/office/queue")) for _ in range(3)}
        states |= {_state(c.get("/office")) for _ in range(2)}
    assert states == {"rendered"}
    assert PAGES.entries == OrderedDict()


def test_requests_missing_together_wait_for_one_rendering() -> None:
    """After a commit, concurrent requests for one page render it once (the dashboard takes
    seconds over 1M rows: twenty renderings at once would take twenty times that)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from duban.web.page_cache import PageCache

    kept = PageCache()
    calls: list[int] = []
    started = threading.Event()
    release = threading.Event()

    def render() -> bytes:
        calls.append(1)
        started.set()
        release.wait(10)
        return b"<html>board</html>"

    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(kept.kept, ("board", 1), render)
        assert started.wait(10)
        others = [pool.submit(kept.kept, ("board", 1), render) for _ in range(7)]
        release.set()
        results = [first.result(10), *(f.result(10) for f in others)]
    assert len(calls) == 1
    assert {body for body, _ in results} == {b"<html>board</html>"}
    assert [was_kept for _, was_kept in results].count(False) == 1

    def broken() -> bytes:
        raise RuntimeError("数据库断开")

    with pytest.raises(RuntimeError):
        kept.kept(("board", 2), broken)
    assert kept.kept(("board", 2), lambda: b"again") == (b"again", False)  # not stuck
