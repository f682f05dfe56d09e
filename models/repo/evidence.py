"""佐证 files: streamed to disk under a size cap, checked by content, kept outside any web root.

A file is written to a staging name in the evidence folder as it arrives (hashing on the way),
refused the moment it passes the cap, checked by its first bytes (the name's suffix must agree
with the content; macro-enabled Office files and anything executable are refused), and only then
moved to ``<evidence>/<unit id>/<sha256>.<suffix>``. The name the unit gave is kept, cleaned, in
the database; the stored path never comes from it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func
from sqlmodel import Session, select

from models.people import EvidenceFile

# suffix → the content it must have ("zip" = an OOXML/OFD package, "ole" = legacy Office).
ALLOWED = {
    "pdf": "pdf",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "png": "png",
    "docx": "zip",
    "xlsx": "zip",
    "pptx": "zip",
    "ofd": "zip",
    "doc": "ole",
    "xls": "ole",
    "txt": "text",
}
_MAGIC = {
    "pdf": (b"%PDF-",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "zip": (b"PK\x03\x04",),
    "ole": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
}
ALLOWED_TEXT = "PDF、JPG、PNG、DOCX、XLSX、PPTX、OFD、DOC、XLS、TXT"
MAX_FILES = 10
_CHUNK = 64 * 1024


class EvidenceError(ValueError):
    """A file refused: `status` is the HTTP status the pages answer with (413 size, 415 type)."""

    def __init__(self, message: str, status: int = 415) -> None:
        super().__init__(message)
        self.status = status


def clean_name(name: str) -> str:
    """The file name as shown: no folders, no control or path characters, at most 120 characters."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").split("/")[-1]
    name = re.sub(r"[\x00-\x1f\x7f<>:\"|?*]", "", name).strip().lstrip(".")
    if len(name) > 120:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: 110 - len(suffix)] + dot + suffix) if dot else name[:120]
    return name or "未命名"


def suffix_of(name: str) -> str:
    """The lower-case suffix the type check goes by ("" when there is none)."""
    return name.rpartition(".")[2].lower() if "." in name else ""


@dataclass
class Staged:
    """A file being received: its staging path, size and hash so far."""

    name: str
    path: Path
    limit: int
    size: int = 0
    head: bytes = b""
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    _out: BinaryIO | None = None

    def _open(self) -> BinaryIO:
        # Owner-only from the first byte (not only once kept): evidence is the unit's business.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        return os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        """Append a chunk; `EvidenceError(413)` once the file passes its cap (file removed)."""
        if self._out is None:
            self._out = self._open()
        self.size += len(chunk)
        if self.size > self.limit:
            self.discard()
            raise EvidenceError(
                f"文件“{self.name}”超过 {self.limit // (1024 * 1024)} MB 的大小限制，未保存。", 413
            )
        if len(self.head) < 4096:
            self.head += chunk[: 4096 - len(self.head)]
        self.digest.update(chunk)
        self._out.write(chunk)

    def close(self) -> None:
        """Finish writing (the file stays staged)."""
        if self._out is None:
            self._out = self._open()
        self._out.close()

    def discard(self) -> None:
        """Remove the staged file."""
        if self._out is not None and not self._out.closed:
            self._out.close()
        self.path.unlink(missing_ok=True)


class EvidenceStore:
    """The evidence folder and its limits (one per installation)."""

    def __init__(self, root: Path, *, max_bytes: int, quota_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.quota_bytes = quota_bytes

    def stage(self, name: str) -> Staged:
        """Start receiving a file called `name`; refuses a disallowed suffix before any byte."""
        shown = clean_name(name)
        if suffix_of(shown) not in ALLOWED:
            raise EvidenceError(f"文件“{shown}”的类型不允许上传。允许的类型：{ALLOWED_TEXT}。", 415)
        staging = self.root / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        return Staged(shown, staging / secrets.token_hex(16), self.max_bytes)

    def stage_path(self, src: Path) -> Staged:
        """Stage a file from disk (the CLI's `--file`), streamed under the same cap.

        Only a regular file is taken, never through a symlink (a link to /dev/zero or a FIFO
        named .txt would hang or fill the disk), and one larger than the cap is refused before
        a byte is copied.
        """
        with os.fdopen(_open_regular(src), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > self.max_bytes:
                raise EvidenceError(
                    f"文件“{clean_name(src.name)}”有 {size / (1024 * 1024):.0f} MB，"
                    f"超过 {self.max_bytes // (1024 * 1024)} MB 的大小限制，未保存。",
                    413,
                )
            staged = self.stage(src.name)
            try:
                while chunk := f.read(_CHUNK):
                    staged.write(chunk)
                staged.close()
            except BaseException:
                staged.discard()
                raise
        return staged

    def check(self, staged: Staged) -> str:
        """The file's kind, after checking its content agrees with its name; refuses otherwise."""
        kind = ALLOWED[suffix_of(staged.name)]
        if staged.size == 0:
            raise EvidenceError(f"文件“{staged.name}”是空文件。", 415)
        ok = _content_ok(kind, staged)
        if not ok:
            raise EvidenceError(
                f"文件“{staged.name}”的内容与其类型不符（或含有宏等可执行内容），未保存。", 415
            )
        return suffix_of(staged.name)

    def check_quota(self, session: Session, unit_id: int, incoming: int) -> None:
        """Refuse when the unit's files would pass its quota."""
        used = session.exec(
            select(func.coalesce(func.sum(EvidenceFile.size), 0)).where(
                EvidenceFile.unit_id == unit_id
            )
        ).one()
        if int(used) + incoming > self.quota_bytes:
            raise EvidenceError(
                f"本单位的佐证材料已达存储上限（{self.quota_bytes // (1024 * 1024)} MB），"
                "请联系安委办。",
                413,
            )

    def keep(self, staged: Staged, unit_id: int) -> Path:
        """Move a checked file to its place under the unit's folder; returns the stored path."""
        folder = self.root / str(unit_id)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{staged.digest.hexdigest()}.{suffix_of(staged.name)}"
        os.chmod(staged.path, 0o600)  # evidence is the unit's business: owner-only
        os.replace(staged.path, target)
        return target


def _open_regular(file: Path) -> int:
    """Open without following a symlink or blocking on a FIFO; only a regular file is accepted."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW on a symlink
            raise EvidenceError(f"佐证材料 {file}: 是符号链接，请给出文件本身") from None
        raise EvidenceError(f"佐证材料 {file}: 无法读取（{exc.strerror or exc}）") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise EvidenceError(f"佐证材料 {file}: 只接受普通文件（不接受目录、管道或设备文件）")
    return fd


def _content_ok(kind: str, staged: Staged) -> bool:
    head = staged.head
    if kind == "text":
        return b"\x00" not in head and (_decodes(head, "utf-8") or _decodes(head, "gb18030"))
    if not head.startswith(_MAGIC[kind]):
        return False
    if kind == "zip":
        try:
            with zipfile.ZipFile(staged.path) as z:
                names = [n.lower() for n in z.namelist()]
        except zipfile.BadZipFile:
            return False
        return not any(n.endswith(("vbaproject.bin", ".exe", ".dll", ".js", ".vbs")) for n in names)
    if kind == "ole":
        return not _contains(staged.path, _OLE_VBA)
    return True


_OLE_VBA = "_VBA_PROJECT".encode("utf-16-le")  # the directory entry of a legacy file's macros


def _contains(path: Path, needle: bytes) -> bool:
    tail = b""
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            if needle in tail + chunk:
                return True
            tail = chunk[-len(needle) :]
    return False


def _decodes(head: bytes, encoding: str) -> bool:
    # A 4 KB head may cut a multi-byte character at its end.
    for cut in range(4):
        try:
            head[: len(head) - cut].decode(encoding)
            return True
        except UnicodeDecodeError:
            continue
    return False
