"""Spreadsheet plans (.csv, .xlsx): rows of cells with their row numbers."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl

from intake.document import Row
from intake.errors import IntakeError
from intake.limits import check_rows
from intake.source import decode_text


def read_csv(data: bytes, *, path: Path) -> list[Row]:
    """Rows of a CSV (comma, tab or semicolon separated; UTF-8 or GB18030)."""
    text = decode_text(data, path=path)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows: list[Row] = []
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append(Row(line=reader.line_num, cells=[c.strip() for c in cells]))
                check_rows(path, len(rows))
    except csv.Error as exc:
        raise IntakeError(f"CSV 格式错误（{exc}）", path=path, line=reader.line_num) from exc
    return rows


def read_xlsx(path: Path) -> list[Row]:
    """Rows of the first worksheet; a row's line is its spreadsheet row number."""
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors for broken files
        raise IntakeError(f"无法打开 Excel 文件（{type(exc).__name__}）", path=path) from exc
    try:
        sheet = book.worksheets[0]
        check_rows(path, sheet.max_row or 0, where="工作表")  # the sheet's own dimension
        rows: list[Row] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            check_rows(path, number, where="工作表")  # a sheet without a dimension
            cells = ["" if v is None else str(v).strip() for v in values]
            if any(cells):
                rows.append(Row(line=number, cells=cells))
        return rows
    finally:
        book.close()
