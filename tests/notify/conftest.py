"""Real servers on 127.0.0.1 for the channel tests, and a small directory with obligations."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.directory import Channel, Contact, Unit
from models.tables import Milestone, Obligation, Plan, Task
from notify.notice import Audience, Item, Notice

T0 = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


def free_port() -> int:
    """A port nobody listens on (aiosmtpd 1.4 refuses port=0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpSink:
    """An aiosmtpd handler that keeps what it receives, or refuses recipients with `reject`."""

    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    reject: str | None = None  # e.g. "550 5.1.1 mailbox unavailable"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.reject:
            return self.reject
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """A controllable SMTP server: `start()` and `stop()` simulate an outage."""

    port: int
    sink: SmtpSink
    controller: Controller | None = None

    def start(self) -> None:
        if self.controller is None:
            self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
            self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running SMTP server on 127.0.0.1."""
    server = SmtpServer(port=free_port(), sink=SmtpSink())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """An SMTP server that is not running yet (connections are refused)."""
    server = SmtpServer(port=free_port(), sink=SmtpSink())
    yield server
    server.stop()


def add_unit(
    engine: Engine,
    name: str,
    *,
    contacts: tuple[tuple[str, str, str | None], ...] = (),
    channels: tuple[tuple[str, str, str | None], ...] = (),
    kind: str = "department",
) -> tuple[int, list[int]]:
    """A unit with (name, role, email) contacts and (type, url, secret) channels; ids back."""
    with Session(engine) as s:
        unit = Unit(name=name, kind=kind, created_at=T0, updated_at=T0)
        s.add(unit)
        s.flush()
        uid = unit.id or 0
        for cname, role, email in contacts:
            s.add(Contact(unit_id=uid, name=cname, role=role, email=email))
        rows = [Channel(unit_id=uid, type=t, url=u, secret=sec) for t, u, sec in channels]
        s.add_all(rows)
        s.commit()
        return uid, [c.id or 0 for c in rows]


def add_obligations(
    engine: Engine, unit_id: int, count: int, *, due: date = date(2024, 3, 29)
) -> list[int]:
    """`count` obligations of one plan owed by `unit_id`."""
    with Session(engine) as s:
        plan = Plan(title="2024年安全生产工作意见", status="active", created_at=T0)
        s.add(plan)
        s.flush()
        ids = []
        for n in range(count):
            task = Task(plan_id=plan.id or 0, ref=str(n + 1), title=f"任务{n + 1}")
            s.add(task)
            s.flush()
            ms = Milestone(task_id=task.id or 0, key="m1", label="3月底前完成", due=due)
            s.add(ms)
            s.flush()
            ob = Obligation(
                plan_id=plan.id or 0,
                task_id=task.id or 0,
                milestone_id=ms.id or 0,
                unit_id=unit_id,
                occurrence=due,
                due_on=due,
                due_at=datetime(due.year, due.month, due.day, 9, 30, tzinfo=UTC),
                created_at=T0,
                updated_at=T0,
            )
            s.add(ob)
            s.flush()
            ids.append(ob.id or 0)
        s.commit()
        return ids


def make_item(
    ob_id: int, *, stage: str = "remind", unit: str = "区应急局", n: int = 1, days_left: int = 3
) -> Item:
    """An item for obligation `ob_id` as the engine would describe it."""
    level = {"remind": 0, "chase": 1, "office": 2, "leader": 3}[stage]
    return Item(
        obligation_id=ob_id,
        stage=stage,
        seq=f"{stage}-1@2024-03-29",
        level=level,
        plan_title="2024年安全生产工作意见",
        task_ref=str(n),
        task_title=f"任务{n}：开展危化品专项检查",
        milestone="3月底前完成",
        due=date(2024, 3, 29) + timedelta(days=0),
        days_left=days_left,
        unit_name=unit,
    )


def make_notice(
    unit_id: int,
    ob_ids: list[int],
    *,
    stage: str = "remind",
    audience: Audience = Audience.UNIT_CONTACTS,
) -> Notice:
    """One notice listing an item per obligation."""
    items = tuple(make_item(ob, stage=stage, n=i + 1) for i, ob in enumerate(ob_ids))
    return Notice(unit_id=unit_id, audience=audience, items=items)
