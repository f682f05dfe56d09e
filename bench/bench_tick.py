"""Tick cost against the number of open obligations: it must grow with the due items, not the total.

    .venv/bin/python bench/bench_tick.py [--sizes 10000,100000,1000000] [--backends sqlite,postgres]

For each size N, a fresh database gets N open obligations over 200 units, 100 tasks (one milestone
each) and one active plan; 1% of them have `next_action_at` ≤ now (a reminder due now), the rest
a later one. The timed tick is `run_tick(now, deliver=<stub counting notices>)`: claim, decide,
group into notices, hand to delivery, record (the real tick minus the sending itself).

Baseline, same run and backend: the same tick over a table holding ONLY those D = N/100 due rows.
If the tick's cost followed the total, the N-row tick would cost up to 100× the baseline; a ratio
near 1 means the cost follows the due items. "idle s" is a tick with nothing due over the N rows
(one index probe). PostgreSQL: the server of DUBAN_TEST_PG_URL (see .ci/postgres), database
duban_bench, rows loaded with COPY; SQLite: a file in a temporary folder, rows by executemany.
Target: N = 1M on PostgreSQL, 10k due found, decided and handed over in under 2 s.

Two more measures over the same database (bench/tick_history.py; `--no-extras` leaves them out):
"receipt s", the 再次交办 step's reading that every tick in the office window does (the N rows
each have a delivered 交办; the old ones 签收, the due ones not yet: "resends" are due now), and
"papers s", one 督办 pass over the due rows (one 督办单 per unit listing its items, DOCX + PDF).
Their "×" columns are the ratio to the same baseline.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_db import copy_rows, fresh_postgres, migrated
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from tick_history import load_history, time_papers, time_receipts

from models.db import make_engine
from models.directory import Unit
from models.tables import Milestone, Obligation, Plan, Task
from notify.notice import Notice
from schedules.clock import OFFICE_TZ

NOW = datetime(2024, 3, 25, 9, 30, tzinfo=OFFICE_TZ)  # a Monday, inside the office window
DUE_SOON = date(2024, 3, 27)  # 2 working days ahead: the "2 days before" reminder is due now
SINCE = datetime(2024, 3, 1, 9, 0, tzinfo=OFFICE_TZ)
UNITS, TASKS = 200, 100
DB_NAME = "duban_bench"  # --db-name: engineers sharing one server each use their own
COLUMNS = [
    "plan_id",
    "task_id",
    "milestone_id",
    "unit_id",
    "occurrence",
    "role",
    "due_on",
    "due_at",
    "status",
    "escalation_level",
    "next_action_at",
    "needs_confirmation",
    "since",
    "created_at",
    "updated_at",
    "version",
]


@dataclass
class Row:
    """One measured configuration."""

    backend: str
    total: int
    due: int
    load_s: float
    idle_s: float
    tick_s: float
    handed: int
    notices: int
    record_s: float = 0.0  # of tick_s, the part after delivery (advancing the state)
    receipt_s: float = float("nan")  # the 再次交办 reading of one tick (median of 3)
    resends: int = 0
    paper_s: float = float("nan")  # one 督办 pass's papers
    papers: int = 0
    paper_items: int = 0


def is_due(i: int, sparse: bool) -> bool:
    """All rows (the baseline) or one row in each hundred."""
    return not sparse or i % 100 == 0


def obligation_rows(total: int, sparse: bool) -> Iterator[tuple[Any, ...]]:
    """`total` obligations, due now as `is_due` says, the others later in the year.

    The k-th due row gets the same unit, task and occurrence in the baseline and the full table,
    so both ticks group the same items into the same notices; only the rows around them differ.
    """
    created = SINCE.astimezone(UTC)
    for i in range(total):
        due = is_due(i, sparse)
        k = (i // 100 if sparse else i) if due else i
        unit, task = k % UNITS + 1, (k // UNITS) % TASKS + 1
        # distinct (milestone, unit, occurrence): due rows use occurrences from day 100 on
        occ = k // (UNITS * TASKS) + (100 if due else 0)
        if due:
            due_on, nxt = DUE_SOON, datetime(2024, 3, 25, 9, 0, tzinfo=OFFICE_TZ)
        else:
            due_on = date(2024, 6, 3) + timedelta(days=i % 180)
            nxt = datetime.combine(due_on - timedelta(days=7), NOW.timetz())
        due_at = datetime.combine(due_on, datetime.min.time(), OFFICE_TZ).replace(
            hour=17, minute=30
        )
        yield (
            1, task, task, unit, date(2024, 1, 1) + timedelta(days=occ), "lead", due_on,
            due_at.astimezone(UTC), "open", 0, nxt.astimezone(UTC), False, created, created,
            created, 0,
        )  # fmt: skip


def seed_parents(engine: Engine) -> None:
    """One active plan, TASKS tasks with one milestone each, UNITS units."""
    t = SINCE.astimezone(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Plan),
            [
                {
                    "id": 1,
                    "title": "基准计划",
                    "status": "active",
                    "created_at": t,
                    "activated_at": t,
                }
            ],
        )
        conn.execute(
            insert(Unit),
            [
                {
                    "id": u,
                    "name": f"单位{u:03d}",
                    "kind": "department",
                    "created_at": t,
                    "updated_at": t,
                }
                for u in range(1, UNITS + 1)
            ],
        )
        conn.execute(
            insert(Task),
            [
                {"id": k, "plan_id": 1, "ref": str(k), "title": f"任务{k}"}
                for k in range(1, TASKS + 1)
            ],
        )
        conn.execute(
            insert(Milestone),
            [
                {"id": k, "task_id": k, "key": "m1", "label": "按期完成"}
                for k in range(1, TASKS + 1)
            ],
        )


def load_obligations(engine: Engine, total: int, sparse: bool) -> None:
    """Bulk-load: COPY on PostgreSQL, executemany in chunks on SQLite."""
    copy_rows(engine, Obligation.__table__, COLUMNS, obligation_rows(total, sparse))  # type: ignore[attr-defined]


def fresh_database(backend: str, tmp: Path, name: str, db_name: str = "duban_bench") -> str:
    """An empty, migrated database; returns its URL (PostgreSQL: the database `db_name`)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / name}.db"
    else:
        return fresh_postgres(db_name)
    return migrated(url)


def analyse(engine: Engine) -> None:
    """Fresh statistics, as autovacuum / a long-running database would have."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def time_tick(url: str) -> tuple[float, float, int, int, float]:
    """Idle tick (nothing due), then the timed tick; returns (idle s, tick s, handed, notices)."""
    from duban import runtime
    from flows.context import reset_context
    from flows.tick import run_tick

    os.environ["DUBAN_DATABASE_URL"] = url
    runtime.reset()
    reset_context()
    counts = {"items": 0, "notices": 0}

    def deliver(notices: list[Notice], now: datetime) -> dict[int, str]:
        counts["notices"] += len(notices)
        counts["items"] += sum(len(n.items) for n in notices)
        return {}

    import flows.tick as tick_module

    spent = {"record": 0.0}
    real_record = tick_module.record_task.fn

    def timed_record(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return real_record(*args, **kwargs)
        finally:
            spent["record"] += time.perf_counter() - t

    tick_module.record_task.fn = timed_record  # type: ignore[method-assign]
    t0 = time.perf_counter()
    idle = run_tick(NOW - timedelta(days=30), deliver=deliver, owner="bench")
    spent["record"] = 0.0
    t1 = time.perf_counter()
    summary = run_tick(NOW, deliver=deliver, owner="bench")
    t2 = time.perf_counter()
    if idle.claimed or summary.actions != summary.claimed:
        raise SystemExit(f"tick did not do what the bench measures: idle={idle}, tick={summary}")
    runtime.reset()
    tick_module.record_task.fn = real_record  # type: ignore[method-assign]
    return t1 - t0, t2 - t1, summary.actions, counts["notices"], spent["record"]


def time_extras(url: str, row: Row) -> None:
    """The 再次交办 reading of a tick, then one 督办 pass's papers (tick_history)."""
    from duban import runtime
    from flows.context import reset_context

    os.environ["DUBAN_DATABASE_URL"] = url
    runtime.reset()
    reset_context()
    row.receipt_s, row.resends = time_receipts(NOW)
    row.paper_s, row.papers, row.paper_items = time_papers(NOW)
    runtime.reset()


def measure(backend: str, tmp: Path, total: int, sparse: bool, extras: bool) -> Row:
    """Build one database, load it, time the idle and the real tick (and the extras)."""
    url = fresh_database(backend, tmp, f"n{total}_{int(sparse)}", DB_NAME)
    engine = make_engine(url)
    seed_parents(engine)
    t = time.perf_counter()
    load_obligations(engine, total, sparse)
    if extras:
        load_history(engine)
    analyse(engine)
    load_s = time.perf_counter() - t
    engine.dispose()
    idle_s, tick_s, handed, notices, record_s = time_tick(url)
    due = sum(1 for i in range(total) if is_due(i, sparse))
    if handed != due:
        raise SystemExit(
            f"{backend} N={total}: {due} rows are due but the tick handed over {handed}"
        )
    row = Row(backend, total, due, load_s, idle_s, tick_s, handed, notices, record_s)
    if extras:
        time_extras(url, row)
    return row


def print_table(rows: list[Row]) -> None:
    """N, due, load, idle, tick and the ratio to the due-rows-only baseline of the same backend."""
    head = f"{'backend':<9}{'open N':>10}{'due':>8}{'load s':>9}{'idle s':>9}{'tick s':>9}"
    print(head + f"{'handed':>8}{'notices':>9}{'to deliv s':>11}{'record s':>9}{'× base':>8}")
    base = {(r.backend, r.due): r for r in rows if r.total == r.due}

    def ratio(r: Row, field: str) -> float:
        b = base.get((r.backend, r.due))
        return float(getattr(r, field) / getattr(b, field)) if b else float("nan")

    for r in rows:
        print(
            f"{r.backend:<9}{r.total:>10}{r.due:>8}{r.load_s:>9.2f}{r.idle_s:>9.3f}{r.tick_s:>9.3f}"
            f"{r.handed:>8}{r.notices:>9}{r.tick_s - r.record_s:>11.3f}{r.record_s:>9.3f}"
            f"{ratio(r, 'tick_s'):>8.2f}"
        )
    if all(r.receipt_s != r.receipt_s for r in rows):  # NaN: --no-extras
        return
    print()
    print(
        f"{'backend':<9}{'open N':>10}{'due':>8}{'receipt s':>10}{'resends':>8}{'× base':>8}"
        f"{'papers s':>10}{'papers':>7}{'items':>7}{'s/paper':>9}{'× base':>8}"
    )
    for r in rows:
        per = r.paper_s / r.papers if r.papers else float("nan")
        print(
            f"{r.backend:<9}{r.total:>10}{r.due:>8}{r.receipt_s:>10.3f}{r.resends:>8}"
            f"{ratio(r, 'receipt_s'):>8.2f}{r.paper_s:>10.3f}{r.papers:>7}{r.paper_items:>7}"
            f"{per:>9.3f}{ratio(r, 'paper_s'):>8.2f}"
        )


def main() -> None:
    """Run the sizes on the backends; each size with its baseline, in the same process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--no-extras", action="store_true", help="the tick only (no 再次交办, papers)"
    )
    parser.add_argument("--db-name", default="duban_bench", help="PostgreSQL database to recreate")
    args = parser.parse_args()
    global DB_NAME
    DB_NAME = args.db_name
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            for n in sizes:
                for total, sparse in ((n // 100, False), (n, True)):  # baseline, then full table
                    rows.append(measure(backend, Path(tmp), total, sparse, not args.no_extras))
                    r = rows[-1]
                    print(
                        f"  {backend} N={r.total} due={r.due}: load {r.load_s:.1f} s, tick {r.tick_s:.3f} s"
                    )
    print_table(rows)


if __name__ == "__main__":
    main()
