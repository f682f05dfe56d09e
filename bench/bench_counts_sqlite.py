"""What the dashboard's counts (migration 0022's row triggers) cost SQLite's bulk writes.

    .venv/bin/python bench/bench_counts_sqlite.py [--rows 200000]

Two fresh SQLite files, one with the `obligation_count` triggers and one with them dropped (the
reference, as before 0022), each get in turn: `--rows` obligations through bench_tick's loader
(chunked executemany of plain INSERTs, as SQLite's activation writes them, 5,000 a statement);
one UPDATE of every row's status (as a roll-over closes them, set-based); one UPDATE that changes
no counted column (next_action_at, as every tick round does). Printed: seconds of each and the
ratio with / without, the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
import bench_tick

from models.db import make_engine


def run(home: Path, rows: int, counts: bool) -> dict[str, float]:
    url = bench_tick.fresh_database("sqlite", home, f"counts{int(counts)}")
    engine = make_engine(url)
    if not counts:
        with engine.begin() as conn:
            for verb in ("insert", "update", "delete"):
                conn.execute(text(f"DROP TRIGGER obligation_count_{verb}"))
    bench_tick.seed_parents(engine)
    out = {}
    t = time.perf_counter()
    bench_tick.load_obligations(engine, rows, sparse=True)
    out["insert"] = time.perf_counter() - t
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("UPDATE obligation SET status = 'lapsed'"))
    out["update status"] = time.perf_counter() - t
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("UPDATE obligation SET next_action_at = NULL"))
    out["update other"] = time.perf_counter() - t
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT coalesce(sum(n), 0) FROM obligation_count")).scalar()
    assert kept == (rows if counts else 0), kept
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    args = ap.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        off = run(Path(tmp), args.rows, counts=False)
        on = run(Path(tmp), args.rows, counts=True)
    print(f"SQLite  {args.rows:,} rows  load average {load:.2f} → {os.getloadavg()[0]:.2f}")
    print(f"{'statement':<16}{'without s':>10}{'with s':>9}{'ratio':>7}")
    for name in off:
        print(f"{name:<16}{off[name]:>10.2f}{on[name]:>9.2f}{on[name] / off[name]:>7.2f}")


if __name__ == "__main__":
    main()
