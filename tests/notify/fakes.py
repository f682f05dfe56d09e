"""Stand-ins for DingTalk, WeCom, Feishu and a generic receiver: each verifies the signature the
way the real service does and answers with the real service's success and error bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from werkzeug import Request, Response

DING_OK = {"errcode": 0, "errmsg": "ok"}
DING_BAD_SIGN = {
    "errcode": 310000,
    "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
}
DING_TOO_FAST = {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
WECOM_OK = {"errcode": 0, "errmsg": "ok"}
WECOM_BAD_KEY = {
    "errcode": 93000,
    "errmsg": "invalid webhook url, hint: [1700000000_1_abc], from ip: 127.0.0.1, "
    "more info at https://open.work.weixin.qq.com/devtool/query?e=93000",
}
WECOM_TOO_LONG = {
    "errcode": 40058,
    "errmsg": "markdown.content exceed max length 4096. invalid Request Parameter",
}
FEISHU_OK = {"code": 0, "data": {}, "msg": "success"}
FEISHU_BAD_SIGN = {
    "code": 19021,
    "data": {},
    "msg": "sign match fail or timestamp is not within one hour from current time",
}

Handler = Callable[[Request], Response]


def reply(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def dingtalk(secret: str, seen: list[dict[str, Any]]) -> Handler:
    """DingTalk: `timestamp` (ms, within an hour) and `sign` query parameters; markdown body."""

    def handle(request: Request) -> Response:
        ts, sign = request.args.get("timestamp", ""), request.args.get("sign", "")
        string = f"{ts}\n{secret}".encode()
        good = base64.b64encode(hmac.new(secret.encode(), string, hashlib.sha256).digest())
        fresh = ts.isdigit() and abs(time.time() * 1000 - int(ts)) < 3600_000
        if not (fresh and hmac.compare_digest(sign.encode(), good)):
            return reply(DING_BAD_SIGN)
        body = json.loads(request.get_data())
        seen.append(body)
        if not _ding_shape_ok(body):
            return reply({"errcode": 40035, "errmsg": "缺少参数 json"})
        return reply(DING_OK)

    return handle


def _ding_shape_ok(body: dict[str, Any]) -> bool:
    """DingTalk's documented bodies: markdown (title, text), or an ActionCard with one button
    (整体跳转: title, text, singleTitle, singleURL all required)."""
    if body.get("msgtype") == "markdown":
        return bool(body["markdown"].get("title") and body["markdown"].get("text"))
    if body.get("msgtype") == "actionCard":
        card = body.get("actionCard", {})
        return all(
            isinstance(card.get(k), str) and card[k]
            for k in ("title", "text", "singleTitle", "singleURL")
        )
    return False


def _feishu_card_ok(card: dict[str, Any]) -> bool:
    """Feishu's card: elements of known tags; an `action` holds buttons whose text is a
    plain_text and whose `url` is a link (the documented jump button)."""
    for el in card.get("elements", []):
        if el.get("tag") == "markdown":
            continue
        if el.get("tag") != "action":
            return False
        for b in el.get("actions", []):
            if b.get("tag") != "button" or b.get("text", {}).get("tag") != "plain_text":
                return False
            if not str(b.get("url", "")).startswith(("http://", "https://")):
                return False
    return bool(card.get("elements"))


def wecom(seen: list[dict[str, Any]]) -> Handler:
    """WeCom: key in the URL, markdown content of at most 4096 bytes."""

    def handle(request: Request) -> Response:
        if request.args.get("key") != "GOOD-KEY":
            return reply(WECOM_BAD_KEY)
        body = json.loads(request.get_data())
        seen.append(body)
        if len(body["markdown"]["content"].encode("utf-8")) > 4096:
            return reply(WECOM_TOO_LONG)
        return reply(WECOM_OK)

    return handle


def feishu(secret: str, seen: list[dict[str, Any]]) -> Handler:
    """Feishu: `timestamp` (s, string) and `sign` in the body; HMAC keyed by ts+\\n+secret."""

    def handle(request: Request) -> Response:
        body = json.loads(request.get_data())
        ts = body.get("timestamp", "")
        key = f"{ts}\n{secret}".encode()
        good = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        fresh = isinstance(ts, str) and ts.isdigit() and abs(time.time() - int(ts)) < 3600
        if not (fresh and hmac.compare_digest(body.get("sign", ""), good)):
            return reply(FEISHU_BAD_SIGN)
        seen.append(body)
        if body.get("msg_type") != "interactive" or not _feishu_card_ok(body.get("card", {})):
            return reply({"code": 11246, "msg": "card content failed"})
        return reply(FEISHU_OK)

    return handle


def webhook(secret: str, seen: list[dict[str, Any]]) -> Handler:
    """A generic receiver verifying X-Duban-Signature over the raw body, as the README shows."""

    def handle(request: Request) -> Response:
        raw = request.get_data()
        good = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Duban-Signature", ""), good):
            return reply({"error": "bad signature"}, status=401)
        body = json.loads(raw)
        body["_idempotency_key"] = request.headers.get("Idempotency-Key")
        seen.append(body)
        return reply({"ok": True})

    return handle
