"""The channel interface: a rendered message, where it goes, and how a send fails.

Transports don't render, retry or touch the database (STYLE.md §4): they make one attempt and
either return a `SendResult` or raise `TransportError`, saying whether trying again could help.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from notify.mask import mask_text


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail (a 督办单's DOCX or PDF); `ref` says which item it belongs to."""

    filename: str
    mime: str  # "application/pdf"
    data: bytes
    ref: str = ""  # "obligation_id:seq" of the items it is for (space-separated): kept when a
    # resend lists only some of the items and one of them is among those


@dataclass(frozen=True)
class Rendered:
    """One message's content in every format a channel may need."""

    subject: str
    text: str
    html: str
    markdown: str
    data: Mapping[str, Any] = field(default_factory=dict)  # structured items, for webhooks
    # The page behind the message (the unit's portal, or the console's page of its one item):
    # DingTalk and Feishu show it as a button; "" when there are no pages.
    link: str = ""
    attachments: tuple[Attachment, ...] = ()  # e-mail only; robots carry the text and links


@dataclass(frozen=True)
class Mailbox:
    """An e-mail address with its (Chinese) display name."""

    address: str
    name: str = ""


@dataclass(frozen=True)
class Target:
    """Where one message goes: a robot's URL (and secret) or one e-mail recipient."""

    kind: str
    url: str = ""
    secret: str | None = None
    to: Mailbox | None = None
    label: str = ""  # who it is for (unit name), used to name outbox files


@dataclass(frozen=True)
class Message:
    """Rendered content addressed to one target; `at` is the instant it was composed (aware)."""

    content: Rendered
    target: Target
    at: datetime


@dataclass(frozen=True)
class SendResult:
    """What a successful send leaves behind: a reference (file path, message id, reply)."""

    ref: str = ""


class TransportError(Exception):
    """A failed attempt. `permanent` failures are not retried; `retry_after` is a hint (seconds)."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        message = mask_text(message)  # a stored or printed error never carries a secret in full
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


class Transport(Protocol):
    """One delivery channel. Implementations are long-lived and safe to call from threads."""

    kind: ClassVar[str]

    def send(self, msg: Message, *, key: str) -> SendResult:
        """Make one attempt to deliver `msg`; `key` is the delivery's dedupe key."""
        ...
