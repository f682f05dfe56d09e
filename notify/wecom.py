"""WeCom group robot (企业微信群机器人): markdown, the key in the URL, 20 messages a minute.

The markdown `content` may hold at most 4096 bytes of UTF-8. Longer content is cut on whole
lines with a note saying so (`notify.fit`), never rejected: the unit still hears about its items.
A reply with `errcode` ≠ 0 is a failure; 45009 (frequency limit) and -1 (busy) are retried.
"""

from __future__ import annotations

from typing import Any, ClassVar

from notify.fit import fit_text
from notify.http import encode_json, read_json
from notify.ratelimit import WECOM_LIMITS
from notify.robot import Robot
from notify.transport import Message, Rendered, SendResult, TransportError

MAX_CONTENT_BYTES = 4096
RETRYABLE_ERRCODES = {45009: 60.0, -1: None}


def build_body(content: Rendered) -> dict[str, Any]:
    """A markdown message, cut to the robot's limit."""
    return {
        "msgtype": "markdown",
        "markdown": {"content": fit_text(content.markdown, MAX_CONTENT_BYTES)},
    }


class WeCom(Robot):
    """POST to the robot's webhook URL as given (`…/webhook/send?key=…`)."""

    kind: ClassVar[str] = "wecom"
    limits = WECOM_LIMITS

    def send(self, msg: Message, *, key: str) -> SendResult:
        """Wait for the robot's turn, post once and check `errcode`."""
        body = encode_json(build_body(msg.content))
        self.limiter.acquire(msg.target.url)
        reply = read_json(self.poster.post(msg.target.url, body), "企业微信")
        code = reply.get("errcode", 0)
        if code != 0:
            text = f"企业微信机器人返回错误 errcode={code} errmsg={reply.get('errmsg', '')!r}"
            if code in RETRYABLE_ERRCODES:
                raise TransportError(text + "（稍后重试）", retry_after=RETRYABLE_ERRCODES[code])
            raise TransportError(text + "（永久性错误，请检查机器人地址）", permanent=True)
        return SendResult(ref=f"errcode=0 {reply.get('errmsg', '')}")
