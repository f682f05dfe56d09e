"""Each transport against a real server on 127.0.0.1: what arrives, and how failures are classed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from notify.dingtalk import DingTalk
from notify.email import Email, SmtpConfig
from notify.feishu import Feishu
from notify.ratelimit import RateLimiter
from notify.transport import Mailbox, Message, Rendered, Target, TransportError
from notify.webhook import Webhook
from notify.wecom import MAX_CONTENT_BYTES, WeCom
from tests.notify import fakes
from tests.notify.conftest import T0, SmtpServer, free_port

CONTENT = Rendered(
    subject="【催办】区应急局：1 项工作已逾期",
    text="区应急局：\n任务 5 已逾期 2 个工作日。\n",
    html="<p>区应急局：</p><p>任务 5 已逾期 <b>2</b> 个工作日。</p>",
    markdown="### 【催办】区应急局\n任务 5 **已逾期 2 个工作日**",
    data={"items": [{"obligation_id": 7, "task_ref": "5"}]},
)


def to_robot(kind: str, url: str, secret: str | None = None) -> Message:
    return Message(CONTENT, Target(kind=kind, url=url, secret=secret, label="区应急局"), at=T0)


def to_mail(address: str = "u001.liaison@example.gov.cn") -> Message:
    return Message(CONTENT, Target(kind="email", to=Mailbox(address, "区应急局 胡国庆")), at=T0)


def smtp(port: int, **kw: Any) -> Email:
    return Email(
        SmtpConfig(
            host="127.0.0.1",
            port=port,
            timeout=5,
            mail_from="区安委办 <office@example.gov.cn>",
            **kw,
        )
    )


def test_it_delivers_multipart_email_with_chinese_headers(smtp_server: SmtpServer) -> None:
    transport = smtp(smtp_server.port)
    result = transport.send(to_mail(), key="o7:chase:s1:email#1:u001.liaison@example.gov.cn")
    transport.close()
    [(mail_from, rcpts, msg)] = smtp_server.sink.received
    assert mail_from == "office@example.gov.cn"
    assert rcpts == ["u001.liaison@example.gov.cn"]
    assert msg["Subject"] == CONTENT.subject
    assert msg["From"].addresses[0].display_name == "区安委办"
    assert msg["To"].addresses[0].display_name == "区应急局 胡国庆"
    assert msg["Message-ID"] == result.ref
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "已逾期 2 个工作日" in text.get_content()
    assert "<b>2</b>" in html.get_content()


def test_it_reuses_one_smtp_connection_and_reconnects_after_a_restart(
    smtp_server: SmtpServer,
) -> None:
    transport = smtp(smtp_server.port)
    transport.send(to_mail(), key="k1")
    transport.send(to_mail(), key="k2")
    smtp_server.stop()  # the kept connection dies with the server
    smtp_server.start()
    transport.send(to_mail(), key="k3")
    transport.close()
    assert len(smtp_server.sink.received) == 3


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("550 5.1.1 mailbox unavailable", True), ("451 4.3.0 try again later", False)],
)
def test_it_classes_smtp_replies_5xx_permanent_4xx_retryable(
    smtp_server: SmtpServer, reply: str, permanent: bool
) -> None:
    smtp_server.sink.reject = reply
    with pytest.raises(TransportError) as err:
        smtp(smtp_server.port).send(to_mail(), key="k")
    assert err.value.permanent is permanent
    assert reply[:3] in str(err.value)


def test_it_retries_when_the_mail_server_is_down() -> None:
    with pytest.raises(TransportError) as err:
        smtp(free_port()).send(to_mail(), key="k")
    assert not err.value.permanent
    assert "无法连接邮件服务器" in str(err.value)


def test_it_treats_starttls_on_a_plain_server_as_configuration(smtp_server: SmtpServer) -> None:
    with pytest.raises(TransportError) as err:
        smtp(smtp_server.port, tls="starttls").send(to_mail(), key="k")
    assert err.value.permanent


def test_it_signs_generic_webhooks_and_sends_the_idempotency_key(httpserver: HTTPServer) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_request("/hook", method="POST").respond_with_handler(
        fakes.webhook("s3cret", seen)
    )
    Webhook().send(
        to_robot("webhook", httpserver.url_for("/hook"), "s3cret"),
        key="o7:chase:s1:webhook#3:url-ab",
    )
    [body] = seen
    assert body["_idempotency_key"] == "o7:chase:s1:webhook#3:url-ab"
    assert body["subject"] == CONTENT.subject
    assert body["items"] == [{"obligation_id": 7, "task_ref": "5"}]


def test_it_fails_permanently_when_the_receiver_rejects_the_signature(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/hook").respond_with_handler(fakes.webhook("other", []))
    with pytest.raises(TransportError) as err:
        Webhook().send(to_robot("webhook", httpserver.url_for("/hook"), "s3cret"), key="k")
    assert err.value.permanent and "401" in str(err.value)


@pytest.mark.parametrize(
    ("status", "permanent"), [(500, False), (503, False), (429, False), (400, True), (404, True)]
)
def test_it_classes_http_statuses(httpserver: HTTPServer, status: int, permanent: bool) -> None:
    httpserver.expect_request("/hook").respond_with_data("nope", status=status)
    with pytest.raises(TransportError) as err:
        Webhook().send(to_robot("webhook", httpserver.url_for("/hook")), key="k")
    assert err.value.permanent is permanent
    assert str(status) in str(err.value)


@pytest.mark.parametrize(
    ("url", "permanent"),
    [(f"http://127.0.0.1:{free_port()}/hook", False), ("not a url", True), ("ftp://x/y", True)],
)
def test_it_classes_unreachable_and_malformed_urls(url: str, permanent: bool) -> None:
    with pytest.raises(TransportError) as err:
        Webhook().send(to_robot("webhook", url), key="k")
    assert err.value.permanent is permanent


def test_it_signs_dingtalk_messages_the_way_dingtalk_checks(httpserver: HTTPServer) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_request("/robot/send").respond_with_handler(fakes.dingtalk("SECabc+/=", seen))
    url = httpserver.url_for("/robot/send") + "?access_token=TOKEN"
    result = DingTalk().send(to_robot("dingtalk", url, "SECabc+/="), key="k")
    assert result.ref.startswith("errcode=0")
    assert seen[0]["markdown"] == {"title": CONTENT.subject, "text": CONTENT.markdown}


@pytest.mark.parametrize(
    ("body", "permanent"), [(fakes.DING_BAD_SIGN, True), (fakes.DING_TOO_FAST, False)]
)
def test_it_reads_dingtalk_errcodes(
    httpserver: HTTPServer, body: dict[str, Any], permanent: bool
) -> None:
    httpserver.expect_request("/robot/send").respond_with_json(body)
    with pytest.raises(TransportError) as err:
        DingTalk().send(to_robot("dingtalk", httpserver.url_for("/robot/send"), "SEC"), key="k")
    assert err.value.permanent is permanent
    assert str(body["errcode"]) in str(err.value)
    if not permanent:
        assert err.value.retry_after and err.value.retry_after > 0


def test_it_posts_wecom_markdown_and_cuts_long_content(httpserver: HTTPServer) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_request("/cgi-bin/webhook/send").respond_with_handler(fakes.wecom(seen))
    url = httpserver.url_for("/cgi-bin/webhook/send") + "?key=GOOD-KEY"
    long = Rendered("s", "t", "h", "\n".join(f"- 第{i}项：消防安全检查" for i in range(600)))
    WeCom().send(Message(long, Target("wecom", url=url), at=T0), key="k")
    content = seen[0]["markdown"]["content"]
    assert len(content.encode("utf-8")) <= MAX_CONTENT_BYTES
    assert content.startswith("- 第0项") and "内容过长" in content
    assert seen[0]["msgtype"] == "markdown"


def test_it_fails_permanently_on_a_wrong_wecom_key(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/cgi-bin/webhook/send").respond_with_handler(fakes.wecom([]))
    url = httpserver.url_for("/cgi-bin/webhook/send") + "?key=WRONG"
    with pytest.raises(TransportError) as err:
        WeCom().send(to_robot("wecom", url), key="k")
    assert err.value.permanent and "93000" in str(err.value)


def test_it_signs_feishu_messages_in_the_body(httpserver: HTTPServer) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_request("/open-apis/bot/v2/hook/abc").respond_with_handler(
        fakes.feishu("fs-secret", seen)
    )
    Feishu().send(
        to_robot("feishu", httpserver.url_for("/open-apis/bot/v2/hook/abc"), "fs-secret"), key="k"
    )
    card = seen[0]["card"]
    assert seen[0]["msg_type"] == "interactive"
    assert card["header"]["title"]["content"] == CONTENT.subject
    assert card["elements"][0]["content"] == CONTENT.markdown


LINK = "https://duban.example.gov.cn/u/TOKEN"
WITH_LINK = Rendered(
    CONTENT.subject, CONTENT.text, CONTENT.html, CONTENT.markdown, CONTENT.data, link=LINK
)


def test_it_sends_dingtalk_an_action_card_with_a_button_to_the_portal(
    httpserver: HTTPServer,
) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_request("/robot/send").respond_with_handler(fakes.dingtalk("SEC1", seen))
    target = Target(kind="dingtalk", url=httpserver.url_for("/robot/send"), secret="SEC1")
    result = DingTalk().send(Message(WITH_LINK, target, at=T0), key="k")
    assert result.ref.startswith("errcode=0")
    assert seen[0]["msgtype"] == "actionCard"
    card = seen[0]["actionCard"]
    assert card["title"] == CONTENT.subject and card["text"] == CONTENT.markdown
    assert card["singleURL"] == LINK and card["singleTitle"] == "打开办理页面"


def test_it_sends_feishu_a_card_with_a_button_to_the_portal(httpserver: HTTPServer) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_request("/hook").respond_with_handler(fakes.feishu("s", seen))
    target = Target(kind="feishu", url=httpserver.url_for("/hook"), secret="s")
    Feishu().send(Message(WITH_LINK, target, at=T0), key="k")
    elements = seen[0]["card"]["elements"]
    assert elements[0] == {"tag": "markdown", "content": CONTENT.markdown}
    (button,) = elements[1]["actions"]
    assert elements[1]["tag"] == "action" and button["tag"] == "button"
    assert button["url"] == LINK and button["text"] == {
        "tag": "plain_text",
        "content": "打开办理页面",
    }


def test_wecom_keeps_the_link_in_its_markdown(httpserver: HTTPServer) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_request("/cgi-bin/webhook/send").respond_with_handler(fakes.wecom(seen))
    url = httpserver.url_for("/cgi-bin/webhook/send") + "?key=GOOD-KEY"
    WeCom().send(Message(WITH_LINK, Target("wecom", url=url), at=T0), key="k")
    assert seen[0]["msgtype"] == "markdown"
    assert seen[0]["markdown"]["content"] == CONTENT.markdown


def test_it_fails_permanently_on_a_feishu_signature_mismatch(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_handler(fakes.feishu("right", []))
    with pytest.raises(TransportError) as err:
        Feishu().send(to_robot("feishu", httpserver.url_for("/hook"), "wrong"), key="k")
    assert err.value.permanent and "19021" in str(err.value)


def test_it_makes_robot_messages_wait_their_turn(httpserver: HTTPServer) -> None:
    waits: list[float] = []
    clock = [0.0]

    def sleep(s: float) -> None:
        waits.append(s)
        clock[0] += s

    limiter = RateLimiter([(20, 60.0)], clock=lambda: clock[0], sleep=sleep)
    httpserver.expect_request("/robot/send").respond_with_response(
        Response(json.dumps(fakes.DING_OK), content_type="application/json")
    )
    robot = DingTalk(limiter=limiter)
    for n in range(25):
        robot.send(to_robot("dingtalk", httpserver.url_for("/robot/send")), key=f"k{n}")
    assert len(httpserver.log) == 25  # none dropped
    assert waits == [60.0]  # the 21st waited for the window; 22nd-25th then fit in it
