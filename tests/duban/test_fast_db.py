"""The plain DB-API read path (duban/fast_db.py) answers exactly as the SQLAlchemy one does."""

from __future__ import annotations

from datetime import date

import pytest

from duban import fast_db, runtime
from duban.cli import status_view
from duban.office_views import list_obligations, list_queue
from tests.flows.conftest import Office, days, office, tick_at

__all__ = ["office"]


def _both(monkeypatch: pytest.MonkeyPatch, read: object) -> tuple[object, object]:
    with runtime.fast_reading() as conn:
        assert isinstance(conn, fast_db.FastConn)
        fast = read(conn)  # type: ignore[operator]
    with runtime.reading() as conn:
        core = read(conn)  # type: ignore[operator]
    return fast, core


def test_it_reads_the_lists_and_status_as_the_core_path_does(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    for day in days(date(2024, 9, 24), date(2024, 10, 9)):
        tick_at(day)
    runtime.reset()
    queries = [
        lambda c: list_obligations(c, limit=None),
        lambda c: list_obligations(c, limit=3, offset=2),
        lambda c: list_obligations(c, unit="甲街道", statuses=["overdue", "escalated", "open"]),
        lambda c: list_obligations(
            c, plan=office.plan_id, due_from=date(2024, 9, 26), due_to=date(2024, 10, 8)
        ),
        lambda c: list_queue(c, statuses=()),
        lambda c: list_queue(c, level=2, limit=1, offset=1),
    ]
    for query in queries:
        fast, core = _both(monkeypatch, query)
        assert fast == core
    queue = _both(monkeypatch, lambda c: list_queue(c, statuses=()))[0]
    assert queue.total > 0  # type: ignore[attr-defined]
    fast_status = status_view.collect_status("sender")
    monkeypatch.setattr(fast_db, "open_fast", lambda url: None)
    assert status_view.collect_status("sender") == fast_status
    assert fast_status["overdue"] > 0 and fast_status["last_tick"]


def test_it_falls_back_when_the_database_is_not_at_head(office: Office) -> None:
    with runtime.reading() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0013'")
        conn.commit()
    assert fast_db.open_fast(runtime.settings().resolved_database_url) is None
