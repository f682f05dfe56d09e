"""The office's dashboard (`/office`) over 1M obligations in PostgreSQL: `board()` before and after
`obligation_count` (migration 0022), in the same run on the same data.

    eval "$(bash .ci/postgres)"; .venv/bin/python bench/bench_dashboard.py [--reuse] [--runs 9]
    .venv/bin/python bench/bench_dashboard.py --sqlite 1000000   # SQLite: its own file, loaded

Copies bench_pages' database (`duban_bench_pages`, built by bench/bench_pages.py; never changed
here) to `duban_bench_dash` (`CREATE DATABASE … TEMPLATE`: nobody may be connected to the source
meanwhile), or, with `--reuse`, takes the copy of the last run as it is. On the copy at revision
0021 it first times the old board (the GROUP BY over every obligation of the active plans, by
plan and by unit: the baseline), then upgrades to head (the backfill timed) and times, in turn,
the old GROUP BY again and the new `board()`, median of `--runs`, checking that both give the same
figures. Then `duban web` serves the copy and the page `/office` is timed from one client (median
of `--requests`, the service time), with the stylesheet from the same server as the baseline.
EXPLAIN (ANALYZE, BUFFERS) of the old and the new statement go to `--plans` (a file).

`--sqlite N`: instead, a fresh SQLite file gets N obligations the same way bench_pages loads them
(bench_tick's loader, its triggers keeping the counts; one in 5,000 submitted, one in 10,000 with
an extension asked) and the old GROUP BY and the new `board()` are timed on it.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
import bench_pages
import bench_tick

from models.db import make_engine
from models.migrate import current_revision, upgrade
from models.repo.overview import board, board_statement
from schedules.clock import OFFICE_TZ
from tests.models.counts_reference import old_board, old_statement

SOURCE, COPY = "duban_bench_pages", "duban_bench_dash"


def _url(name: str) -> str:
    base = os.environ.get("DUBAN_TEST_PG_URL")
    if not base:
        raise SystemExit(
            'PostgreSQL: 未设置 DUBAN_TEST_PG_URL（先运行 eval "$(bash .ci/postgres)"）'
        )
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def copy_database(source: str) -> float:
    """`duban_bench_dash` as a fresh copy of `source` (bench_pages' database); seconds taken."""
    admin = make_engine(_url("postgres"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        busy = conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"), {"d": source}
        ).scalar_one()
        if busy:
            raise SystemExit(f"{source} has {busy} session(s): try again when nobody uses it")
        conn.execute(text(f"DROP DATABASE IF EXISTS {COPY} WITH (FORCE)"))
        t = time.perf_counter()
        conn.execute(text(f"CREATE DATABASE {COPY} TEMPLATE {source}"))
        took = time.perf_counter() - t
    admin.dispose()
    return took


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median seconds of `runs` calls (after one warm-up call) and the last result."""
    out = fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def both(engine: Engine, today: date, fn: Callable[..., Any]) -> Any:
    with Session(engine) as s:
        return fn(s, today, by="plan"), fn(s, today, by="unit")


def explain(engine: Engine, today: date, out: Path) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the old and the new statement, by plan and by unit."""
    lines = []
    with engine.connect() as conn:
        for by in ("plan", "unit"):
            for name, stmt in (("old", old_statement), ("new", board_statement)):
                sql = str(
                    stmt(today, by).compile(
                        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                    )
                )
                plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql)).scalars().all()
                lines += [f"-- {name}, by {by}", sql, *plan, ""]
    out.write_text("\n".join(lines), encoding="utf-8")


def page_times(url: str, requests_n: int) -> dict[str, float]:
    """One client: median ms of `/office` and of the stylesheet (the baseline) from `duban web`."""
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
        sock.close()
        base = f"http://127.0.0.1:{port}"
        proc = bench_pages.serve(url, Path(tmp), port, 1)
        try:
            cookies = bench_pages.office_cookie(base)
            out = {}
            for name, path in (
                ("stylesheet (baseline)", "/static/duban.css"),
                ("/office", "/office"),
            ):
                times, _ = bench_pages.hammer([base + path] * (requests_n + 5), 1, cookies)
                out[name] = statistics.median(times[5:]) * 1000
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return out


def sqlite_run(rows: int, runs: int) -> None:
    """The old GROUP BY and the new board() on a SQLite file of `rows` obligations."""
    with tempfile.TemporaryDirectory() as tmp:
        bench_tick.UNITS = 2000
        engine = make_engine(bench_tick.fresh_database("sqlite", Path(tmp), "dash"))
        bench_tick.seed_parents(engine)
        t = time.perf_counter()
        bench_tick.load_obligations(engine, rows, sparse=True)
        with engine.begin() as conn:
            conn.execute(text("UPDATE obligation SET status='submitted' WHERE id % 5000 = 0"))
            conn.execute(
                text("UPDATE obligation SET status='extension_requested' WHERE id % 10000 = 7")
            )
        print(f"SQLite: loaded {rows} obligations in {time.perf_counter() - t:.1f} s")
        bench_tick.analyse(engine)
        today = bench_tick.NOW.astimezone(OFFICE_TZ).date()
        with engine.connect() as conn:
            counted = conn.execute(text("SELECT count(*) FROM obligation_count")).scalar_one()
        print(f"obligation_count rows: {counted}")
        old_s, old = timed(lambda: both(engine, today, old_board), runs)
        new_s, new = timed(lambda: both(engine, today, board), runs)
        if old != new:
            raise SystemExit("board() differs from the old GROUP BY")
        print(f"{'board(), plan + unit':<34}{'median ms':>10}{'× new':>8}")
        print(f"{'old GROUP BY, same run':<34}{old_s * 1000:>10.1f}{old_s / new_s:>8.1f}")
        print(f"{'new board() (obligation_count)':<34}{new_s * 1000:>10.2f}{1.0:>8.1f}")
        print(f"same figures: yes ({len(new[0])} plan rows, {len(new[1])} unit rows)")
        engine.dispose()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help=f"keep the last run's {COPY}")
    parser.add_argument("--source", default=SOURCE, help="the database to copy")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--plans", default="/tmp/bench_dashboard_explain.txt")
    parser.add_argument("--sqlite", type=int, default=0, help="SQLite instead: this many rows")
    args = parser.parse_args()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the start")
    if args.sqlite:
        sqlite_run(args.sqlite, args.runs)
        return
    if not args.reuse:
        print(f"copied {args.source} → {COPY} in {copy_database(args.source):.1f} s")
    url = _url(COPY)
    engine = make_engine(url)
    today = bench_tick.NOW.astimezone(OFFICE_TZ).date()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM obligation")).scalar_one()
    print(f"{rows} obligations, today {today}, revision {current_revision(engine)}")
    before = None
    if current_revision(engine) == "0021":
        before, _ = timed(lambda: both(engine, today, old_board), args.runs)
        print(f"before the migration: old board (plan + unit) {before * 1000:.1f} ms")
        t = time.perf_counter()
        upgrade(engine)
        print(f"upgrade to {current_revision(engine)} (backfill) {time.perf_counter() - t:.1f} s")
        bench_tick.analyse(engine)
    with engine.connect() as conn:
        counted = conn.execute(text("SELECT count(*) FROM obligation_count")).scalar_one()
    print(f"obligation_count rows: {counted}")
    old_s, old = timed(lambda: both(engine, today, old_board), args.runs)
    new_s, new = timed(lambda: both(engine, today, board), args.runs)
    if old != new:
        raise SystemExit("board() differs from the old GROUP BY")
    print(f"{'board(), plan + unit':<34}{'median ms':>10}{'× new':>8}")
    if before is not None:
        print(f"{'old GROUP BY, before migration':<34}{before * 1000:>10.1f}{before / new_s:>8.1f}")
    print(f"{'old GROUP BY, same run':<34}{old_s * 1000:>10.1f}{old_s / new_s:>8.1f}")
    print(f"{'new board() (obligation_count)':<34}{new_s * 1000:>10.2f}{1.0:>8.1f}")
    print(f"same figures: yes ({len(new[0])} plan rows, {len(new[1])} unit rows)")
    explain(engine, today, Path(args.plans))
    print(f"EXPLAIN (ANALYZE, BUFFERS) in {args.plans}")
    engine.dispose()
    pages = page_times(url, args.requests)
    for name, ms in pages.items():
        print(f"{name:<34}{ms:>10.1f} ms (one client, median of {args.requests})")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
