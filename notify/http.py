"""JSON over HTTP for the webhook and robot channels: pooled connections, failures classified.

HTTP 5xx, 408, 429, timeouts and connection errors can be retried; other 4xx, redirects and bad
URLs are permanent (Alertmanager's `Retrier.Check`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import requests

from duban.cli_common import mask_secret
from notify.transport import TransportError

RETRYABLE_STATUS = frozenset({408, 425, 429})
DEFAULT_TIMEOUT = (5.0, 20.0)  # connect, read (seconds)


def encode_json(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON, Chinese kept readable."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class JsonPoster:
    """POSTs JSON with one keep-alive `requests.Session` per thread."""

    def __init__(self, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def post(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """POST `body`; return a 2xx response or raise a classified `TransportError`."""
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        try:
            resp = self._session().post(
                url,
                data=body,
                headers=all_headers,
                params=params,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as exc:
            text = scrub(f"地址无效（请检查渠道配置）: {exc}", url, params)
            raise TransportError(text, permanent=True) from exc
        except requests.exceptions.Timeout as exc:
            raise TransportError(scrub(f"请求超时: {root_cause(exc)}", url, params)) from exc
        except requests.exceptions.RequestException as exc:
            raise TransportError(scrub(f"网络错误: {root_cause(exc)}", url, params)) from exc
        check_status(resp)
        return resp


def root_cause(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error (their outer messages repeat the URL)."""
    reason: BaseException = exc
    for _ in range(10):
        inner = getattr(reason, "reason", None)
        if not isinstance(inner, BaseException) and reason.args:
            inner = reason.args[0] if isinstance(reason.args[0], BaseException) else None
        if not isinstance(inner, BaseException) or inner is reason:
            break
        reason = inner
    return f"{type(reason).__name__}: {reason}"


def scrub(text: str, url: str, params: Mapping[str, str] | None = None) -> str:
    """`text` with the URL's tokens (query values, a Feishu hook id) and signatures masked."""
    parts = urlsplit(url)
    secrets = [v for _, v in parse_qsl(parts.query)] + list((params or {}).values())
    if "/hook/" in parts.path:
        secrets.append(parts.path.rsplit("/hook/", 1)[1])
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 6:
            masked = mask_secret(secret)
            text = text.replace(secret, masked).replace(quote(secret, safe=""), masked)
    return text


def check_status(resp: requests.Response) -> None:
    """Raise a `TransportError` for a non-2xx reply, permanent unless it is worth retrying."""
    code = resp.status_code
    if 200 <= code < 300:
        return
    snippet = resp.text[:200].strip()
    if code >= 500 or code in RETRYABLE_STATUS:
        raise TransportError(
            f"对方服务暂时不可用 HTTP {code}: {snippet}", retry_after=retry_after(resp)
        )
    raise TransportError(f"对方拒绝了请求 HTTP {code}（永久性错误）: {snippet}", permanent=True)


def retry_after(resp: requests.Response) -> float | None:
    """The `Retry-After` header in seconds, when it is a number."""
    value = resp.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def read_json(resp: requests.Response, service: str) -> dict[str, Any]:
    """The reply as a JSON object; a robot that answers something else is misconfigured."""
    try:
        data = resp.json()
    except ValueError as exc:
        raise TransportError(
            f"{service} 返回的不是 JSON（请检查机器人地址）: {resp.text[:200]}", permanent=True
        ) from exc
    if not isinstance(data, dict):
        raise TransportError(f"{service} 返回了意外的内容: {resp.text[:200]}", permanent=True)
    return data
