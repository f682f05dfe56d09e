"""Delivery throughput: the pipeline against a bare loop, over the same local sinks, in one run.

    .venv/bin/python bench/bench_delivery.py [--messages 400] [--rounds 5] [--database URL]

Sinks run in their own processes on 127.0.0.1: an HTTP/1.1 keep-alive webhook receiver and an
aiosmtpd SMTP server. The bare loops are a `requests.Session` posting one prepared body and an
`smtplib.SMTP` connection sending one prepared message. The pipeline does its whole job for each
message: render the templates, claim the delivery rows (one transaction), send, record the
outcome (another transaction); one unit per message, one pass over all notices. The goal is a
pipeline rate of at least 80% of the bare rate. Rounds are paired (bare, then pipeline) so
that load from other processes hits both; the table shows medians.
"""

from __future__ import annotations

import argparse
import multiprocessing
import smtplib
import socket
import tempfile
import time
from datetime import UTC, date, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from statistics import median
from typing import Any

import requests
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.db import make_engine
from models.directory import Channel, Contact, Unit
from models.migrate import upgrade
from models.tables import Milestone, Obligation, Plan, Task
from notify.email import Email, SmtpConfig
from notify.notice import Audience, Item, Notice
from notify.pipeline import Pipeline, PipelineOptions
from notify.render import OfficeInfo, Renderer
from notify.webhook import Webhook

T0 = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)
DUE = date(2024, 3, 29)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a proxy would
    disable_nagle_algorithm = True  # else each reply waits ~40 ms for a delayed ACK

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve_http(port: int) -> None:
    ThreadingHTTPServer(("127.0.0.1", port), _Sink).serve_forever()


def _serve_smtp(port: int) -> None:
    from aiosmtpd.controller import Controller

    class Count:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    Controller(Count(), hostname="127.0.0.1", port=port).start()
    while True:
        time.sleep(3600)


def start(target: Any, port: int) -> multiprocessing.Process:
    proc = multiprocessing.get_context("spawn").Process(target=target, args=(port,), daemon=True)
    proc.start()
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sink on port {port} did not start")


def seed(
    engine: Engine, count: int, channel: tuple[str, str], prefix: str = "基准单位"
) -> list[Notice]:
    """`count` units, each with one contact, one channel and one obligation; a notice each."""
    notices = []
    with Session(engine) as s:
        plan = Plan(title="基准测试计划", status="active", created_at=T0)
        s.add(plan)
        s.flush()
        task = Task(plan_id=plan.id or 0, ref="1", title="开展安全生产检查")
        s.add(task)
        s.flush()
        ms = Milestone(task_id=task.id or 0, key="m", label="3月底前", due=DUE)
        s.add(ms)
        s.flush()
        for n in range(count):
            unit = Unit(name=f"{prefix}{n:05d}", created_at=T0, updated_at=T0)
            s.add(unit)
            s.flush()
            uid = unit.id or 0
            s.add(Contact(unit_id=uid, name="联络员", role="联络员", email=f"u{n}@example.gov.cn"))
            s.add(Channel(unit_id=uid, type=channel[0], url=channel[1], secret="bench-secret"))
            ob = Obligation(
                plan_id=plan.id or 0, task_id=task.id or 0, milestone_id=ms.id or 0,
                unit_id=uid, occurrence=DUE, due_on=DUE, due_at=T0, created_at=T0, updated_at=T0,
            )  # fmt: skip
            s.add(ob)
            s.flush()
            item = Item(ob.id or 0, "remind", "remind-1@2024-03-29", 0, plan.title, "1",
                        task.title, ms.label, DUE, 3, unit.name)  # fmt: skip
            notices.append(Notice(uid, Audience.UNIT_CONTACTS, (item,)))
        s.commit()
    return notices


def run_pipeline(
    url: str, count: int, channel: tuple[str, str], transport: Any, workers: int = 4
) -> float:
    engine = make_engine(url)
    upgrade(engine)
    notices = seed(engine, count, channel)
    pipe = Pipeline(
        engine=engine,
        transports={channel[0]: transport},
        renderer=Renderer(OfficeInfo(name="区安委办", contact="021-00000000")),
        options=PipelineOptions(workers=workers),
    )
    started = time.perf_counter()
    report = pipe.deliver(notices, now=T0)
    elapsed = time.perf_counter() - started
    engine.dispose()
    if report.sent != count:
        raise RuntimeError(f"pipeline sent {report.sent} of {count}: {report.summary()}")
    return count / elapsed


def bare_webhook(url: str, count: int) -> float:
    session = requests.Session()
    body = b'{"subject":"bench","text":"' + "督办".encode() * 200 + b'"}'
    headers = {"Content-Type": "application/json", "Idempotency-Key": "k"}
    started = time.perf_counter()
    for _ in range(count):
        session.post(url, data=body, headers=headers, timeout=10).raise_for_status()
    return count / (time.perf_counter() - started)


def bare_smtp(port: int, count: int) -> float:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = "基准测试", "office@example.gov.cn", "u@example.gov.cn"
    msg.set_content("督办" * 300)
    msg.add_alternative("<p>" + "督办" * 300 + "</p>", subtype="html")
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as conn:
        for _ in range(count):
            conn.send_message(msg)
    return count / (time.perf_counter() - started)


def database_url(arg: str | None, folder: Path, name: str) -> str:
    if arg:
        from sqlalchemy import text

        eng = make_engine(arg)
        with eng.begin() as conn:  # a fresh schema per round, as the tests do
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        eng.dispose()
        return arg
    return f"sqlite:///{folder / name}.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4, help="pipeline threads")
    parser.add_argument("--database", help="PostgreSQL URL (default: a SQLite file)")
    args = parser.parse_args()
    http_port, smtp_port = free_port(), free_port()
    sinks = [start(_serve_http, http_port), start(_serve_smtp, smtp_port)]
    hook = f"http://127.0.0.1:{http_port}/hook"
    smtp_cfg = SmtpConfig(host="127.0.0.1", port=smtp_port, mail_from="区安委办 <o@example.gov.cn>")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for sink, bare, channel, make in (
            ("webhook", lambda: bare_webhook(hook, args.messages), ("webhook", hook), Webhook),
            ("smtp", lambda: bare_smtp(smtp_port, args.messages), ("email", ""),
             lambda: Email(smtp_cfg)),
        ):  # fmt: skip
            pairs = []
            for r in range(args.rounds):  # paired rounds: load on the machine hits both sides
                url = database_url(args.database, Path(tmp), f"{sink}{r}")
                bare_rate = bare()
                pipe_rate = run_pipeline(url, args.messages, channel, make(), args.workers)
                pairs.append((bare_rate, pipe_rate))
            rows.append((sink, pairs))
    for proc in sinks:
        proc.kill()
    db = "PostgreSQL" if args.database else "SQLite file"
    print(f"{args.messages} messages per run, {args.rounds} paired rounds, medians; "
          f"database: {db}; pipeline workers: {args.workers}")  # fmt: skip
    print(f"{'sink':<8} {'bare msg/s':>11} {'pipeline msg/s':>15} {'ratio':>7} {'ratio range':>13}")
    for sink, pairs in rows:
        ratios = [p / b for b, p in pairs]
        print(
            f"{sink:<8} {median(b for b, _ in pairs):>11.0f} {median(p for _, p in pairs):>15.0f}"
            f" {median(ratios):>7.0%} {min(ratios):>6.0%}–{max(ratios):.0%}"
        )


if __name__ == "__main__":
    main()
