"""DingTalk custom robot (自定义机器人): markdown messages, "加签" signing, 20 messages a minute.

Signing: HMAC-SHA256 keyed by the secret over `timestamp + "\\n" + secret`, base64, URL-encoded,
sent as the `timestamp` (milliseconds) and `sign` query parameters. A reply with `errcode` ≠ 0 is
a failure; 130101 ("send too fast") and -1 (system busy) are worth retrying. A body over 20000
bytes is refused, so long markdown is cut on whole lines with a note (`notify.fit`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, ClassVar

from notify.fit import fit_json
from notify.http import encode_json, read_json
from notify.ratelimit import DINGTALK_LIMITS
from notify.robot import Robot
from notify.transport import Message, Rendered, SendResult, TransportError

RETRYABLE_ERRCODES = {130101: 60.0, -1: None}
MAX_BODY_BYTES = 20000


def sign(timestamp_ms: int, secret: str) -> str:
    """The `sign` parameter before URL encoding (requests encodes the query)."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


BUTTON_TITLE = "打开办理页面"


def build_body(content: Rendered) -> dict[str, Any]:
    """A markdown message, cut to fit the body limit; DingTalk shows `title` in the chat list.

    With a link to the pages it is an ActionCard (整体跳转: `singleTitle` and `singleURL`): the
    same markdown with one button that opens the unit's portal."""

    def make(text: str) -> dict[str, Any]:
        if content.link:
            return {
                "msgtype": "actionCard",
                "actionCard": {
                    "title": content.subject,
                    "text": text,
                    "btnOrientation": "0",
                    "singleTitle": BUTTON_TITLE,
                    "singleURL": content.link,
                },
            }
        return {"msgtype": "markdown", "markdown": {"title": content.subject, "text": text}}

    return fit_json(make, content.markdown, MAX_BODY_BYTES)


class DingTalk(Robot):
    """POST to the robot's webhook URL as given (with `access_token`)."""

    kind: ClassVar[str] = "dingtalk"
    limits = DINGTALK_LIMITS

    def send(self, msg: Message, *, key: str) -> SendResult:
        """Wait for the robot's turn, post once and check `errcode`."""
        body = encode_json(build_body(msg.content))
        self.limiter.acquire(msg.target.url)
        params: dict[str, str] = {}
        if msg.target.secret:
            # The timestamp is taken after the wait: DingTalk rejects signatures over an hour old.
            ts = int(self.clock().timestamp() * 1000)
            params = {"timestamp": str(ts), "sign": sign(ts, msg.target.secret)}
        resp = self.poster.post(msg.target.url, body, params=params)
        reply = read_json(resp, "钉钉")
        code = reply.get("errcode", 0)
        if code != 0:
            text = f"钉钉机器人返回错误 errcode={code} errmsg={reply.get('errmsg', '')!r}"
            if code in RETRYABLE_ERRCODES:
                raise TransportError(text + "（稍后重试）", retry_after=RETRYABLE_ERRCODES[code])
            raise TransportError(text + "（永久性错误，请检查机器人设置）", permanent=True)
        return SendResult(ref=f"errcode=0 {reply.get('errmsg', '')}")
