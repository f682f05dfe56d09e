"""Signed portal links: a unit's token, valid until it expires or the office revokes it (pure).

A token is ``<unit>.<issued>.<expires>.<signature>`` (times in base 36 seconds since the epoch,
the signature a truncated HMAC-SHA256 under the installation's secret). Nothing is stored when a
message mints one, so rendering a message costs one HMAC; revocation is a list in the database
(models/repo/portal.py) of single tokens and of "every link of this unit issued before".
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_PREFIXES = {"portal": b"duban-portal-v1:", "calendar": b"duban-calendar-v1:"}
_SIG_BYTES = 16  # 128 bits: guessing is out of reach, the link stays short enough for a chat


class TokenError(ValueError):
    """A link that does not open the portal; `reason` is one of bad, expired, revoked."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class UnitToken:
    """What a valid token says: whose it is, when it was issued and until when it opens."""

    unit_id: int
    issued_at: datetime
    expires_at: datetime
    sig: str


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _sign(secret: bytes, body: str, purpose: str = "portal") -> str:
    # The purpose is signed too: a calendar link (long-lived, read-only) never opens the portal.
    mac = hmac.new(secret, _PREFIXES[purpose] + body.encode(), hashlib.sha256).digest()[:_SIG_BYTES]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def mint_unit_token(
    secret: bytes, unit_id: int, *, issued: datetime, expires: datetime, purpose: str = "portal"
) -> str:
    """A token for `unit_id`, valid from `issued` until `expires` (aware datetimes)."""
    if not secret:
        raise ValueError("portal secret is empty")
    body = f"{unit_id}.{_b36(int(issued.timestamp()))}.{_b36(int(expires.timestamp()))}"
    return f"{body}.{_sign(secret, body, purpose)}"


def read_unit_token(
    secret: bytes, token: str, *, now: datetime, purpose: str = "portal"
) -> UnitToken:
    """Check the signature and the expiry; `TokenError` says why a token does not open."""
    parts = token.split(".")
    if len(parts) != 4 or not secret:
        raise TokenError("bad", "链接无效：请打开安委办最近发来的消息中的链接。")
    body, sig = ".".join(parts[:3]), parts[3]
    if not hmac.compare_digest(_sign(secret, body, purpose), sig):
        raise TokenError("bad", "链接无效：请打开安委办最近发来的消息中的链接。")
    try:
        unit_id, issued, expires = int(parts[0]), int(parts[1], 36), int(parts[2], 36)
    except ValueError:
        raise TokenError("bad", "链接无效：请打开安委办最近发来的消息中的链接。") from None
    found = UnitToken(
        unit_id=unit_id,
        issued_at=datetime.fromtimestamp(issued, UTC),
        expires_at=datetime.fromtimestamp(expires, UTC),
        sig=sig,
    )
    if now >= found.expires_at:
        raise TokenError(
            "expired",
            "链接已过期：请打开安委办最近发来的消息中的新链接，或联系安委办重新发送。",
        )
    return found


def form_key(secret: bytes, token: str) -> str:
    """The portal's CSRF value for forms opened with `token` (tied to the link, stateless)."""
    return _sign(secret, "csrf:" + token)


def load_secret(home: Path, configured: str = "") -> bytes:
    """The installation's secret: DUBAN_SECRET_KEY, else `<home>/secret.key` (created once, 0600).

    The web server and the sender must share it (they share the home folder by default); set
    DUBAN_SECRET_KEY when they run on different machines.
    """
    if configured:
        return configured.encode()
    path = home / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, then linked into place: a second process (another
        # web worker starting at the same moment) either wins the link or reads the winner's
        # complete key, never an empty file (an O_EXCL create and a later write left that window).
        fd, tmp = tempfile.mkstemp(prefix=".secret.", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
            os.chmod(tmp, 0o600)
            # another process linked its key first: use theirs
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ValueError(
            f"{path}：密钥文件是空的，请删除后重新启动（会生成新密钥，已发出的链接随之失效）"
        )
    return key.encode()


def plan_calendar_key(secret: bytes, plan_id: int) -> str:
    """The secret part of a plan's calendar URL."""
    return _sign(secret, f"plan:{plan_id}", "calendar")
