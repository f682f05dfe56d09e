"""One masking rule for every URL, error and line that leaves the process.

What counts as a secret:
- every query value of a URL (DingTalk's `access_token`, WeCom's `key`, signatures, timestamps);
- the token in the path of the known robot and webhook shapes (Feishu/Lark `/hook/<token>`,
  Slack `/services/T…/B…/<token>`, Discord `/api/webhooks/<id>/<token>`, Teams `/webhookb2/…`,
  and a segment after `hook(s)/`, `webhook(s)/`, `token/`, `key(s)/`, `secret(s)/`);
- the password in a URL's userinfo (`http://user:PASS@host`);
- any secret the process has been told of (`remember`): channel secrets and URL tokens from the unit
  directory, the SMTP password, the portal secret, the database password.

`mask_url` is for a robot's own address (shown in `units list`, the outbox, `delivery.recipient`);
`mask_text` is for free text (stored errors, log records, everything the CLI prints). Neither
raises on a URL that does not parse: a port typo must not print the token it carries.

Standard library only: the CLI imports this at start-up (tests/duban/test_fast_start.py).
"""

from __future__ import annotations

import functools
import io
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any, TextIO
from urllib.parse import quote, unquote

MIN_SECRET = 6  # shorter values (ids, flags) are not worth hiding and hiding them breaks text
_STARS = "***"

_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*://"
_USERINFO = re.compile(rf"({_SCHEME})([^\s/@:?#'\"<>]*):([^\s/@?#'\"<>]+)@")
_QUERY_VALUE = re.compile(r"([?&][A-Za-z_][\w.\-\[\]]*=)([^&;#\s'\"<>)\]}，。]+)")
_PATH_TOKENS = re.compile(
    r"(/(?:open-apis/bot/v2/hook|hook|hooks|webhook|webhooks|token|tokens|key|keys|secret|secrets"
    r"|services/[^/\s?#'\"<>]+/[^/\s?#'\"<>]+|api/webhooks/\d+|webhookb2)/)"
    r"([^/\s?#'\"<>，。]+)"
)

_lock = threading.Lock()
_known: set[str] = set()
_known_pattern: re.Pattern[str] | None = None


def mask_secret(value: str | None) -> str:
    """Enough of a secret to recognise it (first and last three), never the whole of it."""
    if not value:
        return ""
    if len(value) <= 8:
        return _STARS
    return f"{value[:3]}…{value[-3:]}"


def _masked(value: str) -> bool:
    return value.startswith(_STARS) or "…" in value  # masked once already: masking is idempotent


def _mask_group(match: re.Match[str]) -> str:
    value = match.group(2)
    return match.group(1) + (value if _masked(value) else mask_secret(value))


def _mask_long(match: re.Match[str]) -> str:
    value = match.group(2)
    keep = len(value) < MIN_SECRET or _masked(value)
    return match.group(1) + (value if keep else mask_secret(value))


def _mask_password(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}:{_STARS}@"


@functools.lru_cache(maxsize=4096)  # the pipeline labels every robot message with it
def mask_url(url: str) -> str:
    """A robot's or webhook's URL with its tokens, signature and password hidden (never raises)."""
    text = _USERINFO.sub(_mask_password, url)
    text = _QUERY_VALUE.sub(_mask_group, text)
    text = _PATH_TOKENS.sub(_mask_long, text)
    return text.split("#", 1)[0]


def mask_password(url: str) -> str:
    """The URL with only its userinfo password hidden (a database URL keeps its options)."""
    return _USERINFO.sub(_mask_password, url)


def url_secrets(url: str) -> list[str]:
    """The secrets a URL carries, as written and percent-decoded (for `remember` and `mask_text`)."""
    found: list[str] = []
    found += [m.group(3) for m in _USERINFO.finditer(url)]
    found += [m.group(2) for m in _QUERY_VALUE.finditer(url)]
    found += [m.group(2) for m in _PATH_TOKENS.finditer(url)]
    out: list[str] = []
    for value in found:
        for form in (value, unquote(value)):
            if len(form) >= MIN_SECRET and form not in out:
                out.append(form)
    return out


def remember(*secrets: str | None) -> None:
    """Hide these values wherever they appear in what leaves the process from now on."""
    global _known_pattern
    fresh = {s.strip() for s in secrets if s and len(s.strip()) >= MIN_SECRET} - _known
    if not fresh:
        return
    with _lock:
        _known.update(fresh)
        _known.update(quote(s, safe="") for s in fresh)
        _known_pattern = None


def remember_url(url: str | None) -> None:
    """Hide the tokens and password of this URL wherever they appear."""
    if url:
        remember(*url_secrets(url))


def forget_all() -> None:
    """Clear what `remember` was told (tests)."""
    global _known_pattern
    with _lock:
        _known.clear()
        _known_pattern = None


def _known_regex() -> re.Pattern[str] | None:
    global _known_pattern
    if not _known:
        return None
    pattern = _known_pattern
    if pattern is None:
        with _lock:
            words = sorted(_known, key=len, reverse=True)
            pattern = _known_pattern = re.compile("|".join(re.escape(w) for w in words))
    return pattern


def mask_text(text: str, extra: Iterable[str] = ()) -> str:
    """Free text with every secret hidden: URL tokens and passwords, remembered and `extra` secrets."""
    if not text:
        return text
    out = _USERINFO.sub(_mask_password, text)
    out = _QUERY_VALUE.sub(_mask_long, out)
    out = _PATH_TOKENS.sub(_mask_long, out)
    pattern = _known_regex()
    if pattern is not None:
        out = pattern.sub(lambda m: mask_secret(m.group(0)), out)
    for secret in sorted((s for s in extra if s and len(s) >= MIN_SECRET), key=len, reverse=True):
        masked = mask_secret(secret)
        out = out.replace(secret, masked).replace(quote(secret, safe=""), masked)
    return out


class MaskingStream(io.TextIOBase):
    """A text stream that masks whole lines before they reach the real one (stdout, stderr)."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self._pending = ""

    def write(self, s: str) -> int:
        data = self._pending + s
        head, sep, tail = data.rpartition("\n")
        if sep:
            self.inner.write(mask_text(head + sep))
            self._pending = tail
        else:
            self._pending = data
        if len(self._pending) > 65536:  # a line that never ends: mask what there is
            self.inner.write(mask_text(self._pending))
            self._pending = ""
        return len(s)

    def flush(self) -> None:
        if self._pending:
            self.inner.write(mask_text(self._pending))
            self._pending = ""
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None)


_installed = False


def install_log_masking() -> None:
    """Mask every log record of the process (message, arguments and traceback) when it is made."""
    global _installed
    if _installed:
        return
    _installed = True
    make = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:
            return record
        record.msg, record.args = mask_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
