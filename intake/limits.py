"""How much an input file may hold, checked before the work starts and named in the error.

A plan, a unit directory or a review sheet comes from a clerk's desk, an e-mail attachment or a
download: it may be huge by mistake or hostile on purpose (a 7 MB .docx that inflates to 2 GB of
XML, a YAML file of nested aliases, a 200,000-row sheet). Every reader checks these limits first,
so a bad file is refused in seconds with one Chinese error naming the file and the limit, and
memory stays bounded. The defaults are far above any real plan (the largest seen: 1.2 MB, 300 rows,
120 tasks); each is a setting (DUBAN_MAX_…, see README "Configuration").
"""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from intake.errors import IntakeError

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The input limits (settings `max_*`)."""

    text_mb: float = 10.0  # .txt/.md/.csv/.html plans, YAML/CSV directories
    office_mb: float = 50.0  # .docx/.xlsx/.pdf files, as stored (compressed)
    unzipped_mb: float = 300.0  # all parts of one .docx/.xlsx together, uncompressed
    zip_entries: int = 5000  # parts of one .docx/.xlsx
    zip_ratio: int = 200  # uncompressed ÷ compressed size of one part (a bomb is 1000:1)
    rows: int = 20000  # rows of one sheet or table (plans, directories, review sheets)
    tasks: int = 5000  # tasks of one plan
    yaml_nodes: int = 200_000  # values in one YAML file, aliases counted as what they repeat


_current = Limits()


def configure(limits: Limits) -> None:
    """Use these limits from now on (the settings call it once per process)."""
    global _current
    _current = limits


def current() -> Limits:
    """The limits in force."""
    return _current


_OFFICE = (".docx", ".xlsx", ".xlsm", ".pdf")


def max_bytes(path: Path | str) -> int:
    """The size cap for a file of this kind."""
    limits = current()
    office = str(path).lower().endswith(_OFFICE)
    return int((limits.office_mb if office else limits.text_mb) * MB)


def read_limited(path: Path, *, what: str = "文件") -> bytes:
    """A regular file's bytes, refused before reading when it is not a file or is too large.

    A symlink is followed (a clerk's shortcut is fine) but what it points to must be a regular
    file: a FIFO named .txt would block forever and /dev/zero would fill memory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise IntakeError(f"{what}不存在", path=path) from None
    except IsADirectoryError:
        raise IntakeError(f"这是一个目录，不是{what}", path=path) from None
    except OSError as exc:
        raise IntakeError(f"无法读取{what}（{exc.strerror or exc}）", path=path) from None
    with os.fdopen(fd, "rb") as f:
        _check_kind(path, os.fstat(f.fileno()), what)
        cap = max_bytes(path)
        data = f.read(cap + 1)  # a file that grew after fstat is still cut off
    if len(data) > cap:
        check_size(path, len(data))
    return data


def check_size(path: Path | str, size: int) -> None:
    """Refuse a file larger than its kind's cap."""
    cap = max_bytes(path)
    if size > cap:
        raise IntakeError(
            f"文件过大（{size / MB:.1f} MB，此类文件上限 {cap / MB:.0f} MB；"
            "确需导入请调大 DUBAN_MAX_TEXT_MB / DUBAN_MAX_OFFICE_MB）",
            path=path,
        )


def check_package(path: Path | str) -> None:
    """Refuse a .docx/.xlsx whose parts would inflate past the limits (a zip bomb)."""
    limits = current()
    try:
        with zipfile.ZipFile(path) as z:
            entries = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        kind = "Word" if str(path).lower().endswith(".docx") else "Excel"
        raise IntakeError(f"无法打开 {kind} 文件（{type(exc).__name__}）", path=path) from exc
    if len(entries) > limits.zip_entries:
        raise IntakeError(
            f"文件包含 {len(entries)} 个部件，超过上限 {limits.zip_entries}（疑似压缩炸弹），未导入",
            path=path,
        )
    total = sum(e.file_size for e in entries)
    if total > limits.unzipped_mb * MB:
        raise IntakeError(
            f"文件解压后有 {total / MB:.0f} MB，超过上限 {limits.unzipped_mb:.0f} MB"
            "（疑似压缩炸弹；确需导入请调大 DUBAN_MAX_UNZIPPED_MB），未导入",
            path=path,
        )
    for e in entries:
        if e.file_size > 1 * MB and e.file_size > limits.zip_ratio * max(e.compress_size, 1):
            raise IntakeError(
                f"文件部件 {e.filename} 的压缩比 {e.file_size // max(e.compress_size, 1)}:1 "
                f"超过上限 {limits.zip_ratio}:1（疑似压缩炸弹），未导入",
                path=path,
            )


def check_rows(path: Path | str, count: int, *, where: str = "表格") -> None:
    """Refuse a sheet or table with more rows than the limit (checked as rows are read)."""
    limit = current().rows
    if count > limit:
        raise IntakeError(
            f"{where}超过 {limit} 行，未导入（确需导入请调大 DUBAN_MAX_ROWS）",
            path=path,
            line=count,
        )


def check_tasks(path: Path | str, count: int) -> None:
    """Refuse a plan with more tasks than the limit."""
    limit = current().tasks
    if count > limit:
        raise IntakeError(
            f"识别出 {count} 项任务，超过一份计划的上限 {limit}（是否导入了错误的文件？"
            "确需导入请调大 DUBAN_MAX_TASKS）",
            path=path,
        )


def uncached_formula(path: Path | str, sheets: list[str] | None = None) -> tuple[str, str] | None:
    """The first formula cell with no saved value (sheet, cell), or None.

    A workbook written by a program (not saved by Excel or WPS) keeps formulas without results:
    read for values, such a cell is empty, so a unit or a deadline would vanish without a word.
    """
    import openpyxl  # heavy: only when a workbook is read

    values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        for name in formulas.sheetnames:
            if sheets is not None and name not in sheets:
                continue
            rows = zip(formulas[name].iter_rows(), values[name].iter_rows(), strict=False)
            for formula_row, value_row in rows:
                for f, v in zip(formula_row, value_row, strict=False):
                    if getattr(f, "data_type", None) == "f" and getattr(v, "value", None) is None:
                        return name, f.coordinate
        return None
    finally:
        values.close()
        formulas.close()


def check_formulas(path: Path | str, sheets: list[str] | None = None) -> None:
    """Refuse a workbook with a formula whose value was never saved, naming the cell."""
    found = uncached_formula(path, sheets)
    if found is not None:
        sheet, cell = found
        raise IntakeError(
            f"工作表“{sheet}”的单元格 {cell} 是公式但没有保存计算结果，读出来会是空的："
            "请在 Excel 或 WPS 中打开并保存一次（或把公式改为数值）后再导入",
            path=path,
        )


def check_file(path: Path, *, what: str = "文件") -> None:
    """Refuse a path that is missing, not a regular file, or too large, without opening it."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise IntakeError(f"{what}不存在", path=path) from None
    except OSError as exc:
        raise IntakeError(f"无法读取{what}（{exc.strerror or exc}）", path=path) from None
    _check_kind(path, info, what)


def _check_kind(path: Path, info: os.stat_result, what: str) -> None:
    """A regular file within its kind's size cap, else the error that says which it is not."""
    if stat.S_ISDIR(info.st_mode):
        raise IntakeError(f"这是一个目录，不是{what}", path=path)
    if not stat.S_ISREG(info.st_mode):
        raise IntakeError(f"不是普通文件（管道、设备或套接字），无法作为{what}读取", path=path)
    check_size(path, info.st_size)
