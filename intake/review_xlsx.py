"""The review spreadsheet: export a plan for the office to check and edit, read the edited sheet back.

Sheet 任务 has one row per task: 序号 / 章节 / 任务 / 时间节点 / 责任单位 / 配合单位 / 区领导 /
里程碑 / 任务内容 (found by header name, so columns may be reordered). Sheet 计划 holds the
plan's metadata. A hidden sheet keeps what was exported, so the reader can tell which cells
were edited: an edited 里程碑 cell wins; else an edited 时间节点 is re-read as a time phrase;
else the milestones stay exactly as exported.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from intake.errors import IntakeError
from intake.limits import check_file, check_formulas, check_package, check_rows
from intake.meta import plan_context
from intake.model import ParsedMilestone, ParsedPlan, ParsedTask, PlanMeta
from intake.review_format import (
    CellError,
    cell_text,
    format_milestones,
    format_time_text,
    join_units,
    parse_milestone_line,
    parse_time_cell,
    split_units,
)
from intake.review_meta import META_SHEET, ReviewError, read_meta, read_plan_id, write_meta

TASK_SHEET = "任务"
ORIGINAL_SHEET = "_原始"
COLUMNS = (
    "序号",
    "章节",
    "任务",
    "时间节点",
    "责任单位",
    "配合单位",
    "区领导",
    "里程碑",
    "任务内容",
)
_WIDTHS = (10, 24, 36, 20, 30, 24, 12, 56, 60)
_HEADER_SEARCH_ROWS = 10

__all__ = ["COLUMNS", "ReviewError", "export_review", "read_review", "read_review_plan_id"]


def export_review(parsed: ParsedPlan, path: Path | str, *, plan_id: int | None = None) -> None:
    """Write the review workbook for `parsed` to `path` (tasks, plan metadata, hidden originals)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = TASK_SHEET
    _write_row(ws, 1, list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row, task in enumerate(parsed.tasks, start=2):
        _write_row(ws, row, _task_cells(task))
    for index, width in enumerate(_WIDTHS):
        ws.column_dimensions[chr(ord("A") + index)].width = width
    ws.freeze_panes = "B2"
    write_meta(wb.create_sheet(META_SHEET), parsed.meta, plan_id=plan_id)
    original = wb.create_sheet(ORIGINAL_SHEET)
    original.sheet_state = "hidden"
    for row, task in enumerate(parsed.tasks, start=1):
        _write_row(original, row, [task.ref, json.dumps(_original(task), ensure_ascii=False)])
    wb.save(str(path))


def _task_cells(task: ParsedTask) -> list[str]:
    return [
        task.ref,
        "\n".join(task.section),
        task.title,
        format_time_text(task.milestones),
        join_units(task.lead_units),
        join_units(task.support_units),
        join_units(task.leaders),
        format_milestones(task.milestones),
        task.text,
    ]


def _original(task: ParsedTask) -> dict[str, Any]:
    return {
        "time": format_time_text(task.milestones),
        "milestones_text": format_milestones(task.milestones),
        "milestones": [m.to_dict() for m in task.milestones],
        "line": task.line,
    }


def _write_row(ws: Worksheet, row: int, values: list[str]) -> None:
    for column, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=column, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # never a formula, even when the text starts with "="
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def read_review(path: Path | str) -> ParsedPlan:
    """Read an (edited) review workbook back into a :class:`ParsedPlan`.

    Raises :class:`ReviewError` naming the sheet, row and column of the first cell it cannot
    understand; nothing is returned half-read.
    """
    wb = _open(path)
    meta = read_meta(_sheet(wb, META_SHEET, path), path=path)
    ws = _sheet(wb, TASK_SHEET, path)
    originals = _read_originals(wb)
    header_row, columns = _find_header(ws, path)
    tasks: list[ParsedTask] = []
    seen: dict[str, int] = {}
    for row_no, values in enumerate(
        ws.iter_rows(min_row=header_row + 1, values_only=True), header_row + 1
    ):
        cells = {
            name: cell_text(values[i] if i < len(values) else None) for name, i in columns.items()
        }
        if not any(cells.values()):
            continue
        task = _read_task(cells, meta, originals, path=path, row=row_no)
        if task.ref in seen:
            raise ReviewError(
                f"序号 {task.ref} 与第 {seen[task.ref]} 行重复",
                path=path,
                sheet=TASK_SHEET,
                row=row_no,
                column="序号",
            )
        seen[task.ref] = row_no
        tasks.append(task)
    if not tasks:
        raise ReviewError("没有任何任务行", path=path, sheet=TASK_SHEET)
    return ParsedPlan(meta=meta, tasks=tasks, source=str(path))


def read_review_plan_id(path: Path | str) -> int | None:
    """The plan id the workbook was exported from (None when the sheet does not say)."""
    wb = _open(path, whole=False)  # `plan apply` has just read and checked the whole sheet
    try:
        return read_plan_id(_sheet(wb, META_SHEET, path), path=path)
    finally:
        wb.close()


def _open(path: Path | str, *, whole: bool = True) -> Any:
    """The workbook after the input limits; `whole=False`: read-only, for the 计划 sheet alone."""
    p = Path(path)
    check_file(p, what="审核表")
    check_package(p)
    try:
        if not whole:
            return openpyxl.load_workbook(p, read_only=True, data_only=True)
        wb = openpyxl.load_workbook(p, read_only=True)
        rows = wb[TASK_SHEET].max_row if TASK_SHEET in wb.sheetnames else 0
        wb.close()
        check_rows(p, rows or 0, where=f"工作表“{TASK_SHEET}”")  # before the full (slow) load
        check_formulas(p, [META_SHEET, TASK_SHEET])
        return openpyxl.load_workbook(p, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise IntakeError(f"不是可读取的 .xlsx 审核表（{type(exc).__name__}）", path=p) from exc


def _sheet(wb: Any, name: str, path: Path | str) -> Worksheet:
    if name not in wb.sheetnames:
        raise ReviewError(
            f"缺少工作表“{name}”（请使用 duban plan export 导出的审核表）", path=path, sheet=name
        )
    ws: Worksheet = wb[name]
    return ws


def _find_header(ws: Worksheet, path: Path | str) -> tuple[int, dict[str, int]]:
    rows = ws.iter_rows(max_row=_HEADER_SEARCH_ROWS, values_only=True)
    for row_no, values in enumerate(rows, start=1):
        names = [cell_text(v) for v in values]
        if "序号" in names and "任务" in names:
            missing = [c for c in COLUMNS if c not in names]
            if missing:
                raise ReviewError(
                    f"缺少列：{'、'.join(missing)}", path=path, sheet=TASK_SHEET, row=row_no
                )
            return row_no, {c: names.index(c) for c in COLUMNS}
    raise ReviewError(
        f"前 {_HEADER_SEARCH_ROWS} 行中找不到表头（需要列：{'、'.join(COLUMNS)}）",
        path=path,
        sheet=TASK_SHEET,
    )


@dataclass
class _Original:
    time: str
    milestones_text: str
    milestones: list[ParsedMilestone]
    line: int


def _read_originals(wb: Any) -> dict[str, _Original]:
    """What was exported, by ref; a workbook without the hidden sheet has none."""
    if ORIGINAL_SHEET not in wb.sheetnames:
        return {}
    out = {}
    for ref, blob in wb[ORIGINAL_SHEET].iter_rows(max_col=2, values_only=True):
        try:
            data = json.loads(str(blob))
            out[cell_text(ref)] = _Original(
                time=data["time"],
                milestones_text=data["milestones_text"],
                milestones=[_milestone_from_dict(m) for m in data["milestones"]],
                line=int(data["line"]),
            )
        except (ValueError, KeyError, TypeError):
            continue  # a damaged record only means the row counts as edited
    return out


def _milestone_from_dict(d: dict[str, Any]) -> ParsedMilestone:
    def day(key: str) -> date | None:
        return date.fromisoformat(d[key]) if d.get(key) else None

    return ParsedMilestone(
        label=d["label"],
        source_text=d["source_text"],
        due=day("due"),
        rrule=d.get("rrule"),
        dtstart=day("dtstart"),
        until=day("until"),
        due_is_default=bool(d.get("due_is_default")),
        lead_units=list(d.get("lead_units", [])),
        support_units=list(d.get("support_units", [])),
    )


def _read_task(
    cells: dict[str, str],
    meta: PlanMeta,
    originals: dict[str, _Original],
    *,
    path: Path | str,
    row: int,
) -> ParsedTask:
    ref = cells["序号"]
    if not ref:
        raise ReviewError(
            "序号为空（每个任务都要有序号）", path=path, sheet=TASK_SHEET, row=row, column="序号"
        )
    if not cells["任务"]:
        raise ReviewError("任务为空", path=path, sheet=TASK_SHEET, row=row, column="任务")
    original = originals.get(ref)
    task = ParsedTask(
        ref=ref,
        title=cells["任务"],
        text=cells["任务内容"],
        line=original.line if original else 0,
        section=[s.strip() for s in cells["章节"].splitlines() if s.strip()],
        lead_units=split_units(cells["责任单位"]),
        support_units=split_units(cells["配合单位"]),
        leaders=split_units(cells["区领导"]),
    )
    task.milestones = _read_milestones(cells, task.title, meta, original, path=path, row=row)
    return task


def _read_milestones(
    cells: dict[str, str],
    title: str,
    meta: PlanMeta,
    original: _Original | None,
    *,
    path: Path | str,
    row: int,
) -> list[ParsedMilestone]:
    """The editing rules: an edited 里程碑 wins; else an edited 时间节点 is re-read; else unchanged."""
    labels = [m.label for m in original.milestones] if original else []
    stones, time = cells["里程碑"], cells["时间节点"]
    ctx = plan_context(meta)
    column = "里程碑"
    try:
        if stones and (original is None or stones != original.milestones_text):
            found = [
                m
                for line in stones.splitlines()
                if line.strip()
                for m in parse_milestone_line(line, ctx=ctx, label=title)
            ]
        elif original is not None and stones and time == original.time:
            return original.milestones
        else:
            column = "时间节点"
            found = parse_time_cell(time, ctx=ctx, label=title)
    except CellError as exc:
        raise ReviewError(str(exc), path=path, sheet=TASK_SHEET, row=row, column=column) from exc
    for index, m in enumerate(found):
        m.label = labels[index] if index < len(labels) else title
    return found
