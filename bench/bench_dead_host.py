"""A pass with one host down against the same pass with every host up, in one run.

    .venv/bin/python bench/bench_dead_host.py [--units 200] [--rounds 3] [--database URL]

Half the units post to webhook host A, half to host B (both local receivers on 127.0.0.1).
Each round delivers the same notices three ways, each on a fresh database: every host up (the
baseline), B's port closed (connection refused), and B a name that does not resolve. The
per-host breaker (notify/breaker.py) pauses B after three consecutive transient failures, so the
pass goes on at A's pace and B's messages are left pending for a later pass. Target: the pass
with a host down takes at most 2× the baseline (median ratio). The table also shows what
happened to B's messages (pending, never lost) and how many attempts were made to it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).parent))

from bench_delivery import T0, _serve_http, database_url, free_port, seed, start

from models.db import make_engine
from models.migrate import upgrade
from notify.pipeline import Pipeline, PipelineOptions
from notify.render import OfficeInfo, Renderer
from notify.webhook import Webhook


def one_pass(url: str, units: int, hook_a: str, hook_b: str) -> tuple[float, int, int]:
    """Seconds for one pass; messages sent; messages left pending."""
    engine = make_engine(url)
    upgrade(engine)
    notices = seed(engine, units // 2, ("webhook", hook_a), prefix="甲主机单位")
    notices += seed(engine, units - units // 2, ("webhook", hook_b), prefix="乙主机单位")
    pipe = Pipeline(
        engine=engine,
        transports={"webhook": Webhook()},
        renderer=Renderer(OfficeInfo(name="区安委办", contact="021-00000000")),
        options=PipelineOptions(),
    )
    started = time.perf_counter()
    report = pipe.deliver(notices, now=T0)
    elapsed = time.perf_counter() - started
    engine.dispose()
    if report.sent + report.pending != units:
        raise RuntimeError(f"lost messages: {report.summary()}")
    return elapsed, report.sent, report.pending


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", help="PostgreSQL URL (default: a SQLite file)")
    args = parser.parse_args()
    port_a, port_b, closed = free_port(), free_port(), free_port()
    sinks = [start(_serve_http, port_a), start(_serve_http, port_b)]
    hook_a = f"http://127.0.0.1:{port_a}/hook"
    cases = {
        "every host up": f"http://127.0.0.1:{port_b}/hook",
        "B port closed": f"http://127.0.0.1:{closed}/hook",
        "B name unresolvable": "http://dead-robot.invalid/hook",
    }
    times: dict[str, list[float]] = {c: [] for c in cases}
    outcome: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for n, (case, hook_b) in enumerate(cases.items()):
                url = database_url(args.database, Path(tmp), f"r{r}c{n}")
                elapsed, sent, pending = one_pass(url, args.units, hook_a, hook_b)
                times[case].append(elapsed)
                outcome[case] = (sent, pending)
    for proc in sinks:
        proc.kill()
    base = median(times["every host up"])
    db = "PostgreSQL" if args.database else "SQLite file"
    print(f"{args.units} units (half on host A, half on host B), {args.rounds} rounds, medians; "
          f"database: {db}")  # fmt: skip
    print(f"{'case':<22} {'pass s':>8} {'× all up':>9} {'sent':>6} {'pending':>8}")
    for case in cases:
        sent, pending = outcome[case]
        t = median(times[case])
        print(f"{case:<22} {t:>8.2f} {t / base:>9.2f} {sent:>6} {pending:>8}")


if __name__ == "__main__":
    main()
