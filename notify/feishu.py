"""Feishu custom bot (飞书自定义机器人): a markdown card, signed in the body.

Signing: `timestamp + "\\n" + secret` is the HMAC-SHA256 *key* over an empty message, base64;
`timestamp` (seconds, as a string) and `sign` travel in the JSON body. A reply with `code` ≠ 0
is a failure; 11232 (frequency limited) is retried. Limits: 5 a second, 100 a minute, and a
request body of at most 20 KB, so long markdown is cut on whole lines with a note (`notify.fit`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, ClassVar

from notify.fit import fit_json
from notify.http import encode_json, read_json
from notify.ratelimit import FEISHU_LIMITS
from notify.robot import Robot
from notify.transport import Message, Rendered, SendResult, TransportError

RETRYABLE_CODES = {11232: 10.0}
MAX_BODY_BYTES = 20 * 1024


BUTTON_TITLE = "打开办理页面"


def sign(timestamp_s: int, secret: str) -> str:
    """The body's `sign` field."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def build_body(content: Rendered, signed: dict[str, str] | None = None) -> dict[str, Any]:
    """An interactive card: the subject as its header, the markdown as one element, and (with a
    link to the pages) a button that opens it (an `action` element with one `button` and `url`).

    `signed` (timestamp and sign) goes first in the body; the markdown is cut so the whole body,
    signature included, stays within the 20 KB limit.
    """

    def make(text: str) -> dict[str, Any]:
        return {
            **(signed or {}),
            "msg_type": "interactive",
            "card": {
                "config": {"wide_screen_mode": True},
                "header": {"title": {"tag": "plain_text", "content": content.subject}},
                "elements": [{"tag": "markdown", "content": text}, *button],
            },
        }

    button = (
        [
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": BUTTON_TITLE},
                        "type": "primary",
                        "url": content.link,
                    }
                ],
            }
        ]
        if content.link
        else []
    )

    return fit_json(make, content.markdown, MAX_BODY_BYTES)


class Feishu(Robot):
    """POST to the bot's webhook URL as given (`…/bot/v2/hook/<token>`)."""

    kind: ClassVar[str] = "feishu"
    limits = FEISHU_LIMITS

    def send(self, msg: Message, *, key: str) -> SendResult:
        """Wait for the bot's turn, post once and check `code`."""
        self.limiter.acquire(msg.target.url)
        signed: dict[str, str] = {}
        if msg.target.secret:
            ts = int(self.clock().timestamp())
            signed = {"timestamp": str(ts), "sign": sign(ts, msg.target.secret)}
        payload = build_body(msg.content, signed)
        reply = read_json(self.poster.post(msg.target.url, encode_json(payload)), "飞书")
        # Current replies carry `code`; older deployments answer `StatusCode`.
        code = reply.get("code", reply.get("StatusCode", 0))
        if code != 0:
            text = f"飞书机器人返回错误 code={code} msg={reply.get('msg', '')!r}"
            if code in RETRYABLE_CODES:
                raise TransportError(text + "（稍后重试）", retry_after=RETRYABLE_CODES[code])
            raise TransportError(text + "（永久性错误，请检查机器人设置）", permanent=True)
        return SendResult(ref=f"code=0 {reply.get('msg', '')}")
