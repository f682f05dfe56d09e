"""Robot size limits: long grouped messages are cut on whole lines with a note, never refused.

WeCom limits the markdown to 4096 bytes, DingTalk the JSON body to 20000 bytes, Feishu the
request body to 20 KB. The stand-in services (tests/notify/fakes.py) verify each signature.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from notify import dingtalk, feishu, wecom
from notify.fit import CUT_NOTE, fit_json, fit_text, utf8_size
from notify.http import encode_json
from notify.notice import Audience, Notice
from notify.outbox import Outbox
from notify.render import OfficeInfo, Renderer
from notify.transport import Message, Rendered, Target, Transport
from tests.notify import fakes
from tests.notify.conftest import T0, make_item

LINES = "\n".join(f"- 第{i}项：消防安全检查（{'督办' * (i % 7)}）ok" for i in range(3000))


def check_cut(text: str, out: str, limit: int, size: Callable[[str], int] = utf8_size) -> None:
    """`out` fits, is whole lines of `text` plus the note, and one more line would not fit."""
    assert size(out) <= limit and "\ufffd" not in out
    assert out.endswith(CUT_NOTE)
    kept = out.removesuffix(CUT_NOTE)
    assert text.startswith(kept) and text[len(kept)] == "\n"
    next_end = text.find("\n", len(kept) + 1)
    assert size(text[:next_end] + CUT_NOTE) > limit  # as many whole lines as fit


@pytest.mark.parametrize("limit", [300, 4096, 4097, 4098, 20000, 20480])
def test_it_keeps_as_many_whole_lines_as_fit(limit: int) -> None:
    check_cut(LINES, fit_text(LINES, limit), limit)


@pytest.mark.parametrize("size", [10, 4095, 4096, 4097, 9000])
def test_it_cuts_one_long_line_between_characters(size: int) -> None:
    text = "督" * size  # three bytes a character: most limits fall inside one
    out = fit_text(text, wecom.MAX_CONTENT_BYTES)
    if utf8_size(text) <= wecom.MAX_CONTENT_BYTES:
        assert out == text
        return
    kept = out.removesuffix(CUT_NOTE)
    assert out.endswith(CUT_NOTE) and set(kept) == {"督"}
    assert utf8_size(out) <= wecom.MAX_CONTENT_BYTES < utf8_size(out) + len("督".encode())


def test_it_counts_json_escapes_against_a_body_limit() -> None:
    text = "\n".join(f'第{i}项 "引号" \\ 反斜杠\t制表' for i in range(2000))

    def make(t: str) -> dict[str, Any]:
        return {"msgtype": "markdown", "markdown": {"title": "标题", "text": t}}

    body = fit_json(make, text, 5000)
    check_cut(text, body["markdown"]["text"], 5000, lambda t: len(encode_json(make(t))))


def grouped(count: int) -> Rendered:
    """One unit's `count` overdue items rendered as one message, as the pipeline would."""
    items = tuple(make_item(n + 1, stage="chase", n=n + 1, days_left=-2) for n in range(count))
    office = OfficeInfo(name="区安委办", contact="值班电话 021-12345678")
    notice = Notice(1, Audience.UNIT_CONTACTS, items)
    return Renderer(office).render(notice, recipient_name="区应急局", at=T0)


def recording(handler: Callable[[Request], Response], raw: list[bytes]) -> Callable[..., Any]:
    def handle(request: Request) -> Response:
        raw.append(request.get_data())
        return handler(request)

    return handle


@dataclass(frozen=True)
class Robot:
    """A robot channel, its stand-in service, and what its limit applies to."""

    path: str
    transport: Callable[[], Transport]
    fake: Callable[[list[dict[str, Any]]], Callable[[Request], Response]]
    secret: str | None
    limit: int
    body_limited: bool  # the whole JSON body (else the markdown alone)
    markdown: Callable[[dict[str, Any]], str]


ROBOTS = {
    "dingtalk": Robot(
        "/robot/send?access_token=T",
        dingtalk.DingTalk,
        lambda seen: fakes.dingtalk("SEC-ding", seen),
        "SEC-ding",
        dingtalk.MAX_BODY_BYTES,
        True,
        lambda body: body["markdown"]["text"],
    ),
    "feishu": Robot(
        "/open-apis/bot/v2/hook/h1",
        feishu.Feishu,
        lambda seen: fakes.feishu("fs-secret", seen),
        "fs-secret",
        feishu.MAX_BODY_BYTES,
        True,
        lambda body: body["card"]["elements"][0]["content"],
    ),
    "wecom": Robot(
        "/cgi-bin/webhook/send?key=GOOD-KEY",
        wecom.WeCom,
        fakes.wecom,
        None,
        wecom.MAX_CONTENT_BYTES,
        False,
        lambda body: body["markdown"]["content"],
    ),
}


def json_size(text: str) -> int:
    """Bytes `text` takes inside a JSON body (escapes included)."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8"))


@pytest.mark.parametrize("kind", sorted(ROBOTS))
def test_a_400_item_message_arrives_signed_cut_and_whole(httpserver: HTTPServer, kind: str) -> None:
    robot = ROBOTS[kind]
    content = grouped(400)
    assert utf8_size(content.markdown) > 5 * robot.limit  # far over the limit before cutting
    seen: list[dict[str, Any]] = []
    raw: list[bytes] = []
    httpserver.expect_request(robot.path.split("?")[0], method="POST").respond_with_handler(
        recording(robot.fake(seen), raw)
    )
    target = Target(kind, url=httpserver.url_for(robot.path), secret=robot.secret)
    result = robot.transport().send(Message(content, target, at=T0), key="o1:chase:s1:robot")
    assert result.ref.startswith(("errcode=0", "code=0"))  # signature accepted, not refused
    [body] = raw
    [parsed] = seen
    assert json.loads(body.decode("utf-8")) == parsed  # strict UTF-8: nothing cut mid-character
    text = robot.markdown(parsed)

    def body_size(t: str) -> int:  # the body's size had it carried `t` instead
        return len(body) - json_size(text) + json_size(t)

    assert (len(body) if robot.body_limited else utf8_size(text)) <= robot.limit
    check_cut(content.markdown, text, robot.limit, body_size if robot.body_limited else utf8_size)
    assert text.startswith("### 【催办】区应急局") and "**1. 任务1" in text


@pytest.mark.parametrize("kind", ["dingtalk", "feishu"])
def test_the_outbox_keeps_the_cut_body_the_robot_would_get(tmp_path: Path, kind: str) -> None:
    content = grouped(400)
    msg = Message(content, Target(kind, url="https://example.invalid/hook?token=x"), at=T0)
    record = json.loads(Outbox(tmp_path).render_file(msg, "k"))
    assert len(encode_json(record["body"])) <= ROBOTS[kind].limit
    assert ROBOTS[kind].markdown(record["body"]).endswith(CUT_NOTE)
