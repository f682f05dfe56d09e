"""`duban serve` starts the pages in a process of their own beside the scheduler; `--no-web` not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from models.db import make_engine
from models.migrate import upgrade
from tests.notify.conftest import free_port

DUBAN = str(Path(sys.executable).with_name("duban"))


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out |= {int(c) for c in text}
    return out


def _start(args: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DUBAN_WEB_PORT=str(port), DUBAN_TICK_SECONDS="1")
    return subprocess.Popen([DUBAN, *args], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).ok
    except requests.ConnectionError:
        return False


def test_serve_starts_the_pages_in_their_own_process_and_stops_them(
    cli_env: Path, db_url: str
) -> None:
    eng = make_engine(db_url)
    upgrade(eng)
    eng.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = cli_env / "serve.log"
    proc = _start(["serve"], port, log)
    try:
        end = time.monotonic() + 60
        while not _up(base):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < end, "网页未启动: " + log.read_text()
            time.sleep(0.2)
        kids = _children(proc.pid)
        assert len(kids) == 1, kids  # the pages: one process beside the scheduler's
        (web,) = kids
        assert (
            "-m duban web"
            in Path(f"/proc/{web}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
        assert not Path(f"/proc/{web}").exists() or not _up(base)
        assert "duban 服务已停止" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_no_web_starts_no_pages(cli_env: Path, db_url: str) -> None:
    eng = make_engine(db_url)
    upgrade(eng)
    eng.dispose()
    port = free_port()
    log = cli_env / "serve.log"
    proc = _start(["serve", "--no-web"], port, log)
    try:
        end = time.monotonic() + 60
        while "duban 服务启动" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < end, log.read_text()
            time.sleep(0.2)
        time.sleep(3)
        assert _children(proc.pid) == set()
        assert not _up(f"http://127.0.0.1:{port}")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_python_m_duban_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "duban", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "serve" in out.stdout and "web" in out.stdout
