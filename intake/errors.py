"""The importer's one error type: it names the file, and the line where there is one."""

from __future__ import annotations

from pathlib import Path


class IntakeError(Exception):
    """A plan document that cannot be imported; ``str()`` names the file and line, in Chinese."""

    def __init__(self, message: str, *, path: Path | str, line: int | None = None) -> None:
        self.message = message
        self.path = str(path)
        self.line = line
        where = f"{self.path} 第 {line} 行" if line is not None else self.path
        super().__init__(f"{where}：{message}")


class LineError(Exception):
    """Raised inside the readers, which do not know the path; turned into :class:`IntakeError`."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
