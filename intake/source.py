"""Read a plan file's bytes and decode them, with clear errors for unusable files.

The encoding is detected from the bytes, never guessed from the extension: a BOM (UTF-8,
UTF-16, UTF-32) decides; else strict UTF-8; else UTF-16 without a BOM (every other byte zero);
else charset-normalizer's best guess, where any GB encoding is read as GB18030 (their
superset). Traditional-script text (Big5, or traditional characters in UTF-8) is converted to
simplified with OpenCC, so that unit names and cue words read the same.
"""

from __future__ import annotations

import codecs
import re
from functools import cache
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from intake.errors import IntakeError
from intake.limits import read_limited

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_GB = frozenset({"gb2312", "gbk", "gb18030", "hz", "cp936"})
_CHINESE = frozenset({*_GB, "big5", "big5hkscs", "cp950", "utf_16", "utf_16_le", "utf_16_be"})
# Characters that occur only in traditional script and often in plans (會 門 責 單 區 …).
_TRADITIONAL = re.compile(
    r"[們國會務區實應這與員單門責處時間發經驗關項點檢總劃報動組織設計類將導當體說請]"
)
_BINARY = "不是文本文件（含二进制内容），请提供 .txt/.md/.docx/.xlsx/.csv/.pdf/.html"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")


def read_bytes(path: Path) -> bytes:
    """The file's bytes; a missing, unreadable, special, too large or empty file is an :class:`IntakeError`."""
    data = read_limited(path, what="计划文件")
    if not data.strip():
        raise IntakeError("文件为空", path=path)
    return data


def decode_text(data: bytes, *, path: Path | str) -> str:
    """Decode a text plan in whatever encoding it was saved; binary content is an error."""
    text = _decode(data, path=path)
    if not text.strip():
        raise IntakeError("文件为空", path=path)
    if "\x00" in text:
        raise IntakeError(_BINARY, path=path)
    return to_simplified(text)


def _decode(data: bytes, *, path: Path | str) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace").lstrip("\ufeff")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    if b"\x00" in data[:4096]:
        raise IntakeError(_BINARY, path=path)
    return _detected(data, path=path)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 saved without a BOM: the zero bytes of ASCII characters (digits, newlines) fall
    on one side (a CJK character has a zero byte only now and then), and the result is text (no control characters but line breaks and tabs)."""
    head = data[:4096]
    if len(head) < 4 or len(data) % 2:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if max(even, odd) < 2 or min(even, odd) * 5 > max(even, odd):
        return None
    try:
        text = data.decode("utf-16-le" if odd > even else "utf-16-be")
    except UnicodeDecodeError:
        return None
    return None if _CONTROL.search(text) else text


def _detected(data: bytes, *, path: Path | str) -> str:
    best = from_bytes(data[:65536]).best()
    encoding = best.encoding.lower() if best is not None else ""
    if encoding in _CHINESE and encoding not in _GB:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("gb18030")  # GB2312, GBK and GB18030 alike
    except UnicodeDecodeError as exc:
        raise IntakeError(
            "无法识别文件编码（支持 UTF-8、UTF-16、GBK/GB18030、Big5），请另存为 UTF-8 后再导入",
            path=path,
        ) from exc


def to_simplified(text: str) -> str:
    """Traditional-script text converted to simplified; simplified text unchanged."""
    cjk = len(_CJK.findall(text[:20000]))
    if not cjk or len(_TRADITIONAL.findall(text[:20000])) * 100 < cjk:
        return text
    converted: str = _converter().convert(text)
    return converted


@cache
def _converter() -> Any:
    from opencc import OpenCC  # loads its dictionaries: only for traditional documents

    return OpenCC("t2s")
