"""Activating a plan against the cheapest way to put the same rows into the same table.

    eval "$(bash .ci/postgres)"
    .venv/bin/python bench/bench_activation.py [--rows 200000] [--big] [--row-by-row] [--counts-cost]
    # --big: 2,000,000 rows; --row-by-row: the path before the set-based one (rows built in Python)
    # --counts-cost: run twice, with the obligation_count triggers (migration 0022) and without

A fresh PostgreSQL database (on the server of DUBAN_TEST_PG_URL) gets a draft plan of T tasks,
each with one dated milestone (due 2025-06-30) owed by the group 全体单位 of U units (U = 1000,
T = rows / U), and the directory. Timed, in the same run:

1. `models.repo.obligations.activate_plan` (the group expanded, the pure engine asked once per
   occurrence, role and 交办 flag, the rows built by the server from those templates joined with
   the owner set, ≈100,000 per `INSERT … SELECT`: models/repo/bulk_obligations.py), committed;
2. after `TRUNCATE obligation`, the baseline: one `INSERT … SELECT … FROM generate_series(1, N)`
   of the same N rows (same columns, same plan, milestones and units) into the same indexed table.

Printed: seconds, rows/s, the ratio, and the process's peak RSS before and after activation (it
must not grow with the rows: only templates are buffered), and the load average at the start and
the end. Target: ratio ≤ 3.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import UTC, datetime

from bench_db import fresh_postgres
from sqlalchemy import text
from sqlmodel import Session

from flows.context import FlowContext
from models.db import make_engine
from models.repo.obligations import activate_plan
from notify.config import SendConfig
from schedules.calendar_data import load_calendar
from schedules.policy import PolicySet

DB_NAME = "duban_bench_activation"
UNITS = 1000
NOW = datetime(2025, 1, 6, 2, 0, tzinfo=UTC)  # 10:00 Shanghai


def _database() -> str:
    return fresh_postgres(DB_NAME)


PARENTS = [
    "INSERT INTO plan (id, title, issuer, doc_no, status, source_name, source_sha256, policy,"
    " created_at, year) VALUES (1, '基准计划', '', '', 'draft', '', '', '{}', :t, 2025)",
    "INSERT INTO unit (id, name, kind, status, note, created_at, updated_at) "
    "SELECT g, '单位' || g, 'department', 'active', '', :t, :t FROM generate_series(1, :u) g",
    "INSERT INTO unit_group (id, name, aliases, status, note, created_at, updated_at)"
    " VALUES (1, '全体单位', '[]', 'active', '', :t, :t)",
    "INSERT INTO group_member (group_id, unit_id) SELECT 1, g FROM generate_series(1, :u) g",
    "INSERT INTO task (id, plan_id, ref, position, section, title, text, policy) "
    "SELECT g, 1, CAST(g AS TEXT), g, '[]', '任务' || g, '', '{}' FROM generate_series(1, :k) g",
    "INSERT INTO task_unit (task_id, role, name, position) "
    "SELECT g, 'lead', '全体单位', 0 FROM generate_series(1, :k) g",
    "INSERT INTO milestone (id, task_id, key, label, due, source_text, due_is_default, is_report,"
    " policy, lead_units, support_units) SELECT g, g, 'm1', '6月底前', DATE '2025-06-30', '',"
    " false, false, '{}', '[]', '[]' FROM generate_series(1, :k) g",
]

BASELINE = """
INSERT INTO obligation (plan_id, task_id, milestone_id, unit_id, occurrence, role, due_on, due_at,
    status, escalation_level, next_action_at, needs_confirmation, since, assign_at, starts_on,
    lapses_on, created_at, updated_at, version)
SELECT 1, (g - 1) / :u + 1, (g - 1) / :u + 1, (g - 1) % :u + 1, DATE '2025-06-30', 'lead',
    DATE '2025-06-30', TIMESTAMPTZ '2025-06-30 09:30:00+00', 'open', 0, :t, false, :t,
    CASE WHEN true THEN :t END, DATE '2025-01-06', NULL, :t, :t, 0
FROM generate_series(1, :n) g
"""


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


COUNT_TRIGGERS = ("insert", "update", "delete", "truncate")


def run(rows: int, set_based: bool | None = None, counts: bool = True) -> dict[str, float]:
    tasks = max(1, rows // UNITS)
    n = tasks * UNITS
    url = _database()
    engine = make_engine(url)
    with engine.begin() as conn:
        for sql in PARENTS:
            conn.execute(text(sql), {"t": NOW, "u": UNITS, "k": tasks})
        # the ids above were given: move the sequences past them (activation adds the plan's
        # 进展报告 task and its milestones)
        for table in ("plan", "unit", "unit_group", "task", "milestone"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
            )
        conn.execute(text("ANALYZE"))
        if not counts:  # what activation cost before the dashboard's counts (the reference)
            for verb in COUNT_TRIGGERS:
                conn.execute(
                    text(f"ALTER TABLE obligation DISABLE TRIGGER obligation_count_{verb}")
                )
    ctx = FlowContext(
        engine=engine, send=SendConfig(), calendar=load_calendar(), policies=PolicySet()
    )
    rss_before = _rss_mb()
    t0 = time.perf_counter()
    with Session(engine) as session:
        report = activate_plan(
            session=session, ctx=ctx, plan_id=1, now=NOW, actor="bench", set_based=set_based
        )
        session.commit()
    activation = time.perf_counter() - t0
    rss_after = _rss_mb()
    # the plan's duties and each unit's periodic 进展报告 (on by default)
    assert report.created >= n, (report.created, n)
    with engine.connect() as conn:  # the counts kept (or, disabled, not)
        kept = conn.execute(text("SELECT coalesce(sum(n), 0) FROM obligation_count")).scalar()
        assert kept == (report.created if counts else 0), (kept, report.created)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE obligation CASCADE"))
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(BASELINE), {"t": NOW, "u": UNITS, "n": n})
    baseline = time.perf_counter() - t0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM obligation")).scalar() == n
    engine.dispose()
    return {
        "rows": n,
        "activation": activation,
        "baseline": baseline,
        "rss_before": rss_before,
        "rss_after": rss_after,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--big", action="store_true", help="2,000,000 rows")
    ap.add_argument(
        "--row-by-row", action="store_true", help="the rows built in Python, 5,000 per INSERT"
    )
    ap.add_argument(
        "--counts-cost",
        action="store_true",
        help="also run with the obligation_count triggers disabled (the cost they add)",
    )
    args = ap.parse_args()
    load = os.getloadavg()[0]
    rows, set_based = 2_000_000 if args.big else args.rows, False if args.row_by_row else None
    runs = {"with counts": run(rows, set_based)}
    if args.counts_cost:
        runs["without counts"] = run(rows, set_based, counts=False)
    r = runs["with counts"]
    print(
        f"PostgreSQL  units {UNITS}  tasks {r['rows'] // UNITS:,}"
        f"  load average {load:.2f} → {os.getloadavg()[0]:.2f}"
    )
    print(f"{'':<15}{'rows':>10} {'activation s':>13} {'rows/s':>9} {'INSERT…SELECT s':>16}"
          f" {'ratio':>6} {'peak RSS MB before→after':>26}")  # fmt: skip
    for name, r in runs.items():
        print(
            f"{name:<15}{r['rows']:>10,} {r['activation']:>13.2f}"
            f" {r['rows'] / r['activation']:>9,.0f}"
            f" {r['baseline']:>16.2f} {r['activation'] / r['baseline']:>6.2f}"
            f" {r['rss_before']:>12.0f} → {r['rss_after']:<10.0f}"
        )
    if args.counts_cost:
        on, off = runs["with counts"], runs["without counts"]
        print(
            f"the counts add {on['activation'] / off['activation'] - 1:+.1%} to activation,"
            f" {on['baseline'] / off['baseline'] - 1:+.1%} to the bare INSERT…SELECT"
        )


if __name__ == "__main__":
    main()
