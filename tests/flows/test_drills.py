"""Fault drills in-process, against real local servers: each channel's message is delivered or
shown as failed, nothing is lost, the office is told (tick output, status, doctor, notify failed).

Each drill runs on SQLite and PostgreSQL (the `office` fixture's database is parametrised).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, time
from pathlib import Path

from sqlmodel import Session, col, select
from typer.testing import CliRunner
from werkzeug import Request, Response

from duban import runtime
from duban.cli import app
from flows.digests import daily_digest_flow
from flows.runner import run_flow
from models.tables import Delivery, Obligation, QueueItem
from schedules.clock import OFFICE_TZ
from tests.flows.conftest import UNITS, Office, run, tick_at
from tests.notify.conftest import free_port

DAY = date(2024, 9, 19)  # reminders for the 9-26 tasks go out at 09:05
runner = CliRunner()


def _rows(channel: str | None = None) -> list[Delivery]:
    with Session(runtime.engine()) as s:
        stmt = select(Delivery).order_by(col(Delivery.id))
        if channel:
            stmt = stmt.where(Delivery.channel_type == channel)
        return list(s.exec(stmt).all())


def _tick(at: time, day: date = DAY) -> dict:  # type: ignore[type-arg]
    out: dict = json.loads(tick_at(day, at))  # type: ignore[type-arg]
    return out


def _tick_text(at: time, day: date = DAY) -> str:
    import os

    os.environ["DUBAN_NOW"] = datetime.combine(day, at, tzinfo=OFFICE_TZ).isoformat()
    return run("tick")


def _status() -> dict:  # type: ignore[type-arg]
    out: dict = json.loads(run("status", "--json"))  # type: ignore[type-arg]
    return out


def _doctor_exit() -> int:
    return runner.invoke(app, ["doctor"]).exit_code


def _emails(office: Office) -> Counter[str]:
    """Message-ID → how many times the SMTP server received it."""
    return Counter(str(m["Message-ID"]) for _, _, m in office.smtp.sink.received)


def _hook_keys(office: Office) -> Counter[str]:
    return Counter(r.headers.get("Idempotency-Key", "") for r, _ in office.hook.log)


def _assert_each_sent_once(office: Office) -> None:
    """Every delivery row delivered; each e-mail and webhook message received exactly once."""
    rows = _rows()
    assert rows and all(r.status in ("sent", "superseded") for r in rows), [
        (r.channel_type, r.status, r.last_error) for r in rows if r.status != "sent"
    ]
    emails = _emails(office)
    assert emails and max(emails.values()) == 1, emails
    assert len(emails) == len({r.batch for r in rows if r.channel_type == "email"})
    hooks = _hook_keys(office)
    assert hooks and max(hooks.values()) == 1, hooks


def test_drill_smtp_down_while_the_webhook_works_loses_no_email(office: Office) -> None:
    office.smtp.stop()
    first = _tick(time(9, 5))
    mails = len({r.batch for r in _rows("email")})  # one e-mail per unit and recipient
    assert mails >= 3 and first["sent"] == 1 and first["pending"] == mails  # the webhook went
    assert not office.smtp.sink.received and len(office.hook.log) == 1
    # The obligations wait for their e-mail: none counted as reminded yet.
    assert first["actions"] == 0 and first["deferred"] >= mails
    status = _status()
    [mail] = [h for h in status["failing_hosts"] if h["channel_type"] == "email"]
    assert status["messages_waiting"] == mail["waiting"] == mails
    assert mail["items"] == len(_rows("email"))
    assert "127.0.0.1" in mail["host"] and mail["last_error"]
    assert _doctor_exit() == 1
    listed = json.loads(run("notify", "failed", "--json"))["messages"]
    assert listed and {m["kind"] for m in listed} == {"transient"}
    assert "临时失败" in run("notify", "failed")

    office.smtp.start()  # the relay is back, on the same port
    second = _tick(time(9, 20))
    assert second["sent"] == mails and second["pending"] == 0 and second["actions"] >= mails
    for at in (time(9, 40), time(15, 0)):
        again = _tick(at)
        assert again["sent"] == 0 and again["pending"] == 0
    _assert_each_sent_once(office)  # nothing lost, the webhook not sent twice
    assert _status()["messages_waiting"] == 0 and _doctor_exit() == 0
    # Every deferred obligation advanced once its e-mail went (the first tick since activation
    # sends the pending 交办 first, so they are "open" with last_stage "assign", not "reminded").
    with Session(runtime.engine()) as s:
        advanced = s.exec(
            select(Obligation).where(col(Obligation.last_action_at).is_not(None))
        ).all()
    assert len(advanced) == first["deferred"]
    assert {ob.last_stage for ob in advanced} <= {"assign", "remind"}


def test_drill_a_webhook_answering_500_is_retried_until_it_answers(
    no_progress: None, office: Office
) -> None:
    answer = {"status": 500}

    def hook(request: Request) -> Response:
        return Response('{"ok": true}', status=answer["status"], content_type="application/json")

    office.hook.clear()
    office.hook.expect_request("/hook", method="POST").respond_with_handler(hook)
    first = _tick(time(9, 5))
    assert first["pending"] == 1 and first["sent"] >= 3  # the e-mails went
    assert [r.status for r in _rows("webhook")] == ["failed"]
    mails_before = len(office.smtp.sink.received)
    answer["status"] = 200
    second = _tick(time(9, 20))
    assert second["sent"] == 1 and second["pending"] == 0
    assert len(office.smtp.sink.received) == mails_before  # e-mail not sent again
    ok = [r for r, resp in office.hook.log if resp.status_code == 200]
    assert len(ok) == 1
    assert [r.status for r in _rows("webhook")] == ["sent"]


def _with_dead_robots(office: Office) -> tuple[str, str]:
    """区建管委 gets a robot whose name does not resolve, 甲街道 one on a closed port."""
    closed = f"127.0.0.1:{free_port()}"
    units = UNITS.replace("WEBHOOK_URL", office.hook.url_for("/hook"))
    units = units.replace(
        "    contacts: [{name: 王五, role: 联络员, email: wangwu@example.gov.cn}]\n"
        "    channels: [{type: email}]",
        "    contacts: [{name: 王五, role: 联络员, email: wangwu@example.gov.cn}]\n"
        "    channels: [{type: email}, {type: webhook, url: 'http://no-such-host.invalid/hook'}]",
    )
    units = units.replace(
        "    contacts: [{name: 钱七, role: 联络员, email: qianqi@example.gov.cn}]\n"
        "    channels: [{type: email}]",
        "    contacts: [{name: 钱七, role: 联络员, email: qianqi@example.gov.cn}]\n"
        f"    channels: [{{type: email}}, {{type: webhook, url: 'http://{closed}/hook'}}]",
    )
    path = Path(office.home) / "units-dead.yaml"
    path.write_text(units, encoding="utf-8")
    run("units", "import", str(path))
    return "no-such-host.invalid", closed


def test_drill_dead_hosts_are_shown_retried_and_given_up_after_the_bound(
    no_progress: None, office: Office
) -> None:
    dead, closed = _with_dead_robots(office)
    first = _tick(time(9, 5))
    assert first["pending"] == 2 and first["failed"] == 0
    hosts = {h["host"]: h for h in _status()["failing_hosts"]}
    assert hosts[dead]["waiting"] == 1 and hosts[closed]["waiting"] == 1
    text = _tick_text(time(9, 20))
    assert "待重试 2 条" in text and "消息：送达" in text
    # The working channels were not held back, nor sent twice.
    assert max(_emails(office).values()) == 1 and max(_hook_keys(office).values()) == 1
    # Still dead a day later: the messages become permanent failures the office must act on.
    later = _tick(time(9, 30), date(2024, 9, 20))
    dead_rows = [r for r in _rows("webhook") if dead in r.recipient or closed in r.recipient]
    assert len(dead_rows) == 4  # 区建管委's item and 甲街道's three
    assert later["given_up"] == len(dead_rows)  # rows (items), in two messages
    listed = json.loads(run("notify", "failed", "--permanent", "--json"))["messages"]
    assert {m["recipient"].split("/")[2] for m in listed} == {dead, closed}
    assert all("超过 24 小时仍未送达" in m["last_error"] for m in listed)
    assert _doctor_exit() == 1
    # The office's daily digest says so, per host, above its items (Monday: the 9-26 tasks).
    monday = datetime.combine(date(2024, 9, 23), time(9, 0), tzinfo=OFFICE_TZ)
    assert run_flow(daily_digest_flow, now=monday.isoformat())["notices"] == 1
    [digest] = [m for _, to, m in office.smtp.sink.received if "office@example.gov.cn" in to]
    body = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "消息投递问题" in body and dead in body and closed in body and "永久失败 1 条" in body
    # With every route settled the obligations move on (their e-mail went).
    _tick(time(9, 45), date(2024, 9, 20))
    with Session(runtime.engine()) as s:
        waiting = s.exec(
            select(Delivery).where(Delivery.status == "failed", col(Delivery.permanent).is_(False))
        ).all()
    assert not waiting


def test_drill_a_unit_no_channel_reaches_becomes_an_office_queue_item(office: Office) -> None:
    units = UNITS.replace("WEBHOOK_URL", office.hook.url_for("/hook")).replace(
        "    contacts: [{name: 钱七, role: 联络员, email: qianqi@example.gov.cn}]\n"
        "    channels: [{type: email}]",
        "    contacts: [{name: 钱七, role: 联络员}]\n    channels: []",
    )
    path = Path(office.home) / "units-unreachable.yaml"
    path.write_text(units, encoding="utf-8")
    run("units", "import", str(path))
    out = _tick(time(9, 5))
    assert out["unreached"] == 1  # 甲街道's one notice (its three items)
    ob = office.ob_id("2", "甲街道")
    with Session(runtime.engine()) as s:
        items = s.exec(select(QueueItem).where(QueueItem.obligation_id == ob)).all()
    assert [(i.level, i.status) for i in items] == [(0, "open")]
    assert "无法送达" in items[0].notes[-1]["text"]
    assert "无法送达" in run("queue", "list")
