"""The pages under load: the portal page and the queue page over 1M open obligations in PostgreSQL.

    eval "$(bash .ci/postgres)"; .venv/bin/python bench/bench_pages.py [--total 1000000] [--units 2000]

A fresh database `duban_bench_pages` gets `--total` open obligations (bench_tick's loader: one active
plan, 100 tasks, `--units` units, 1 % due soon, the rest over the year), of which one in 5,000 is
submitted (waiting to be accepted), one in 10,000 has an extension asked, and one in 167 is a
line of an open 督办单 (one sheet per unit, about 3 lines each, every line with its numbered 督办单
paper: the page lists them). `duban web` (`--workers`, 1 by default) serves it on 127.0.0.1;
`--clients` (20) clients each send their share of `--requests` (400) requests per page, all at once: a unit's portal page
(a random unit's signed link), the office's queue page and dashboard (logged in; kept until the
next commit, duban/web/page_cache.py), the queue page again from a server that keeps nothing
(`DUBAN_PAGE_CACHE_MB=0`: what every request costs after a commit), and, as the baseline in the
same run, the stylesheet served by the same server. Reported: median and p95 latency, requests per
second, the median's ratio to the stylesheet's, and the median of 50 requests from one client
alone (the service time, without queueing), and the CPU time per request of the server's processes
and of the database's backends (/proc: what the shared machine's load does not inflate) with the
database sessions opened meanwhile (connections the pool did not keep). Target:
under 100 ms at the median. `--code DIR` serves another checkout's code (e.g. `git archive main`
unpacked) on the same data, for a before/after on the same machine minutes apart.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
import bench_tick

from models.db import (
    make_engine,
    session_scope,
)
from models.repo.accounts import add_user
from models.tokens import load_secret, mint_unit_token

PASSWORD = "bench-password-123"
DB_NAME = "duban_bench_pages"  # its own: bench_tick drops duban_bench


def load(total: int, units: int, home: Path) -> str:
    """The bench database, loaded and analysed; returns its URL."""
    bench_tick.UNITS = units
    url = bench_tick.fresh_database("postgres", home, "pages", DB_NAME)
    engine = make_engine(url)
    bench_tick.seed_parents(engine)
    t = time.perf_counter()
    bench_tick.load_obligations(engine, total, sparse=True)
    now = bench_tick.NOW.astimezone(UTC)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE obligation SET status='submitted', submitted_at=:t WHERE id % 5000 = 0"),
            {"t": now},
        )
        conn.execute(
            text(
                "UPDATE obligation SET status='extension_requested', requested_due=due_on + 30 "
                "WHERE id % 10000 = 7"
            )
        )
        load_sheets(conn, now)
    with session_scope(engine) as s:
        add_user(
            session=s,
            login="bench",
            password=PASSWORD,
            role="office",
            display_name="基准",
            now=now,
            by="bench",
        )
    bench_tick.analyse(engine)
    engine.dispose()
    print(f"loaded {total} obligations over {units} units in {time.perf_counter() - t:.1f} s")
    return url


def load_sheets(conn: Any, now: datetime) -> None:
    """The queue as the chase builds it: one 督办单 per unit, level and office day, its lines the
    unit's escalated obligations (one in 167: about 3 a unit), each with its numbered 督办单 paper
    (DOCX and PDF stored in the row, as `flows/papers.py` issues them)."""
    picked = "FROM obligation o WHERE o.id % 167 = 1"
    level = "CASE WHEN o.unit_id % 20 = 0 THEN 3 ELSE 2 END"
    day = "(CAST(:day AS date) - o.unit_id % 30)"
    conn.execute(
        text(
            "INSERT INTO queue_sheet (unit_id, level, office_day, status, notes, created_at) "
            f"SELECT u, {level.replace('o.unit_id', 'u')}, {day.replace('o.unit_id', 'u')}, "
            "'open', CAST('[]' AS json), CAST(:t AS timestamptz) - make_interval(days => u % 30) "
            f"FROM (SELECT DISTINCT o.unit_id AS u {picked}) AS units"
        ),
        {"t": now, "day": now.date()},
    )
    conn.execute(
        text(
            "INSERT INTO queue_item (obligation_id, sheet_id, level, status, notes, created_at) "
            "SELECT o.id, s.id, s.level, 'open', CAST('[]' AS json), s.created_at "
            "FROM obligation o JOIN queue_sheet s ON s.unit_id = o.unit_id WHERE o.id % 167 = 1"
        )
    )
    conn.execute(
        text(
            "INSERT INTO paper (kind, year, number, obligation_id, seq, unit_id, title, body, "
            "docx, pdf, created_at) "
            "SELECT 'office', 2024, row_number() OVER (ORDER BY q.id), q.obligation_id, "
            "'office:' || q.level || '@' || o.due_on, o.unit_id, "
            "'督办单〔2024〕' || row_number() OVER (ORDER BY q.id) || '号', '督办', "
            "convert_to(repeat('docx ', 4000), 'UTF8'), convert_to(repeat('%PDF ', 8000), 'UTF8'), "
            "q.created_at FROM queue_item q JOIN obligation o ON o.id = q.obligation_id"
        )
    )


def reused(home: Path) -> str:
    """The last run's database (same data: the load is deterministic)."""
    base = os.environ["DUBAN_TEST_PG_URL"]
    return make_url(base).set(database=DB_NAME).render_as_string(hide_password=False)


def serve(
    url: str, home: Path, port: int, workers: int, code: str = "", **extra: str
) -> subprocess.Popen[bytes]:
    """`duban web` on the bench database (from the `code` checkout's sources when given)."""
    env = dict(
        os.environ,
        DUBAN_DATABASE_URL=url,
        DUBAN_HOME=str(home),
        DUBAN_NOW=bench_tick.NOW.isoformat(),
        **extra,
    )
    if code:
        env["PYTHONPATH"] = str(Path(code).resolve())
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("duban")),
            "web",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
    )
    for _ in range(300):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("duban web did not start")


def office_cookie(base: str) -> dict[str, str]:
    """Log in as the bench account; the session cookie."""
    s = requests.Session()
    page = s.get(f"{base}/office/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = s.post(
        f"{base}/office/login",
        data={"csrf": csrf.group(1), "login": "bench", "password": PASSWORD},
        allow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return dict(s.cookies)


def _ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def cpu_ticks(root: int, url: str) -> tuple[dict[int, int], dict[int, int], int]:
    """CPU ticks so far of the server's processes (the root and its workers) and of the
    PostgreSQL backends of the bench database, by pid, and the sessions the database has seen:
    a cost per request that the machine's load does not inflate the way it inflates wall time
    (Linux /proc; other engineers share the cores)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    engine = make_engine(url)
    with engine.connect() as conn:
        backends = (
            conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            .scalars()
            .all()
        )
        sessions = conn.execute(
            text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one()
    engine.dispose()

    def ticks(pids: list[int]) -> dict[int, int]:
        out = {}
        for pid in pids:
            try:
                out[pid] = _ticks(pid)
            except (OSError, IndexError, ValueError):
                continue
        return out

    return ticks(tree), ticks(list(backends)), int(sessions)


def cpu_used(before: dict[int, int], after: dict[int, int]) -> float:
    """Seconds of CPU between two samples (a process gone by the second is not counted)."""
    return sum(t - before.get(pid, 0) for pid, t in after.items()) / os.sysconf("SC_CLK_TCK")


def hammer(paths: list[str], clients: int, cookies: dict[str, str]) -> tuple[list[float], float]:
    """All `paths` through `clients` concurrent sessions; per-request seconds and wall time."""
    share = [paths[i::clients] for i in range(clients)]

    def one(mine: list[str]) -> list[float]:
        s = requests.Session()
        s.cookies.update(cookies)
        out = []
        for p in mine:
            t = time.perf_counter()
            r = s.get(p)
            out.append(time.perf_counter() - t)
            assert r.status_code == 200, (p, r.status_code)
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        times = [x for part in pool.map(one, share) for x in part]
    return times, time.perf_counter() - t0


@contextmanager
def committing(url: str, every: float) -> Iterator[None]:
    """While inside, a write committed every `every` seconds (0: none), as a busy office's
    clerks and the service's ticks do: each one makes the kept pages render afresh."""
    if not every:
        yield
        return
    stop = threading.Event()
    engine = make_engine(url)

    def write() -> None:
        while not stop.wait(every):
            with engine.begin() as conn:
                conn.execute(text("UPDATE unit SET note = note WHERE id = 1"))

    writer = threading.Thread(target=write)
    writer.start()
    try:
        yield
    finally:
        stop.set()
        writer.join()
        engine.dispose()


def main() -> None:
    """Load, serve, measure the three pages, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the last run's duban_bench_pages"
    )
    parser.add_argument("--code", default="", help="serve this checkout's sources instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        url = reused(home) if args.reuse else load(args.total, args.units, home)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        base = f"http://127.0.0.1:{port}"
        secret = load_secret(home)  # before the workers start: they read it, none writes it
        now = bench_tick.NOW
        rng = random.Random(1)
        exp = now + timedelta(days=30)
        units = [rng.randint(1, args.units) for _ in range(args.requests)]
        links = ["/u/" + mint_unit_token(secret, u, issued=now, expires=exp) for u in units]
        results: dict[str, tuple[list[float], float]] = {}
        alone: dict[str, float] = {}
        cpu: dict[str, tuple[float, float, int]] = {}
        # The console's pages are kept until the next commit (duban/web/page_cache.py); the last
        # row is the queue page from a server that keeps nothing (DUBAN_PAGE_CACHE_MB=0): the
        # cost of every request after a commit.
        servers = [
            (
                "",
                {},
                [
                    "stylesheet (baseline)",
                    "portal page",
                    "queue page",
                    "queue page, a commit a second",
                    "dashboard",
                ],
            ),
            (" (rendered each time)", {"DUBAN_PAGE_CACHE_MB": "0"}, ["queue page", "dashboard"]),
        ]
        for suffix, extra, names in servers:
            proc = serve(url, home, port, args.workers, args.code, **extra)
            try:
                cookies = office_cookie(base)
                kinds = {
                    "stylesheet (baseline)": [f"{base}/static/duban.css"] * args.requests,
                    "portal page": [base + p for p in links],
                    "queue page": [f"{base}/office/queue"] * args.requests,
                    "queue page, a commit a second": [f"{base}/office/queue"] * args.requests,
                    "dashboard": [f"{base}/office"] * args.requests,
                }
                # warm up at full concurrency: templates compiled, statements prepared, pools
                # filled (and the dashboard's first rendering, which takes seconds at 1M)
                hammer([f"{base}/office"] * args.clients, args.clients, cookies)
                hammer(
                    [base + links[0], f"{base}/office/queue"] * args.clients, args.clients, cookies
                )
                for name in names:
                    paths = kinds[name]
                    label = name + suffix
                    alone[label] = statistics.median(hammer(paths[:50], 1, cookies)[0])
                    web0, db0, s0 = cpu_ticks(proc.pid, url)
                    with committing(url, 1.0 if "commit" in name else 0):
                        results[label] = hammer(paths, args.clients, cookies)
                    web1, db1, s1 = cpu_ticks(proc.pid, url)
                    n = len(paths)
                    cpu[label] = (
                        cpu_used(web0, web1) / n,
                        cpu_used(db0, db1) / n,
                        s1 - s0 - 1,
                    )
            finally:
                proc.terminate()
                proc.wait(timeout=10)
    base_median = statistics.median(results["stylesheet (baseline)"][0])
    print(
        f"\n{args.total} open obligations, {args.units} units, {args.clients} clients, "
        f"{args.workers} worker(s){', code from ' + args.code if args.code else ''}"
    )
    print(
        f"{'page':<24}{'1 client ms':>12}{'requests':>9}{'median ms':>11}{'p95 ms':>9}{'req/s':>8}"
        f"{'× static':>10}{'web CPU ms':>11}{'db CPU ms':>10}{'db sessions':>12}"
    )
    for name, (times, wall) in results.items():
        med = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1]
        print(
            f"{name:<24}{alone[name] * 1000:>12.1f}{len(times):>9}{med * 1000:>11.1f}"
            f"{p95 * 1000:>9.1f}"
            f"{len(times) / wall:>8.0f}{med / base_median:>10.1f}"
            f"{cpu[name][0] * 1000:>11.2f}{cpu[name][1] * 1000:>10.2f}{cpu[name][2]:>12}"
        )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end of the run")


if __name__ == "__main__":
    main()
