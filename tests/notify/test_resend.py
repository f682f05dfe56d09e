"""`duban notify failed` and `duban notify resend`: a real plan through the tick, a webhook
receiver on 127.0.0.1 that answers 400 until the office "fixes" it, real SMTP; both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from flows.context import reset_context
from flows.delivery import reset_pipeline
from models.directory import Channel, Unit
from models.tables import AuditEvent, Delivery
from notify.keys import message_key
from schedules.clock import OFFICE_TZ
from tests.notify import fakes
from tests.notify.conftest import SmtpServer, SmtpSink, free_port

SECRET = "hook-secret-123456"
UNITS = """
units:
  - name: 区应急局
    aliases: [应急局]
    contacts: [{name: 张三, role: 联络员, email: zhangsan@example.gov.cn}]
    channels:
      - {type: email}
      - {type: webhook, url: "HOOK_A", secret: "SECRET"}
  - name: 区房管局
    contacts: [{name: 赵六, role: 联络员, email: ZHAOLIU}]
    channels:
      - {type: email}
      - {type: webhook, url: "HOOK_B", secret: "SECRET"}
"""
PLAN = """序号,任务,时间节点,责任单位,配合单位,区领导
1,开展安全生产大检查,2024年9月26日前,区应急局,,
2,排查整治燃气隐患,2024年9月26日前,区应急局,,
3,完成老旧小区消防整改,2024年9月26日前,区房管局,,
"""
REMINDERS = (date(2024, 9, 19), date(2024, 9, 24), date(2024, 9, 26))  # 5, 2, 0 working days
runner = CliRunner()


@dataclass
class PickySink(SmtpSink):
    """Refuses the addresses in `unknown` with 550, as a mail server does for a wrong mailbox."""

    unknown: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.unknown:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        return await super().handle_RCPT(server, session, envelope, address, options)


@dataclass
class Office:
    home: Path
    smtp: SmtpServer
    hook: HTTPServer
    seen: list[dict[str, Any]] = field(default_factory=list)  # what the fixed receiver got

    def directory(self, zhaoliu: str, hook_b: str = "/hook-b") -> None:
        text = UNITS.replace("SECRET", SECRET).replace("ZHAOLIU", zhaoliu)
        text = text.replace("HOOK_A", self.hook.url_for("/hook-a"))
        path = self.home / "units.yaml"
        path.write_text(text.replace("HOOK_B", self.hook.url_for(hook_b)), encoding="utf-8")
        run("units", "import", str(path))

    def receiver(self, *, a_fixed: bool) -> None:
        """/hook-a answers 400 until fixed, then verifies signatures and keeps bodies; /hook-b 400."""
        self.hook.clear_all_handlers()
        if a_fixed:
            handler = fakes.webhook(SECRET, self.seen)
            self.hook.expect_request("/hook-a", method="POST").respond_with_handler(handler)
        else:
            self.hook.expect_request("/hook-a").respond_with_data("缺少字段 msgtype", status=400)
        self.hook.expect_request("/hook-b").respond_with_data("invalid token", status=400)


def run(*args: str, code: int = 0) -> tuple[str, str]:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, f"duban {' '.join(args)} → {result.exit_code}\n{result.output}"
    return result.stdout, result.stderr


def at(day: date, hour: int = 9, minute: int = 5) -> None:
    import os

    os.environ["DUBAN_NOW"] = datetime.combine(day, time(hour, minute), OFFICE_TZ).isoformat()


def rows(unit: str) -> list[Delivery]:
    with Session(runtime.engine()) as s:
        stmt = (
            select(Delivery)
            .join(Unit, col(Unit.id) == col(Delivery.unit_id))
            .where(Unit.name == unit)
            .order_by(col(Delivery.id))
        )
        return list(s.exec(stmt).all())


def channel(unit: str, kind: str) -> Channel:
    with Session(runtime.engine()) as s:
        stmt = select(Channel).join(Unit, col(Unit.id) == col(Channel.unit_id))
        found = s.exec(stmt.where(Unit.name == unit, Channel.type == kind)).one()
        return found


def events(action: str) -> list[AuditEvent]:
    with Session(runtime.engine()) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def snapshot() -> list[tuple[Any, ...]]:
    with Session(runtime.engine()) as s:
        ds = s.exec(select(Delivery).order_by(col(Delivery.id))).all()
        n = len(s.exec(select(AuditEvent.id)).all())
        chans = s.exec(select(Channel.id, Channel.failing).order_by(col(Channel.id))).all()
    return [(d.id, d.key, d.batch, d.status, d.permanent, d.attempts) for d in ds] + [n, chans]


@pytest.fixture
def office(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer
) -> Iterator[Office]:
    """Directory and plan imported, plan activated on 2024-09-02; SMTP and webhooks on 127.0.0.1."""
    smtp = SmtpServer(port=free_port(), sink=PickySink(unknown={"zhaoliu@wrong.example.gov.cn"}))
    smtp.start()
    monkeypatch.setenv("DUBAN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DUBAN_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("DUBAN_SMTP_TLS", "none")
    monkeypatch.setenv("DUBAN_NOW", "2024-09-02T09:00:00+08:00")
    # These tests count failed deliveries: no 再次交办 (flows/receipts) and no 进展报告 among them.
    policy = cli_env / "policy.yaml"
    policy.write_text(
        "default:\n  progress: false\nassessment:\n  receipt_resend: false\n", encoding="utf-8"
    )
    monkeypatch.setenv("DUBAN_POLICY_FILE", str(policy))
    runtime.reset()
    reset_context()
    reset_pipeline()
    o = Office(cli_env, smtp, httpserver)
    o.receiver(a_fixed=False)
    o.directory("zhaoliu@example.gov.cn")
    plan = cli_env / "示例区2024年重点任务清单.csv"
    plan.write_text(PLAN, encoding="utf-8")
    out, _ = run("import", str(plan))
    run("plan", "activate", out.split("草稿计划 ")[1].split("：")[0].split(":")[0].strip())
    yield o
    smtp.stop()
    reset_pipeline()
    reset_context()


def test_it_lists_permanent_failures_and_resends_them_once_after_the_fix(office: Office) -> None:
    for day in REMINDERS:
        at(day)
        run("tick", "--json")
    mails = len(office.smtp.sink.received)
    assert mails == 6  # both units' contacts got every reminder by e-mail: the chase went on
    hook_a = channel("区应急局", "webhook")
    assert hook_a.failing and "400" in (hook_a.last_error or "")  # flagged after 3 failures
    failed = json.loads(run("notify", "failed", "--json")[0])
    assert failed["deliveries"] == 9 and len(failed["messages"]) == 6
    mine = [m for m in failed["messages"] if m["unit"] == "区应急局"]
    assert len(mine) == 3 and all(len(m["deliveries"]) == 2 for m in mine)
    assert all(m["channel_failing"] and "HTTP 400" in m["last_error"] for m in mine)
    assert {d["task_ref"] for d in mine[0]["deliveries"]} == {"1", "2"}
    text = run("notify", "failed", "--unit", "应急局", "--channel-type", "webhook")[0]
    assert "区应急局  webhook#" in text and "区房管局" not in text
    assert text.count("投递 #") == 6 and "任务1 开展安全生产大检查" in text and "  提醒  《" in text
    assert "共 3 条消息（6 条投递）发送失败" in text
    assert (
        json.loads(run("notify", "failed", "--since", "2024-09-25", "--json")[0])["deliveries"] == 3
    )  # only the due-day reminders

    office.receiver(a_fixed=True)
    at(date(2024, 9, 27), 10, 0)
    before = snapshot()
    out = run("notify", "resend", "--unit", "区应急局", "--by", "王科长", "--dry-run")[0]
    assert out.count("将重发  区应急局  webhook") == 3 and "试运行，未写入、未发送" in out
    assert snapshot() == before and office.seen == []

    out = run("notify", "resend", "--unit", "区应急局", "--by", "王科长")[0]
    assert out.count("已重发  区应急局  webhook") == 3, out
    assert f"渠道 #{hook_a.id} 已恢复正常" in out
    # exactly one request per failed message, each listing that message's two items
    assert len(office.seen) == 3
    by_batch: dict[str, list[Delivery]] = {}
    for d in rows("区应急局"):
        if d.channel_type == "webhook":
            by_batch.setdefault(d.seq, []).append(d)
    assert sorted(b["_idempotency_key"] for b in office.seen) == sorted(
        message_key([d.key for d in ds]) for ds in by_batch.values()
    )
    for body in office.seen:
        assert [i["task_ref"] for i in body["items"]] == ["1", "2"]
        assert len({i["seq"] for i in body["items"]}) == 1
    assert len(office.smtp.sink.received) == mails  # the e-mails, already sent, were not repeated
    hooks = [d for d in rows("区应急局") if d.channel_type == "webhook"]
    assert {(d.status, d.permanent) for d in hooks} == {("sent", False)} and len(hooks) == 6
    asked = events("resend_requested")
    assert len(asked) == 6 and {e.actor for e in asked} == {"王科长"}
    assert {e.entity_id for e in asked} == {d.id for d in hooks} and "王科长" in asked[0].reason
    assert not channel("区应急局", "webhook").failing
    assert [e.actor for e in events("channel_recovered")] == ["王科长"]
    # the other unit is untouched: still failed for good, still flagged
    theirs = [d for d in rows("区房管局") if d.channel_type == "webhook"]
    assert {(d.status, d.permanent, d.attempts) for d in theirs} == {("failed", True, 1)}
    assert channel("区房管局", "webhook").failing

    again = run("notify", "resend", "--unit", "区应急局", "--by", "王科长")[0]
    assert "没有需要重发的失败消息" in again and len(office.seen) == 3
    named = json.loads(
        run("notify", "resend", "--delivery", str(hooks[0].id), "--by", "王科长", "--json")[0]
    )
    [msg] = named["messages"]
    assert msg["outcome"] == "skipped" and "发送成功，不重发" in msg["deliveries"][0]["detail"]
    assert len(office.seen) == 3
    left = json.loads(run("notify", "failed", "--json")[0])
    assert {m["unit"] for m in left["messages"]} == {"区房管局"} and left["deliveries"] == 3

    # a channel still broken fails again, stays failed and listed; the command says so (exit 1)
    hook_b = channel("区房管局", "webhook")
    out = run("notify", "resend", "--channel", str(hook_b.id), "--by", "李主任", code=1)[0]
    assert out.count("再次失败  区房管局  webhook") == 3 and "HTTP 400" in out
    theirs = [d for d in rows("区房管局") if d.channel_type == "webhook"]
    assert {(d.status, d.permanent, d.attempts) for d in theirs} == {("failed", True, 2)}
    assert json.loads(run("notify", "failed", "--json")[0])["deliveries"] == 3


def test_it_resends_to_a_corrected_address_and_closes_the_old_row(office: Office) -> None:
    office.directory("zhaoliu@wrong.example.gov.cn")
    at(REMINDERS[0])
    run("tick", "--json")
    [wrong] = [d for d in rows("区房管局") if d.channel_type == "email"]
    assert (wrong.status, wrong.permanent) == ("failed", True) and "550" in (wrong.last_error or "")
    office.directory("zhaoliu@example.gov.cn")  # the office corrects the address
    at(REMINDERS[0], 15, 0)
    out = run("notify", "resend", "--delivery", str(wrong.id), "--by", "王科长")[0]
    assert "已改投  区房管局  email → zhaoliu@wrong.example.gov.cn" in out
    assert "改发给 email zhaoliu@example.gov.cn" in out
    [(_, rcpts, mail)] = [m for m in office.smtp.sink.received if "区房管局" in m[2]["Subject"]]
    assert (
        rcpts == ["zhaoliu@example.gov.cn"]
        and "完成老旧小区消防整改" in mail.get_body(("plain",)).get_content()
    )
    new = [d for d in rows("区房管局") if d.recipient == "zhaoliu@example.gov.cn"]
    assert [(d.status, d.seq) for d in new] == [("sent", wrong.seq)]
    [closed] = events("resend_replaced")
    assert closed.entity_id == wrong.id and closed.data["to"] == {new[0].key: "sent"}
    listed = json.loads(run("notify", "failed", "--unit", "区房管局", "--json")[0])
    assert all(d["id"] != wrong.id for m in listed["messages"] for d in m["deliveries"])
    again = run("notify", "resend", "--delivery", str(wrong.id), "--by", "王科长")[0]
    assert "已由之前的重发改投" in again and len(office.smtp.sink.received) == 2


def test_it_resends_through_a_corrected_robot_url(office: Office) -> None:
    at(REMINDERS[0])
    run("tick", "--json")
    [broken] = [d for d in rows("区房管局") if d.channel_type == "webhook"]
    assert (broken.status, broken.permanent) == ("failed", True)
    # The office corrects the receiver's URL in the directory: the old channel row goes, and
    # what was (not) sent through it stays on record.
    office.hook.expect_request("/hook-b2", method="POST").respond_with_handler(
        fakes.webhook(SECRET, office.seen)
    )
    office.directory("zhaoliu@example.gov.cn", hook_b="/hook-b2")
    [kept] = [d for d in rows("区房管局") if d.id == broken.id]
    assert (kept.channel_id, kept.status) == (None, "failed")
    at(REMINDERS[0], 15, 0)
    run("notify", "resend", "--unit", "区房管局", "--by", "王科长")
    assert [b["items"][0]["task_title"] for b in office.seen] == ["完成老旧小区消防整改"]
    new = [d for d in rows("区房管局") if d.channel_id == channel("区房管局", "webhook").id]
    assert [(d.status, d.seq) for d in new] == [("sent", broken.seq)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["resend", "--unit", "不存在的局", "--by", "王科长"], "目录中没有名为“不存在的局”的单位"),
        (["resend", "--delivery", "999999", "--by", "王科长"], "没有编号为 #999999 的投递记录"),
        (["resend", "--channel", "999999", "--by", "王科长"], "没有编号为 999999 的渠道"),
        (["resend", "--by", "王科长"], "请指定且只指定一种范围"),
        (["resend", "--all", "--unit", "区应急局", "--by", "王科长"], "请指定且只指定一种范围"),
        (["resend", "--all", "--by", "  "], "--by 不能为空"),
        (["failed", "--unit", "不存在的局"], "目录中没有名为“不存在的局”的单位"),
        (["failed", "--since", "9月1日"], "--since 的值无效: 应为日期，如 2024-10-31"),
        (
            ["failed", "--channel-type", "sms"],
            "--channel-type 应为 邮件（email）、网络钩子（webhook）",
        ),
    ],
)
def test_it_refuses_bad_input_with_a_clear_message(
    cli_env: Path, httpserver: HTTPServer, args: list[str], message: str
) -> None:
    office = Office(cli_env, SmtpServer(port=free_port(), sink=SmtpSink()), httpserver)
    office.directory("zhaoliu@example.gov.cn")
    before = snapshot()
    result = runner.invoke(app, ["notify", *args])
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert snapshot() == before
