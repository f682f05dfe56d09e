"""The roll-over of recurring duties (missed occurrences close as 逾期未报) against the cheapest SQL.

    eval "$(bash .ci/postgres)"
    .venv/bin/python bench/bench_rollover.py [--rows 100000] [--rounds-rows 20000] [--counts-cost]
    # --counts-cost: the set-based roll-over once more with the obligation_count triggers off

A fresh PostgreSQL database (on the server of DUBAN_TEST_PG_URL) gets an active plan of T tasks,
each with a monthly report owed by 1,000 units, and N overdue May occurrences (due 2025-05-26)
whose next one fell due at 00:00 on 2025-06-26; the tick runs at 00:30. Timed, in the same run,
each on a freshly loaded table:

1. the set-based roll-over (`models.repo.rollover.lapse_due`, as `run_tick` runs it before its
   claim rounds): rows selected and locked, updated, audited, queue lines closed, 20,000 per
   statement and transaction;
2. the claim rounds alone (`run_tick(roll_over=False)`, the path before this change: rows claimed
   2,500 at a time, loaded, decided by the engine one by one, recorded in bulk), on `--rounds-rows`
   rows (it is slow);
3. the baseline: one `UPDATE … WHERE` the same condition setting the same columns, and one
   `INSERT … SELECT` of the same audit records, in one transaction.

Printed: seconds, rows/s, each path's ratio to the baseline (per row for the rounds), and the
load average at the start and the end.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime

from bench_db import fresh_postgres
from sqlalchemy import text
from sqlmodel import Session

from models.db import make_engine

DB_NAME = "duban_bench_rollover"
UNITS = 1000
ACTIVATED = datetime(2025, 1, 6, 2, 0, tzinfo=UTC)
NOW = datetime(2025, 6, 25, 16, 30, tzinfo=UTC)  # 2025-06-26 00:30 Shanghai

PARENTS = [
    "INSERT INTO plan (id, title, issuer, doc_no, status, source_name, source_sha256, policy,"
    " created_at, year, activated_at) VALUES (1, '基准计划', '', '', 'active', '', '', '{}', :t,"
    " 2025, :t)",
    "INSERT INTO unit (id, name, kind, status, note, created_at, updated_at) "
    "SELECT g, '单位' || g, 'department', 'active', '', :t, :t FROM generate_series(1, :u) g",
    "INSERT INTO task (id, plan_id, ref, position, section, title, text, policy) "
    "SELECT g, 1, CAST(g AS TEXT), g, '[]', '任务' || g, '', '{}' FROM generate_series(1, :k) g",
    "INSERT INTO milestone (id, task_id, key, label, due, rrule, dtstart, source_text,"
    " due_is_default, is_report, policy, lead_units, support_units) SELECT g, g, 'm1', '每月26日前',"
    " NULL, 'FREQ=MONTHLY;BYMONTHDAY=26', DATE '2025-01-01', '', false, true, '{}', '[]', '[]'"
    " FROM generate_series(1, :k) g",
]
# The May occurrence of each unit's report, chased once (催办) and not reported.
ROWS = """
INSERT INTO obligation (plan_id, task_id, milestone_id, unit_id, occurrence, role, due_on, due_at,
    status, escalation_level, last_stage, last_seq, last_action_at, next_action_at,
    needs_confirmation, since, starts_on, lapses_on, created_at, updated_at, version)
SELECT 1, (g - 1) / :u + 1, (g - 1) / :u + 1, (g - 1) % :u + 1, DATE '2025-05-26', 'lead',
    DATE '2025-05-26', TIMESTAMPTZ '2025-05-26 09:30:00+00', 'overdue', 1, 'chase',
    'chase-1@2025-05-26', TIMESTAMPTZ '2025-05-27 01:30:00+00', :due, false, :t,
    DATE '2025-04-26', DATE '2025-06-26', :t, :t, 1
FROM generate_series(1, :n) g
"""
BASELINE = [
    """UPDATE obligation SET status = 'lapsed', last_seq = 'lapse@' || due_on::text,
        last_action_at = :now, requested_due = NULL, next_action_at = NULL, updated_at = :now,
        version = version + 1, lease_owner = NULL, lease_until = NULL
    WHERE next_action_at <= :now AND (lease_until IS NULL OR lease_until < :now)
        AND status IN ('open', 'reminded', 'overdue', 'escalated', 'reopened',
                       'extension_requested')
        AND lapses_on IS NOT NULL AND lapses_on > due_on AND lapses_on <= DATE '2025-06-26'""",
    """INSERT INTO audit_event (at, actor, entity, entity_id, action, from_status, to_status,
        reason, data)
    SELECT :now, 'duban', 'obligation', id, 'lapse', 'overdue', 'lapsed', 'rolled_over',
        json_build_object('level_before', escalation_level, 'level_after', escalation_level,
                          'stage', 'lapse', 'seq', last_seq)
    FROM obligation WHERE status = 'lapsed'""",
]


def _database() -> str:
    return fresh_postgres(DB_NAME)


def _load(url: str, n: int) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE obligation, audit_event CASCADE"))
        conn.execute(text(ROWS), {"t": ACTIVATED, "u": UNITS, "n": n, "due": NOW})
        conn.execute(text("ANALYZE obligation"))
    engine.dispose()


def _lapsed(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM obligation WHERE status = 'lapsed'"))
        audits = conn.execute(text("SELECT count(*) FROM audit_event WHERE action = 'lapse'"))
        found = (int(rows.scalar() or 0), int(audits.scalar() or 0))
    engine.dispose()
    return found


def run(rows: int, rounds_rows: int, counts_cost: bool = False) -> dict[str, float]:
    tasks = max(1, rows // UNITS)
    n = tasks * UNITS
    url = _database()
    os.environ["DUBAN_DATABASE_URL"] = url
    from duban import runtime
    from flows.context import flow_context, reset_context
    from flows.tick import run_tick
    from models.repo.rollover import lapse_due

    runtime.reset()
    reset_context()
    engine = make_engine(url)
    with engine.begin() as conn:
        for sql in PARENTS:
            conn.execute(text(sql), {"t": ACTIVATED, "u": UNITS, "k": tasks})
    ctx = flow_context()

    _load(url, n)
    t0 = time.perf_counter()
    lapsed = lapse_due(engine_session=lambda: Session(ctx.engine), ctx=ctx, now=NOW)
    set_based = time.perf_counter() - t0
    assert lapsed == n and _lapsed(url) == (n, n), (lapsed, _lapsed(url))

    _load(url, n)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for sql in BASELINE:
            conn.execute(text(sql), {"now": NOW})
    baseline = time.perf_counter() - t0
    assert _lapsed(url) == (n, n)

    m = min(n, max(UNITS, rounds_rows // UNITS * UNITS))
    _load(url, m)
    t0 = time.perf_counter()
    summary = run_tick(NOW, deliver=lambda notices, now: {}, roll_over=False)
    rounds = time.perf_counter() - t0
    assert summary.by_stage.get("lapse") == m and _lapsed(url) == (m, m), summary
    out = {"rows": n, "set": set_based, "baseline": baseline, "rounds_rows": m, "rounds": rounds}
    if counts_cost:  # the roll-over as it cost before the dashboard's counts (migration 0022)
        with engine.begin() as conn:
            for verb in ("insert", "update", "delete", "truncate"):
                conn.execute(
                    text(f"ALTER TABLE obligation DISABLE TRIGGER obligation_count_{verb}")
                )
        _load(url, n)
        t0 = time.perf_counter()
        lapse_due(engine_session=lambda: Session(ctx.engine), ctx=ctx, now=NOW)
        out["set_no_counts"] = time.perf_counter() - t0
        assert _lapsed(url) == (n, n)
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--rounds-rows", type=int, default=20_000)
    ap.add_argument("--counts-cost", action="store_true", help="also without obligation_count")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    r = run(args.rows, args.rounds_rows, args.counts_cost)
    per_row_base = r["baseline"] / r["rows"]
    print(f"PostgreSQL  load average {load:.2f} → {os.getloadavg()[0]:.2f}")
    print(f"{'path':<36} {'rows':>9} {'s':>8} {'rows/s':>9} {'ratio to baseline':>18}")
    for name, rows, secs in (
        ("UPDATE … WHERE + INSERT … SELECT", r["rows"], r["baseline"]),
        ("set-based roll-over (lapse_due)", r["rows"], r["set"]),
        ("claim rounds (roll_over=False)", r["rounds_rows"], r["rounds"]),
        *(
            [("set-based roll-over, counts off", r["rows"], r["set_no_counts"])]
            if args.counts_cost
            else []
        ),
    ):
        ratio = secs / rows / per_row_base
        print(f"{name:<36} {rows:>9,} {secs:>8.2f} {rows / secs:>9,.0f} {ratio:>18.2f}")


if __name__ == "__main__":
    main()
