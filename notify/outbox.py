"""Outbox, the embedded default: every message written as a file a newcomer can open.

E-mail becomes an `.eml` (the exact MIME message SMTP would carry), robot and webhook messages
a `.json` holding the body the service would receive. Files are named after the dedupe key, so
a resend replaces the same file, and written atomically (temporary file, then rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from notify import dingtalk, feishu, webhook, wecom
from notify.email import build_mime, parse_mailbox
from notify.mask import mask_url
from notify.transport import Message, SendResult, TransportError

_BODY_BUILDERS = {
    "dingtalk": lambda msg, key: dingtalk.build_body(msg.content),
    "wecom": lambda msg, key: wecom.build_body(msg.content),
    "feishu": lambda msg, key: feishu.build_body(msg.content),
    "webhook": lambda msg, key: webhook.build_body(msg.content, key=key),
}
_UNSAFE = re.compile(r"[^\w@.\-]+")


def outbox_name(msg: Message, key: str) -> str:
    """`<who>-<key hash>.<ext>`: readable, stable for one key, safe on every file system."""
    who = msg.target.to.address if msg.target.to else msg.target.label or msg.target.kind
    stem = _UNSAFE.sub("_", who)[:80] or msg.target.kind
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    ext = "eml" if msg.target.kind == "email" else "json"
    return f"{stem}-{digest}.{ext}"


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Outbox:
    """Writes messages under `root/<kind>/` instead of sending them."""

    kind: ClassVar[str] = "outbox"

    def __init__(self, root: Path, *, mail_from: str = "安委办 <anweiban@example.gov.cn>"):
        self.root = Path(root)
        self.mail_from = parse_mailbox(mail_from)

    def send(self, msg: Message, *, key: str) -> SendResult:
        """Write the message file; return its path."""
        path = self.root / msg.target.kind / outbox_name(msg, key)
        try:
            write_atomically(path, self.render_file(msg, key))
        except OSError as exc:
            raise TransportError(f"无法写入发件箱 {path}: {exc}") from exc
        return SendResult(ref=str(path))

    def render_file(self, msg: Message, key: str) -> bytes:
        """The file's bytes: an .eml for e-mail, a JSON record for the rest."""
        if msg.target.kind == "email":
            return build_mime(msg, mail_from=self.mail_from, key=key)
        builder = _BODY_BUILDERS.get(msg.target.kind)
        if builder is None:
            raise TransportError(f"发件箱不认识的渠道类型: {msg.target.kind}", permanent=True)
        record: dict[str, Any] = {
            "kind": msg.target.kind,
            "url": mask_url(msg.target.url),
            "key": key,
            "at": msg.at.isoformat(),
            "body": builder(msg, key),
        }
        return json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")
