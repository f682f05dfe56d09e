"""A unit's evidence file (佐证材料): streamed into the evidence folder, hashed on the way, 0600.

Only regular files are taken (a symlink, a FIFO or /dev/zero would hang or fill the disk); the file
is copied in 1 MiB chunks, never read whole into memory, and lands under a name that fits the file
system's 255-byte limit. The copy is made before the database transaction and kept only when the
transaction commits (`keep`), else removed (`discard`): a refused submission leaves no file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from duban.cli_common import InputError

CHUNK = 1 << 20
MAX_NAME_BYTES = 120  # of the original name kept in the stored name (the limit is 255)


@dataclass(frozen=True)
class Evidence:
    """A received file: its original name, SHA-256, where it will be kept, and the staged copy."""

    name: str
    sha256: str
    path: Path
    staged: Path

    def keep(self) -> None:
        """The submission is committed: move the staged copy to its place."""
        os.replace(self.staged, self.path)

    def discard(self) -> None:
        """The submission was refused: remove the staged copy."""
        self.staged.unlink(missing_ok=True)


def _short_name(name: str) -> str:
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    stem, suffix = os.path.splitext(name)
    budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    cut = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
    return cut + suffix


def _open_regular(file: Path) -> int:
    """Open without following a symlink or blocking on a FIFO; only a regular file is accepted."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW on a symlink
            raise InputError(f"佐证材料 {file}: 是符号链接，请给出文件本身") from None
        raise InputError(f"佐证材料 {file}: 无法读取（{exc.strerror or exc}）") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(f"佐证材料 {file}: 只接受普通文件（不接受目录、管道或设备文件）")
    return fd


def receive_evidence(file: Path, folder: Path) -> Evidence:
    """Stream `file` into `folder` (staged); refuse anything that is not a regular file."""
    source = _open_regular(file)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, staged = tempfile.mkstemp(dir=folder, prefix=".incoming-")  # created 0600
    try:
        with os.fdopen(fd, "wb") as out, os.fdopen(source, "rb") as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
    sha = digest.hexdigest()
    return Evidence(file.name, sha, folder / f"{sha[:16]}_{_short_name(file.name)}", Path(staged))
