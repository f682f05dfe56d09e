"""The 任务清单 with 完成情况, in the shape the office already keeps (one row per task), as XLSX.

Columns: the plan's own 序号/任务/时间节点/责任单位/配合单位, then 完成情况 (counts as of the instant,
from `models/repo/reports.task_counts`, the same classification as the 通报), 进展 (the latest
progress note), 佐证链接 (the console page of an obligation with files) and 状态 (红/黄/绿 fill).
Frozen header, repeated on every printed page, landscape A4 fitted to the width.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from models.repo.plan_rows import load_task_rows
from models.repo.reports import task_counts, task_notes
from models.repo.subplans import rollup
from schedules.clock import OFFICE_TZ
from schedules.report import COLOUR_LABEL, UnitCounts, percent

HEADERS = (
    "序号",
    "任务",
    "时间节点",
    "责任单位",
    "配合单位",
    "完成情况",
    "进展",
    "佐证链接",
    "状态",
)
WIDTHS = (7, 40, 26, 22, 22, 34, 34, 30, 7)
FILLS = {"red": "F4B6B6", "yellow": "FCE8A6", "green": "C6E7C1"}
SHEET = "任务清单"
SUMMARY_SHEET = "说明"


@dataclass(frozen=True)
class LedgerRow:
    """One task's row."""

    task_id: int
    ref: str
    title: str
    times: str
    lead: str
    support: str
    counts: UnitCounts | None
    progress: str
    link: str
    colour: str

    @property
    def completion(self) -> str:
        """完成情况 as the office writes it."""
        c = self.counts
        if c is None or not c.due:
            return "无需报送（无责任单位义务）"
        past = c.counted - c.pending
        parts = [f"已完成 {c.done}/{past} 项次（按时 {c.on_time}，逾期完成 {c.late}）"]
        if c.overdue:
            parts.append(f"逾期未完成 {c.overdue}")
        if c.lapsed:
            parts.append(f"逾期未报 {c.lapsed}")
        if c.pending:
            parts.append(f"未到期 {c.pending}")
        if c.extended:
            parts.append(f"延期 {c.extended}")
        if c.escalated:
            parts.append(f"督办 {c.escalated}")
        parts.append(f"按时率 {percent(c.on_time_rate)}")
        return "；".join(parts)


def ledger_rows(
    session: Session,
    *,
    plan_id: int,
    as_of: datetime,
    unit_ids: list[int] | None = None,
    base_url: str = "",
) -> list[LedgerRow]:
    """The plan's tasks in order, with their counts (filtered to `unit_ids` when given: then only
    the tasks where those units owe something)."""
    conn = session.connection()
    counts = task_counts(conn, plan_id=plan_id, as_of=as_of, unit_ids=unit_ids)
    notes = task_notes(conn, plan_id=plan_id, unit_ids=unit_ids)
    rows = []
    for tr in load_task_rows(session, plan_id):
        tid = tr.task.id or 0
        if unit_ids is not None and tid not in counts:
            continue
        c = counts.get(tid)
        note = notes.get(tid, {})
        link = ""
        if note.get("first_evidence"):
            path = f"/office/obligations/{note['first_evidence']}"
            link = f"{base_url.rstrip('/')}{path}（佐证 {note['files']} 份）"
        times = "；".join(m.label or (m.due.isoformat() if m.due else "") for m in tr.milestones)
        rows.append(
            LedgerRow(
                task_id=tid,
                ref=tr.task.ref,
                title=tr.task.title or tr.task.text[:80],
                times=times or "（无时限）",
                lead="、".join(u.name for u in tr.units.get("lead", [])),
                support="、".join(u.name for u in tr.units.get("support", [])),
                counts=c,
                progress=str(note.get("progress", "")),
                link=link,
                colour=c.colour if c is not None else "green",
            )
        )
    # 子方案: each task's sub-plans (and theirs) rolled up into its 进展.
    kids = rollup(session, [r.task_id for r in rows], as_of)
    if kids:
        rows = [
            replace(
                r,
                progress="；".join(
                    [*([r.progress] if r.progress else []), *(k.text() for k in kids[r.task_id])]
                ),
            )
            if r.task_id in kids
            else r
            for r in rows
        ]
    return rows


def write_xlsx(
    rows: list[LedgerRow], path: Path, *, title: str, as_of: datetime, unit: str | None
) -> None:
    """Write the 任务清单 workbook (to a temporary file first: a failed export leaves nothing)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    local = as_of.astimezone(OFFICE_TZ)
    heading = f"{title} 任务清单（截至 {local:%Y-%m-%d %H:%M}）" + (f" · {unit}" if unit else "")
    ws.append([heading])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(list(HEADERS))
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="D9D9D9")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
    for r in rows:
        ws.append(
            [
                r.ref,
                r.title,
                r.times,
                r.lead,
                r.support,
                r.completion,
                r.progress,
                r.link,
                COLOUR_LABEL[r.colour],
            ]
        )
        fill = PatternFill("solid", fgColor=FILLS[r.colour])
        for cell in ws[ws.max_row]:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            cell.border = border
        ws.cell(row=ws.max_row, column=len(HEADERS)).fill = fill
        ws.cell(row=ws.max_row, column=len(HEADERS)).alignment = Alignment(
            horizontal="center", vertical="top"
        )
    for i, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "C3"
    ws.auto_filter.ref = f"A2:{get_column_letter(len(HEADERS))}{max(ws.max_row, 2)}"
    ws.print_title_rows = "1:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    about = wb.create_sheet(SUMMARY_SHEET)
    for line in _legend(rows):
        about.append(line)
    about.column_dimensions["A"].width = 16
    about.column_dimensions["B"].width = 60
    tmp = path.with_name(f".{path.name}.part")
    try:
        wb.save(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _legend(rows: list[LedgerRow]) -> list[list[Any]]:
    n = {k: sum(1 for r in rows if r.colour == k) for k in FILLS}
    return [
        ["状态", "含义"],
        ["红", "有逾期未完成、逾期未报或已督办的事项"],
        ["黄", "有逾期完成或经批准延期的事项"],
        ["绿", "按时推进"],
        [],
        ["任务数", len(rows)],
        ["红 / 黄 / 绿", f"{n['red']} / {n['yellow']} / {n['green']}"],
        ["完成情况", "按责任单位的每项义务（含每期月报）计「项次」，与月度通报口径相同"],
    ]


def write_assessment_xlsx(scores: list[Any], path: Path, *, title: str, period: str) -> None:
    """The 考核 ranking as a workbook: rank, unit, score, the counts and the breakdown."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "考核排名"
    ws.append([f"{title} 考核（{period}）"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["排名", "单位", "得分", "应完成", "按时完成", "按时率", "扣分明细"])
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="D9D9D9")
    for s in scores:
        ws.append(
            [
                s.rank,
                s.unit,
                s.score,
                s.counts.due,
                s.counts.on_time,
                percent(s.counts.on_time_rate),
                s.explanation,
            ]
        )
        ws.cell(row=ws.max_row, column=7).alignment = Alignment(wrap_text=True)
    for col, width in zip("ABCDEFG", (6, 24, 8, 8, 9, 9, 70), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A3"
    ws.print_title_rows = "1:2"
    ws.page_setup.orientation = "landscape"
    tmp = path.with_name(f".{path.name}.part")
    try:
        wb.save(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
