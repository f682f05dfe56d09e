"""The review workbook's 计划 sheet: the plan's metadata as 项目 / 内容 rows."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from intake.errors import IntakeError
from intake.model import PlanMeta

META_SHEET = "计划"
META_ROWS = ("标题", "发文单位", "文号", "发文日期", "年度", "截止年度")
PLAN_ID_ROW = "计划编号"


class ReviewError(IntakeError):
    """A review sheet that cannot be read; ``str()`` names the file, sheet, row and column."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str,
        sheet: str,
        row: int | None = None,
        column: str = "",
    ) -> None:
        super().__init__(message, path=path, line=row)
        self.sheet = sheet
        where = f"{path} 工作表“{sheet}”"
        if row is not None:
            where += f" 第 {row} 行"
        if column:
            where += f" “{column}”列"
        self.args = (f"{where}：{message}",)

    def __str__(self) -> str:
        return str(self.args[0])


def write_meta(ws: Worksheet, meta: PlanMeta, *, plan_id: int | None) -> None:
    """Fill the 计划 sheet (and the plan id the workbook belongs to, when there is one)."""
    values: list[Any] = [
        meta.title,
        meta.issuer,
        meta.doc_no,
        meta.issued_on.isoformat() if meta.issued_on else "",
        meta.year,
        meta.until_year,
    ]
    ws.append(["项目", "内容"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for name, value in zip(META_ROWS, values, strict=True):
        ws.append([name, value])
    if plan_id is not None:
        ws.append([PLAN_ID_ROW, plan_id])
    for row in ws.iter_rows(min_row=2, max_col=2):
        if isinstance(row[1].value, str):
            row[1].data_type = "s"  # a title starting with "=" stays text
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 60


def read_meta(ws: Worksheet, *, path: Path | str) -> PlanMeta:
    """Read the 计划 sheet back; 年度 is required, dates and years must read as such."""
    rows = _rows(ws)
    year = _year(rows, "年度", path=path)
    if year is None:
        raise _error("年度为空（计划年度是必填项）", path, rows.get("年度", (None, ""))[0])
    return PlanMeta(
        title=_text(rows, "标题"),
        issuer=_text(rows, "发文单位"),
        doc_no=_text(rows, "文号"),
        issued_on=_date(rows, "发文日期", path=path),
        year=year,
        until_year=_year(rows, "截止年度", path=path),
    )


def read_plan_id(ws: Worksheet, *, path: Path | str) -> int | None:
    """The 计划编号 row's value, if the sheet has one."""
    return _year(_rows(ws), PLAN_ID_ROW, path=path)


def _rows(ws: Worksheet) -> dict[str, tuple[int, Any]]:
    out: dict[str, tuple[int, Any]] = {}
    for row_no, values in enumerate(ws.iter_rows(max_col=2, values_only=True), start=1):
        key = str(values[0]).strip() if values and values[0] is not None else ""
        if key:
            out[key] = (row_no, values[1] if len(values) > 1 else None)
    return out


def _error(message: str, path: Path | str, row: int | None) -> ReviewError:
    return ReviewError(message, path=path, sheet=META_SHEET, row=row, column="内容")


def _text(rows: dict[str, tuple[int, Any]], key: str) -> str:
    value = rows.get(key, (0, None))[1]
    return "" if value is None else str(value).strip()


def _year(rows: dict[str, tuple[int, Any]], key: str, *, path: Path | str) -> int | None:
    row, value = rows.get(key, (None, None))
    if value is None or str(value).strip() == "":
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        number = -1.0
    if not number.is_integer() or number < 1:
        raise _error(f"{key}“{value}”不是整数", path, row)
    return int(number)


def _date(rows: dict[str, tuple[int, Any]], key: str, *, path: Path | str) -> date | None:
    row, value = rows.get(key, (None, None))
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value is None or str(value).strip() == "":
        return None
    try:
        return date.fromisoformat(str(value).strip().replace("/", "-"))
    except ValueError as exc:
        raise _error(f"{key}“{value}”不是日期（应写作 2024-04-15）", path, row) from exc
