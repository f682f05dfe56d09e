"""A test office with the pages: the flows' office (SMTP on 127.0.0.1, a plan activated on
2024-09-02), the portal address set, reminders delivered, two accounts, and a client."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from flows.context import reset_context
from flows.delivery import reset_pipeline
from models.tables import AuditEvent
from tests.flows.conftest import Office, office, tick_at  # noqa: F401  (fixture)
from tests.notify.conftest import free_port

PASSWORD = "correct-horse-battery"
LINK = re.compile(r"(https?://[^\s<>\"]+)/u/([A-Za-z0-9._-]+)/o/(\d+)")


@dataclass
class Pages:
    """The office with its pages: where the portal lives and what the messages said."""

    office: Office
    base: str

    def links(self, email: str) -> dict[int, str]:
        """Obligation id → the portal path a message delivered to `email` links it with."""
        out: dict[int, str] = {}
        for _, rcpts, msg in self.office.smtp.sink.received:
            if email not in rcpts:
                continue
            body = msg.get_body(("plain",))
            assert body is not None
            for _base, token, ob in LINK.findall(body.get_content()):
                out[int(ob)] = f"/u/{token}"
        return out

    def audit(self, ob_id: int) -> list[AuditEvent]:
        """The obligation's audit events, in order."""
        with Session(runtime.engine()) as s:
            return list(
                s.exec(
                    select(AuditEvent)
                    .where(AuditEvent.entity == "obligation", AuditEvent.entity_id == ob_id)
                    .order_by(AuditEvent.id)  # type: ignore[arg-type]
                ).all()
            )


def deliver_reminders(office: Office, base: str) -> None:  # noqa: F811
    """Point the messages at `base` and run the ticks that send 2024-09-26's first reminders."""
    os.environ["DUBAN_PORTAL_URL"] = base
    runtime.reset()
    reset_context()
    reset_pipeline()
    tick_at(date(2024, 9, 19))


def add_accounts() -> None:
    """王科长 (office) and 张主任 (leader, read-only)."""
    for login_name, role, name in (("wang", "office", "王科长"), ("zhang", "leader", "张主任")):
        args = ["users", "add", login_name, "--role", role, "--name", name, "--password-stdin"]
        result = CliRunner().invoke(app, args, input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output


@pytest.fixture
def pages(office: Office) -> Iterator[Pages]:  # noqa: F811
    """Reminders delivered with links to http://testserver, accounts added."""
    deliver_reminders(office, "http://testserver")
    add_accounts()
    yield Pages(office, "http://testserver")
    os.environ.pop("DUBAN_PORTAL_URL", None)


@pytest.fixture
def client(pages: Pages) -> Iterator[TestClient]:
    """The app in this process (the same settings as the CLI)."""
    from duban.web.app import create_app

    with TestClient(create_app(), follow_redirects=False) as c:
        yield c


def csrf_of(html: str) -> str:
    """The CSRF value of the first form on a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def login(client: TestClient, who: str = "wang", password: str = PASSWORD) -> object:
    """Log in through the form; returns the response."""
    page = client.get("/office/login")
    return client.post(
        "/office/login",
        data={"csrf": csrf_of(page.text), "login": who, "password": password, "next": "/office"},
    )


@pytest.fixture
def server(office: Office, tmp_path: Path) -> Iterator[str]:  # noqa: F811
    """`duban web` on a free port, on the office's database; messages link to it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    deliver_reminders(office, base)
    add_accounts()
    log = (tmp_path / "web.log").open("w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("duban")), "web", "--port", str(port)],
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                if proc.poll() is not None:
                    pytest.fail("duban web exited: " + (tmp_path / "web.log").read_text())
                time.sleep(0.1)
        else:
            pytest.fail("duban web did not start: " + (tmp_path / "web.log").read_text())
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        os.environ.pop("DUBAN_PORTAL_URL", None)
