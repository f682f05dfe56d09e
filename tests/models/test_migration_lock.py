"""Processes that start together on an empty database (`duban serve` beside its pages, `duban web
--workers 2`, two cron runs) migrate it once: the others wait for the migration lock, then find
the schema at head. Without the lock the second migrator failed half-way ("column already exists")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from models.db import make_engine
from models.migrate import current_revision, head_revision

ROOT = Path(__file__).resolve().parents[2]
# Each process waits on the same start time, so that all of them ask for the schema at once.
MIGRATE = """
import sys, time
from models.db import make_engine
from models.migrate import upgrade
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
upgrade(make_engine(sys.argv[1]))
"""


def test_concurrent_starts_migrate_an_empty_database_once(db_url: str) -> None:
    import time

    start = str(time.time() + 3.0)  # after every interpreter has imported SQLAlchemy and Alembic
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, db_url, start],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert [rc for rc, _ in results] == [0, 0, 0, 0], "\n".join(err for _, err in results)
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision(engine)
        assert inspect(engine).has_table("paper")
    finally:
        engine.dispose()
