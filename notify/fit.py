"""Fitting robot messages into the services' size limits: cut, never rejected.

A unit with hundreds of items due gets one grouped message; a chat robot would refuse it whole
(WeCom: 4096 bytes of markdown; DingTalk: a 20000-byte body; Feishu: a 20 KB request body).
The text is cut at a UTF-8 character boundary, keeping as many whole lines as fit, and a note
says the rest was left out, so the unit still hears about its first items and where to look.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from notify.http import encode_json

CUT_NOTE = "\n\n……（内容过长，以下已省略；完整清单请见邮件或向安委办查询）"


def utf8_size(text: str) -> int:
    """Bytes of `text` in UTF-8."""
    return len(text.encode("utf-8"))


def fit_text(
    text: str, limit: int, *, size: Callable[[str], int] = utf8_size, note: str = CUT_NOTE
) -> str:
    """`text` if `size(text)` ≤ `limit`, else its longest run of whole lines that fits with `note`.

    `size` measures what the service limits: the text's UTF-8 bytes, or the JSON body carrying
    it, escapes included (a newline is two bytes there). It must grow at least as fast as the
    text's UTF-8 bytes. When no line ends in the second half of what could fit, the text is cut
    between characters instead, so one very long line is not dropped whole.
    """
    if size(text) <= limit:
        return text

    def fits(end: int) -> bool:
        return size(text[:end] + note) <= limit

    room = max(0, limit - size(note))  # at most this many bytes of text can be kept
    head = text.encode("utf-8")[:room].decode("utf-8", "ignore")  # drops a half character
    line_ends = [i for i, char in enumerate(head) if char == "\n"]
    if text[len(head) : len(head) + 1] == "\n":
        line_ends.append(len(head))  # the cut falls exactly at a line's end
    end = _last(line_ends, fits)
    if end is None or end <= len(head) // 2:
        end = _last(range(len(head) + 1), fits)
    return note if end is None else text[:end] + note


def _last(ends: Sequence[int], fits: Callable[[int], bool]) -> int | None:
    """The largest of the ascending `ends` that `fits` (binary search: fitting is monotone)."""
    lo, hi = 0, len(ends)
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(ends[mid]):
            lo = mid + 1
        else:
            hi = mid
    return ends[lo - 1] if lo else None


def fit_json(make: Callable[[str], dict[str, Any]], text: str, limit: int) -> dict[str, Any]:
    """`make(text)`, with `text` cut (see `fit_text`) so the encoded body is ≤ `limit` bytes."""
    body = make(text)
    if len(encode_json(body)) <= limit:
        return body
    return make(fit_text(text, limit, size=lambda t: len(encode_json(make(t)))))
