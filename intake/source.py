"""Read a plan file's bytes and decode them, with clear errors for unusable files."""

from __future__ import annotations

from pathlib import Path

from intake.errors import IntakeError

_ENCODINGS = ("utf-8-sig", "gb18030")


def read_bytes(path: Path) -> bytes:
    """The file's bytes; a missing, unreadable or empty file is an :class:`IntakeError`."""
    if not path.exists():
        raise IntakeError("文件不存在", path=path)
    if path.is_dir():
        raise IntakeError("这是一个目录，不是计划文件", path=path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IntakeError(f"无法读取文件（{exc.strerror or exc}）", path=path) from exc
    if not data.strip():
        raise IntakeError("文件为空", path=path)
    return data


def decode_text(data: bytes, *, path: Path | str) -> str:
    """Decode a text plan (UTF-8, else GB18030); binary content is an :class:`IntakeError`."""
    if b"\x00" in data[:4096]:
        raise IntakeError(
            "不是文本文件（含二进制内容），请提供 .txt/.md/.docx/.xlsx/.csv", path=path
        )
    for encoding in _ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not text.strip():
            raise IntakeError("文件为空", path=path)
        return text
    raise IntakeError("无法识别文件编码（支持 UTF-8 和 GB18030）", path=path)
