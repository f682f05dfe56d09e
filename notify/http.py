"""JSON over HTTP for the webhook and robot channels: pooled connections, failures classified.

HTTP 5xx, 408, 425, 429, timeouts and connection errors can be retried; other 4xx, redirects
and bad URLs are permanent (Alertmanager's `Retrier.Check`).

Built on urllib3 (which `requests` itself runs on, pinned in the lockfile): one thread-safe
keep-alive pool for every channel, and about half the per-request cost of a `requests.Session`,
which matters when a pass posts hundreds of messages (bench/bench_delivery.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import urllib3

from notify.mask import mask_text, url_secrets
from notify.transport import TransportError

RETRYABLE_STATUS = frozenset({408, 425, 429})
DEFAULT_TIMEOUT = (5.0, 20.0)  # connect, read (seconds)


@dataclass(frozen=True)
class Reply:
    """An HTTP reply: status, raw body and headers (looked up case-insensitively)."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")


def encode_json(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON, Chinese kept readable."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def with_params(url: str, params: Mapping[str, str] | None) -> str:
    """`url` with `params` added to its query (a robot URL already carries its token)."""
    if not params:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def check_url(url: str) -> None:
    """Refuse what is not an http(s) URL with a host: a configuration error, never retried."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port out of range or not a number)
        bad = parts.scheme not in ("http", "https") or not parts.hostname
    except ValueError:
        bad = True
    if bad:
        raise TransportError(
            f"地址无效（请检查渠道配置，应为 http:// 或 https:// 开头）: {scrub(url, url)}",
            permanent=True,
        )


class JsonPoster:
    """POSTs JSON over one shared keep-alive connection pool."""

    def __init__(self, timeout: tuple[float, float] = DEFAULT_TIMEOUT, maxsize: int = 8) -> None:
        self.timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        self.pool = urllib3.PoolManager(num_pools=50, maxsize=maxsize, block=False)
        # Channel URL → (its host's pool, path and query): parsing the URL and looking the pool
        # up cost a third of a send. Robot signatures vary per message, so they stay out of the key.
        self._routes: dict[str, tuple[urllib3.HTTPConnectionPool, str, str | None]] = {}
        self._lock = threading.Lock()

    def _route(self, url: str) -> tuple[urllib3.HTTPConnectionPool, str, str | None]:
        found = self._routes.get(url)
        if found is None or found[0].pool is None:  # new, or closed when the manager evicted it
            check_url(url)
            parsed = urllib3.util.parse_url(url)
            # `http://user:password@host/…`: HTTP Basic, as curl and requests send it.
            auth = urllib3.util.make_headers(basic_auth=unquote(parsed.auth)) if parsed.auth else {}
            found = (
                self.pool.connection_from_url(url),
                parsed.request_uri,
                auth.get("authorization"),
            )
            with self._lock:
                if len(self._routes) > 1000:
                    self._routes.clear()
                self._routes[url] = found
        return found

    def post(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply:
        """POST `body`; return a 2xx reply or raise a classified `TransportError`."""
        pool, path, auth = self._route(url)
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        if auth:
            all_headers.setdefault("Authorization", auth)
        try:
            resp = pool.urlopen(
                "POST",
                with_params(path, params),
                body=body,
                headers=all_headers,
                timeout=self.timeout,
                retries=False,  # retrying is the pipeline's job, with backoff
                redirect=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:  # a ConnectTimeoutError in urllib3 2
            raise TransportError(scrub(f"无法连接: {root_cause(exc)}", url, params)) from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise TransportError(scrub(f"请求超时: {root_cause(exc)}", url, params)) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransportError(scrub(f"网络错误: {root_cause(exc)}", url, params)) from exc
        reply = Reply(resp.status, resp.data, resp.headers)  # case-insensitive already
        check_status(reply)
        return reply


def check_status(reply: Reply) -> None:
    """Raise a `TransportError` for a non-2xx reply, permanent unless it is worth retrying."""
    code = reply.status
    if 200 <= code < 300:
        return
    snippet = reply.text[:200].strip()
    if code >= 500 or code in RETRYABLE_STATUS:
        raise TransportError(
            f"对方服务暂时不可用 HTTP {code}: {snippet}", retry_after=retry_after(reply)
        )
    raise TransportError(f"对方拒绝了请求 HTTP {code}（永久性错误）: {snippet}", permanent=True)


def retry_after(reply: Reply) -> float | None:
    """The `Retry-After` header in seconds, when it is a number."""
    try:
        return max(0.0, float(reply.headers.get("retry-after", "")))
    except ValueError:
        return None


def read_json(reply: Reply, service: str) -> dict[str, Any]:
    """The reply as a JSON object; a robot that answers something else is misconfigured."""
    try:
        data = json.loads(reply.body)
    except ValueError as exc:
        raise TransportError(
            f"{service} 返回的不是 JSON（请检查机器人地址）: {reply.text[:200]}", permanent=True
        ) from exc
    if not isinstance(data, dict):
        raise TransportError(f"{service} 返回了意外的内容: {reply.text[:200]}", permanent=True)
    return data


def root_cause(exc: BaseException) -> str:
    """The innermost reason of a urllib3 error (the outer messages repeat the URL)."""
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
    """`text` with the URL's tokens and password, the signature parameters and remembered secrets masked."""
    return mask_text(text, extra=[*url_secrets(url), *(params or {}).values()])
