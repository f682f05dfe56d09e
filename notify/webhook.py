"""Generic webhook: a JSON POST, signed, with the delivery's dedupe key as `Idempotency-Key`.

Receivers verify `X-Duban-Signature: sha256=<hex HMAC-SHA256 of the raw body>` keyed by the
channel's secret (README, "Delivery") and may drop a repeated `Idempotency-Key`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, ClassVar

from notify.http import JsonPoster, encode_json
from notify.transport import Message, Rendered, SendResult

SIGNATURE_HEADER = "X-Duban-Signature"


def sign_body(body: bytes, secret: str) -> str:
    """The signature header value: `sha256=` + hex HMAC-SHA256 of the raw body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def build_body(content: Rendered, *, key: str) -> dict[str, Any]:
    """The JSON document a receiver gets: the texts plus the structured items."""
    return {
        "key": key,
        "subject": content.subject,
        "text": content.text,
        "markdown": content.markdown,
        **dict(content.data),
    }


class Webhook:
    """POST to the channel's URL; any 2xx reply is success."""

    kind: ClassVar[str] = "webhook"

    def __init__(self, poster: JsonPoster | None = None) -> None:
        self.poster = poster or JsonPoster()

    def send(self, msg: Message, *, key: str) -> SendResult:
        """Post the message once; raise `TransportError` on failure."""
        body = encode_json(build_body(msg.content, key=key))
        headers = {"Idempotency-Key": key, "User-Agent": "duban"}
        if msg.target.secret:
            headers[SIGNATURE_HEADER] = sign_body(body, msg.target.secret)
        resp = self.poster.post(msg.target.url, body, headers=headers)
        return SendResult(ref=f"HTTP {resp.status}")
