"""Deterministic dedupe keys: one per (obligation, stage, occurrence, channel, recipient).

The same action to the same person through the same channel always yields the same key, so the
`delivery.key` unique constraint turns a second attempt into a skip (Alertmanager's dedup stage,
healthchecks' claim before send).
"""

from __future__ import annotations

import hashlib

MAX_KEY = 400  # delivery.key column length


def recipient_id(kind: str, *, url: str = "", address: str = "") -> str:
    """Who a key is for: a lower-cased address, or a hash of a robot's URL (tokens stay out)."""
    if kind == "email":
        return address.strip().lower()
    return "url-" + hashlib.sha256(url.strip().encode("utf-8")).hexdigest()[:16]


def build_key(
    *,
    obligation_id: int | None,
    stage: str,
    seq: str,
    channel: str,
    recipient: str,
) -> str:
    """`o<obligation>:<stage>:<seq>:<channel>:<recipient>`, hashed at the end when too long."""
    owner = f"o{obligation_id}" if obligation_id is not None else "o-"
    key = f"{owner}:{stage}:{seq}:{channel}:{recipient}"
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{key[: MAX_KEY - 66]}~{digest}"


def channel_id(kind: str, row_id: int | None) -> str:
    """A channel's part of the key: its kind and directory row (`email#12`)."""
    return f"{kind}#{row_id}" if row_id is not None else kind


def message_key(keys: list[str]) -> str:
    """The key of one message covering `keys` (Idempotency-Key, Message-ID): stable per set."""
    if len(keys) == 1:
        return keys[0]
    joined = "\n".join(sorted(keys)).encode("utf-8")
    return f"group-{len(keys)}-{hashlib.sha256(joined).hexdigest()[:40]}"
