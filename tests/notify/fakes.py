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
        if body.get("msgtype") != "markdown" or not body["markdown"].get("title"):
            return reply({"errcode": 40035, "errmsg": "缺少参数 json"})
        return reply(DING_OK)

    return handle


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
