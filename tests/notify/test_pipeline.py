"""The pipeline end to end on SQLite and PostgreSQL, with real SMTP and HTTP servers."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from werkzeug import Request, Response

from models.db import make_engine
from models.directory import Channel
from models.tables import AuditEvent, Delivery
from notify.dingtalk import DingTalk
from notify.email import Email, SmtpConfig
from notify.notice import Audience
from notify.outbox import Outbox
from notify.pipeline import Pipeline, PipelineOptions
from notify.ratelimit import RateLimiter
from notify.render import OfficeInfo, Renderer
from notify.retry import RetrySettings
from notify.transport import Transport
from notify.webhook import Webhook
from tests.notify import fakes
from tests.notify.conftest import T0, SmtpServer, add_obligations, add_unit, make_notice

OFFICE = OfficeInfo(name="区安委办", contact="021-12345678", email="office@example.gov.cn")
LIAISON = ("胡国庆", "联络员", "u001.liaison@example.gov.cn")
HEAD = ("梁雪梅", "负责人", "u001.head@example.gov.cn")


class Sleeps:
    """An injected sleep: records the waits and runs a hook (e.g. start a server) on each."""

    def __init__(self, hook: Any = None) -> None:
        self.waits: list[float] = []
        self.hook = hook

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.hook:
            self.hook()


def pipeline(
    engine: Engine, transports: dict[str, Transport], sleep: Any = None, **opts: Any
) -> Pipeline:
    options = PipelineOptions(retry=RetrySettings(attempts=4, first_delay=1, max_delay=8), **opts)
    return Pipeline(
        engine=engine,
        transports=transports,
        renderer=Renderer(OFFICE),
        options=options,
        sleep=sleep or Sleeps(),
    )


def smtp(port: int) -> Email:
    return Email(
        SmtpConfig(
            host="127.0.0.1", port=port, timeout=5, mail_from="区安委办 <office@example.gov.cn>"
        )
    )


def rows(engine: Engine) -> list[Delivery]:
    with Session(engine) as s:
        return list(s.exec(select(Delivery).order_by(col(Delivery.id))).all())


def audit(engine: Engine, action: str) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_it_groups_twelve_items_into_one_message_per_channel_and_recipient(
    engine: Engine, smtp_server: SmtpServer, httpserver: HTTPServer
) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_request("/robot/send").respond_with_handler(fakes.dingtalk("SEC1", seen))
    url = httpserver.url_for("/robot/send") + "?access_token=T"
    uid, _ = add_unit(
        engine,
        "区应急局",
        contacts=(LIAISON, HEAD),
        channels=(("email", "", None), ("dingtalk", url, "SEC1")),
    )
    obs = add_obligations(engine, uid, 12)
    p = pipeline(engine, {"email": smtp(smtp_server.port), "dingtalk": DingTalk()})
    report = p.deliver([make_notice(uid, obs)], now=T0)
    assert (report.sent, report.failed) == (2, 0)
    [(_, rcpts, mail)] = smtp_server.sink.received  # 联络员 only: the notice is for the contacts
    assert rcpts == ["u001.liaison@example.gov.cn"]
    assert mail["Subject"] == "【提醒】区应急局：12 项工作即将到期"
    assert all(f"任务{n}：" in mail.get_body(("plain",)).get_content() for n in range(1, 13))
    assert len(seen) == 1 and "12." in seen[0]["markdown"]["text"]
    stored = rows(engine)
    assert len(stored) == 24 and {r.status for r in stored} == {"sent"}
    assert {r.channel_type for r in stored} == {"email", "dingtalk"}
    assert all(r.attempts == 1 and r.duration_ms is not None and r.sent_at for r in stored)
    assert report.by_obligation() == dict.fromkeys(obs, "sent")


def test_it_sends_a_key_once_when_two_notices_of_a_pass_carry_it(
    engine: Engine, smtp_server: SmtpServer, httpserver: HTTPServer
) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_request("/robot/send").respond_with_handler(fakes.dingtalk("S", seen))
    uid, _ = add_unit(
        engine, "区应急局", contacts=(LIAISON, HEAD),
        channels=(("email", "", None), ("dingtalk", httpserver.url_for("/robot/send"), "S")),
    )  # fmt: skip
    obs = add_obligations(engine, uid, 2)
    twice = [make_notice(uid, obs, stage="chase"), make_notice(uid, obs, stage="chase")]
    report = pipeline(engine, {"email": smtp(smtp_server.port), "dingtalk": DingTalk()}).deliver(
        twice, now=T0
    )
    assert len(seen) == 1 and len(smtp_server.sink.received) == 1
    assert (report.sent, report.duplicate) == (2, 2)
    assert report.by_obligation() == dict.fromkeys(obs, "sent")


def test_it_keeps_the_heads_escalation_out_of_the_group_robot(
    engine: Engine, smtp_server: SmtpServer, httpserver: HTTPServer
) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_request("/robot/send").respond_with_handler(fakes.dingtalk("S", seen))
    uid, _ = add_unit(
        engine, "区应急局", contacts=(LIAISON, HEAD),
        channels=(("email", "", None), ("dingtalk", httpserver.url_for("/robot/send"), "S")),
    )  # fmt: skip
    obs = add_obligations(engine, uid, 2)
    notices = [
        make_notice(uid, obs, stage="office", audience=a)
        for a in (Audience.UNIT_CONTACTS, Audience.UNIT_HEAD)
    ]
    report = pipeline(engine, {"email": smtp(smtp_server.port), "dingtalk": DingTalk()}).deliver(
        notices, now=T0
    )
    assert len(seen) == 1  # the group hears of the escalation once
    assert sorted(r[1][0] for r in smtp_server.sink.received) == [
        "u001.head@example.gov.cn",
        "u001.liaison@example.gov.cn",
    ]
    assert report.sent == 3


def test_it_sends_nothing_the_second_time(engine: Engine, smtp_server: SmtpServer) -> None:
    uid, _ = add_unit(engine, "区应急局", contacts=(LIAISON,), channels=(("email", "", None),))
    obs = add_obligations(engine, uid, 3)
    p = pipeline(engine, {"email": smtp(smtp_server.port)})
    first = p.deliver([make_notice(uid, obs)], now=T0)
    second = p.deliver([make_notice(uid, obs)], now=T0 + timedelta(minutes=5))
    assert (first.sent, second.sent, second.duplicate) == (1, 0, 1)
    assert len(smtp_server.sink.received) == 1
    assert second.by_obligation() == dict.fromkeys(obs, "sent")


def test_it_sends_only_the_new_items_of_a_partly_sent_group(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    uid, _ = add_unit(engine, "区应急局", contacts=(LIAISON,), channels=(("email", "", None),))
    obs = add_obligations(engine, uid, 3)
    p = pipeline(engine, {"email": smtp(smtp_server.port)})
    p.deliver([make_notice(uid, obs[:2])], now=T0)
    p.deliver([make_notice(uid, obs)], now=T0 + timedelta(minutes=5))
    second = smtp_server.sink.received[1][2]
    assert second["Subject"] == "【提醒】区应急局：1 项工作即将到期（2024年3月29日（星期五）截止）"
    assert "任务3" in second.get_body(("plain",)).get_content()
    assert "任务1" not in second.get_body(("plain",)).get_content()


def test_it_retries_a_webhook_500_then_delivers(engine: Engine, httpserver: HTTPServer) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_ordered_request("/hook").respond_with_data("busy", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_handler(fakes.webhook("k", seen))
    uid, _ = add_unit(
        engine, "区市场监管局", channels=(("webhook", httpserver.url_for("/hook"), "k"),)
    )
    obs = add_obligations(engine, uid, 1)
    sleeps = Sleeps()
    report = pipeline(engine, {"webhook": Webhook()}, sleeps).deliver(
        [make_notice(uid, obs, stage="chase")], now=T0
    )
    assert report.sent == 1 and sleeps.waits == [1]
    [row] = rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert seen[0]["_idempotency_key"] == row.key


def test_it_flags_a_channel_that_keeps_answering_400_and_still_reaches_the_unit(
    engine: Engine, httpserver: HTTPServer, smtp_server: SmtpServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("bad request", status=400)
    uid, (_mail_id, hook_id) = add_unit(
        engine,
        "区市场监管局",
        contacts=(LIAISON,),
        channels=(("email", "", None), ("webhook", httpserver.url_for("/hook"), "k")),
    )
    obs = add_obligations(engine, uid, 3)
    p = pipeline(engine, {"email": smtp(smtp_server.port), "webhook": Webhook()}, flag_after=3)
    reports = [
        p.deliver([make_notice(uid, [ob])], now=T0 + timedelta(hours=n)) for n, ob in enumerate(obs)
    ]
    assert len(httpserver.log) == 3  # permanent: never retried within a pass
    assert [r.by_channel()["webhook"]["failed"] for r in reports] == [1, 1, 1]
    assert [r.flagged() for r in reports] == [[], [], [hook_id]]
    assert len(smtp_server.sink.received) == 3  # e-mail went out every time
    assert all(r.by_obligation()[ob] == "sent" for r, ob in zip(reports, obs, strict=True))
    with Session(engine) as s:
        channel = s.get(Channel, hook_id)
        assert channel is not None and channel.failing and "400" in (channel.last_error or "")
    [event] = audit(engine, "channel_flagged")
    assert event.entity_id == hook_id and "连续 3 次" in event.reason
    failed = [r for r in rows(engine) if r.channel_type == "webhook"]
    assert all(r.status == "failed" and r.permanent and r.attempts == 1 for r in failed)


def test_it_waits_out_dingtalk_130101_then_delivers(engine: Engine, httpserver: HTTPServer) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_ordered_request("/robot/send").respond_with_json(fakes.DING_TOO_FAST)
    httpserver.expect_ordered_request("/robot/send").respond_with_handler(fakes.dingtalk("S", seen))
    uid, _ = add_unit(
        engine, "区应急局", channels=(("dingtalk", httpserver.url_for("/robot/send"), "S"),)
    )
    obs = add_obligations(engine, uid, 1)
    sleeps = Sleeps()
    p = pipeline(
        engine, {"dingtalk": DingTalk(limiter=RateLimiter([(20, 60.0)], sleep=sleeps))}, sleeps
    )
    report = p.deliver([make_notice(uid, obs)], now=T0)
    assert report.sent == 1 and len(seen) == 1
    assert sleeps.waits == [8]  # the robot asked for a minute; capped by max_delay=8
    assert rows(engine)[0].attempts == 2


def test_it_delivers_once_when_the_smtp_server_comes_back_during_the_pass(
    engine: Engine, smtp_down: SmtpServer
) -> None:
    uid, _ = add_unit(engine, "区应急局", contacts=(LIAISON, HEAD), channels=(("email", "", None),))
    obs = add_obligations(engine, uid, 2)
    calls: list[int] = []

    def come_back() -> None:
        calls.append(1)
        if len(calls) == 2:
            smtp_down.start()

    sleeps = Sleeps(come_back)
    report = pipeline(engine, {"email": smtp(smtp_down.port)}, sleeps, workers=1).deliver(
        [make_notice(uid, obs, audience=Audience.OFFICE)], now=T0
    )
    assert report.sent == 2 and report.failed == 0
    received = sorted(r[1][0] for r in smtp_down.sink.received)
    assert received == [
        "u001.head@example.gov.cn",
        "u001.liaison@example.gov.cn",
    ]  # none lost, none doubled
    assert sorted(r.attempts for r in rows(engine)) == [1, 1, 3, 3]


def test_it_delivers_in_a_later_pass_after_an_outage_longer_than_the_retries(
    engine: Engine, smtp_down: SmtpServer
) -> None:
    uid, _ = add_unit(engine, "区应急局", contacts=(LIAISON,), channels=(("email", "", None),))
    obs = add_obligations(engine, uid, 2)
    p = pipeline(engine, {"email": smtp(smtp_down.port)})
    first = p.deliver([make_notice(uid, obs)], now=T0)
    assert first.failed == 1 and first.by_obligation() == dict.fromkeys(obs, "retry")
    # Three failed attempts in a row pause the host (notify/breaker): the fourth is not made.
    assert all(r.status == "failed" and not r.permanent and r.attempts == 3 for r in rows(engine))
    smtp_down.start()
    second = p.deliver([make_notice(uid, obs)], now=T0 + timedelta(minutes=10))
    third = p.deliver([make_notice(uid, obs)], now=T0 + timedelta(minutes=20))
    assert (second.sent, third.sent, third.duplicate) == (1, 0, 1)
    assert len(smtp_down.sink.received) == 1
    assert all(r.status == "sent" and r.attempts == 4 for r in rows(engine))


def _crash_mid_send(url: str, unit_id: int, obs: list[int]) -> None:
    class Crash:
        kind = "email"

        def send(self, msg: Any, *, key: str) -> Any:
            os._exit(3)  # the sender dies between claim and record

    eng = make_engine(url)
    pipeline(eng, {"email": Crash()}).deliver([make_notice(unit_id, obs)], now=T0)  # type: ignore[dict-item]


def test_it_reclaims_a_send_abandoned_by_a_crashed_sender_once(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    uid, _ = add_unit(engine, "区应急局", contacts=(LIAISON,), channels=(("email", "", None),))
    obs = add_obligations(engine, uid, 2)
    child = multiprocessing.get_context("fork").Process(
        target=_crash_mid_send, args=(engine.url.render_as_string(hide_password=False), uid, obs)
    )
    child.start()
    child.join(60)
    assert child.exitcode == 3
    assert {r.status for r in rows(engine)} == {"sending"}
    p = pipeline(engine, {"email": smtp(smtp_server.port)}, lease=timedelta(minutes=15))
    early = p.deliver([make_notice(uid, obs)], now=T0 + timedelta(minutes=5))  # lease still held
    assert (early.sent, early.count("in_flight")) == (0, 1)
    assert early.by_obligation() == dict.fromkeys(obs, "retry")
    late = p.deliver([make_notice(uid, obs)], now=T0 + timedelta(minutes=20))
    again = p.deliver([make_notice(uid, obs)], now=T0 + timedelta(minutes=30))
    assert (late.reclaimed, late.sent, again.reclaimed, again.sent) == (2, 1, 0, 0)
    assert len(smtp_server.sink.received) == 1
    stored = rows(engine)
    assert all(r.status == "sent" and r.reclaims == 1 for r in stored)
    events = audit(engine, "reclaimed")
    assert sorted(e.entity_id or 0 for e in events) == sorted(r.id or 0 for r in stored)


def _crash_on_third(url: str, port: int, notices: list[Any]) -> None:
    real, sends = smtp(port), []

    class CrashOnThird:
        kind = "email"

        def send(self, msg: Any, *, key: str) -> Any:
            sends.append(key)
            result = real.send(msg, key=key)
            if len(sends) == 3:
                time.sleep(1)  # the first two are recorded meanwhile; the third is sent, unrecorded
                os._exit(3)
            return result

    eng = make_engine(url)
    pipeline(eng, {"email": CrashOnThird()}, workers=1).deliver(notices, now=T0)  # type: ignore[dict-item]


def test_it_repeats_only_the_message_in_flight_when_the_sender_dies(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    notices = []
    for n in range(4):
        uid, _ = add_unit(
            engine,
            f"单位{n}",
            contacts=(("联络员", "联络员", f"u{n}@example.gov.cn"),),
            channels=(("email", "", None),),
        )
        notices.append(make_notice(uid, add_obligations(engine, uid, 1)))
    url = engine.url.render_as_string(hide_password=False)
    child = multiprocessing.get_context("fork").Process(
        target=_crash_on_third, args=(url, smtp_server.port, notices)
    )
    child.start()
    child.join(60)
    assert child.exitcode == 3
    assert [r.status for r in rows(engine)] == ["sent", "sent", "sending", "sending"]
    later = pipeline(engine, {"email": smtp(smtp_server.port)}).deliver(
        notices, now=T0 + timedelta(minutes=20)
    )
    assert (later.reclaimed, later.sent, later.duplicate) == (2, 2, 2)
    got = sorted(r[1][0] for r in smtp_server.sink.received)
    # The message in flight at the crash goes out twice (at-least-once); nothing else repeats.
    assert got == [
        "u0@example.gov.cn",
        "u1@example.gov.cn",
        "u2@example.gov.cn",
        "u2@example.gov.cn",
        "u3@example.gov.cn",
    ]


def test_it_reports_units_it_cannot_reach(engine: Engine) -> None:
    uid, _ = add_unit(
        engine, "区建管委", contacts=(("叶德明", "联络员", None),), channels=(("email", "", None),)
    )
    obs = add_obligations(engine, uid, 1)
    report = pipeline(engine, {}).deliver([make_notice(uid, obs)], now=T0)
    assert [u.unit_name for u in report.unreached] == ["区建管委"]
    assert report.by_obligation() == {obs[0]: "failed"}
    [event] = audit(engine, "unreachable")
    assert event.entity_id == uid and "没有可用的渠道或邮箱" in event.reason
    # The office must phone the unit: an item of its own in the queue.
    [item] = audit(engine, "opened_unreachable")
    assert item.entity == "queue_item" and item.data == {"obligation_id": obs[0]}


def test_it_writes_every_channel_to_the_outbox(engine: Engine, tmp_path: Path) -> None:
    uid, _ = add_unit(
        engine,
        "区应急局",
        contacts=(LIAISON,),
        channels=(
            ("email", "", None),
            ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRETKEY", None),
        ),
    )
    obs = add_obligations(engine, uid, 2)
    box = Outbox(tmp_path / "outbox", mail_from="区安委办 <office@example.gov.cn>")
    report = pipeline(engine, {"email": box, "wecom": box}).deliver([make_notice(uid, obs)], now=T0)
    assert report.sent == 2
    [eml] = (tmp_path / "outbox" / "email").glob("*.eml")
    [robot] = (tmp_path / "outbox" / "wecom").glob("*.json")
    assert eml.name.startswith("u001.liaison@example.gov.cn-")
    record = json.loads(robot.read_text(encoding="utf-8"))
    assert record["body"]["msgtype"] == "markdown" and "SECRETKEY" not in robot.read_text(
        encoding="utf-8"
    )
    assert {r.ref for r in rows(engine)} == {str(eml), str(robot)}


def test_a_broken_override_falls_back_to_the_shipped_template_and_tells_the_office(
    engine: Engine, tmp_path: Path
) -> None:
    (tmp_path / "remind.subject.j2").write_text("{{ unit.nme }}", encoding="utf-8")
    uid, _ = add_unit(engine, "区应急局", contacts=(LIAISON,), channels=(("email", "", None),))
    obs = add_obligations(engine, uid, 1)
    p = Pipeline(
        engine=engine,
        transports={"email": Outbox(tmp_path / "out")},
        renderer=Renderer(OFFICE, tmp_path),
    )
    report = p.deliver([make_notice(uid, obs)], now=T0)
    # The reminder still goes out (with the shipped wording), never marked sent without a row.
    assert report.sent == 1 and not report.unreached
    [row] = rows(engine)
    assert row.status == "sent"
    [error] = report.template_fallbacks
    assert "remind.subject.j2:1" in error
    [event] = audit(engine, "template_fallback")
    assert "remind.subject.j2:1" in event.reason and "默认模板" in event.reason
    assert "覆盖模板出错" in report.summary()


def test_it_rejects_a_wrong_signature_in_the_fake_receiver() -> None:
    # Guard for the fakes themselves: a wrong secret must not pass the webhook verifier.
    handler = fakes.webhook("right", [])
    resp = handler(Request.from_values(data=b"{}", headers={"X-Duban-Signature": "sha256=00"}))
    assert isinstance(resp, Response) and resp.status_code == 401
