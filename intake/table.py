"""Task tables (TSV, pipe, CSV, XLSX, DOCX) → tasks, with columns found by header name.

The header row is the first row naming at least two known columns (序号, 任务, 时间节点,
责任单位, 配合单位, 区领导, 工作要求 …); repeated headers (page breaks) are skipped. When the
rows have more cells than the header, the task column spans them ("工作目标任务" over category,
title and content). A blank category inherits the one above; a row holding only a heading
("一、强化责任意识…（小计 3 项）") sets the category.
"""

from __future__ import annotations

import re

from intake.errors import LineError
from intake.model import ParsedTask, Warning
from intake.text import Row
from intake.timing import milestones_from_cell
from intake.units import clean_name, split_leaders, split_roles, split_units
from schedules.timeexpr import PlanContext

_EXACT = {
    "序号": "ref",
    "编号": "ref",
    "类别": "category",
    "分类": "category",
    "项目": "category",
    "重点领域": "category",
    "工作类别": "category",
    "行动": "category",
    "备注": "note",
    "责任人": "leaders",
    "责任领导": "leaders",
    "负责人": "leaders",
}
_FUZZY = (
    ("ref", re.compile(r"序号|编号")),
    ("leaders", re.compile(r"领导")),
    ("support", re.compile(r"配合|协办|协助|参与|协同|协作")),
    ("lead", re.compile(r"责任|牵头|主责|主办|负责")),
    ("time", re.compile(r"时间|时限|节点|期限|进度")),
    ("text", re.compile(r"要求|措施|内容|目标$")),
    ("title", re.compile(r"任务|工作|事项|名称")),
)
_HEADING_ROW = re.compile(
    r"^(?:[一二三四五六七八九十]+\s*[、.．]|[（(][一二三四五六七八九十]+[）)])\s*"
)
_SUBTOTAL = re.compile(r"[（(]\s*(?:小计|合计|共)\s*\d+\s*项\s*[）)]\s*$")
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff“”])\s+(?=[\u4e00-\u9fff“”])")
_TAGS = re.compile(r"</?\w+[^>]*>|\*\*")
_TIME_CELL = re.compile(r"^.{0,12}(?:\d{1,2}\s*月|年底|年内|年末|季度|每[月周年季]|长期|持续|底前)")


def header_field(cell: str) -> str | None:
    """The column a header cell names ("完成时限" → "time"), or None."""
    name = re.sub(r"\s+", "", _TAGS.sub("", cell))
    if not name or len(name) > 12:
        return None
    if name in _EXACT:
        return _EXACT[name]
    return next((f for f, pattern in _FUZZY if pattern.search(name)), None)


def find_header(rows: list[Row]) -> int | None:
    """Index of the header row: the first naming two known columns, a task or unit among them."""
    for index, row in enumerate(rows):
        fields = [header_field(c) for c in row.cells]
        named = {f for f in fields if f}
        if len(named) >= 2 and named & {"title", "text", "lead"}:
            return index
    return None


def parse_table(
    rows: list[Row], ctx: PlanContext, *, ref_prefix: str = ""
) -> tuple[list[ParsedTask], list[Warning]]:
    """Read the task rows of one table; raises LineError when no header can be found."""
    start = find_header(rows)
    if start is None:
        line = rows[0].line if rows else None
        raise LineError(
            "表格没有可识别的表头（需要序号、任务、责任单位、时间节点等列名）", line=line
        )
    header = _led_columns(rows[start].cells, [header_field(c) or "" for c in rows[start].cells])
    width = _row_width(rows[start + 1 :], len(header))
    warnings = [_warn(r, "表头之前的行，已忽略") for r in rows[:start] if _text(r)]
    tasks: list[ParsedTask] = []
    category = ""
    above: list[str] = []
    for row in rows[start + 1 :]:
        if [header_field(c) or "" for c in row.cells] == header or not _text(row):
            continue
        cells = fill_merged(header, row.cells, above)
        values = align(header, cells, width)
        above = cells if len(_trimmed(cells)) > 1 else above
        if _is_heading_row(values, row):
            if _looks_like_heading(_text(row)):
                category = _heading(_text(row))
            else:
                warnings.append(_warn(row, "表格中的说明行，无法归入任务，已忽略"))
            continue
        if not values.get("ref") and not values.get("title") and not values.get("text"):
            warnings.append(_warn(row, "无法识别的表格行（没有序号和任务），已忽略"))
            continue
        category = _tidy(values.get("category", "")) or category
        task, more = _row_task(values, row, ctx, category, ref_prefix, len(tasks) + 1)
        tasks.append(task)
        warnings.extend(more)
    return tasks, warnings


def _led_columns(names: list[str], header: list[str]) -> list[str]:
    """With a 牵头单位 column, a 责任单位 column holds the units under the lead: support."""
    if not any(f == "lead" and "牵头" in n for n, f in zip(names, header, strict=True)):
        return header
    return [
        "support" if f == "lead" and "责任" in n and "牵头" not in n else f
        for n, f in zip(names, header, strict=True)
    ]


def fill_merged(header: list[str], cells: list[str], above: list[str]) -> list[str]:
    """A row short of its first cells, merged with the row above: its time cell shows where it
    belongs ("2.制定… | 市级各专委会办公室 | 2月10日前" under "(一)制定工作任务清单 | 1.制定…")."""
    trimmed = _trimmed(cells)
    if "time" not in header or not above or len(trimmed) >= len(header):
        return cells
    at = max((i for i, c in enumerate(trimmed) if _TIME_CELL.search(c)), default=-1)
    shift = header.index("time") - at
    if at < 0 or shift <= 0 or shift > len(above):
        return cells
    return above[:shift] + cells


def _row_width(rows: list[Row], header_width: int) -> int:
    """How many cells a data row has: the widest row, trailing empty cells not counted."""
    return max([header_width, *(len(_trimmed(r.cells)) for r in rows)])


def _trimmed(cells: list[str]) -> list[str]:
    cells = [c.strip() for c in cells]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def align(header: list[str], cells: list[str], width: int = 0) -> dict[str, str]:
    """Map cells to fields; when rows are wider than the header, the task column spans."""
    cells = _trimmed(cells)
    extra = max(width, len(header)) - len(header)
    fields = list(header)
    if extra > 0:
        span = "title" if "title" in fields else "text"
        at = fields.index(span) if span in fields else len(fields)
        expanded = ["category"] * max(0, extra - 1) + ["title", "text"]
        if extra == 1 and "text" in fields:
            expanded = ["category", "title"]
        fields[at : at + 1] = expanded
    values: dict[str, str] = {}
    for name, cell in zip(fields, cells, strict=False):
        if name and cell:
            values[name] = f"{values[name]}\n{cell}" if name in values else cell
    return values


def _is_heading_row(values: dict[str, str], row: Row) -> bool:
    filled = [c for c in row.cells if c.strip()]
    return len(filled) == 1 and not values.get("ref", "").isdigit()


def _looks_like_heading(text: str) -> bool:
    text = _tidy(text)
    return bool(_HEADING_ROW.match(text)) or (len(text) <= 30 and not re.search(r"[：:。]", text))


def _heading(text: str) -> str:
    return _SUBTOTAL.sub("", _HEADING_ROW.sub("", _tidy(text))).strip()


def _row_task(
    values: dict[str, str], row: Row, ctx: PlanContext, category: str, prefix: str, ordinal: int
) -> tuple[ParsedTask, list[Warning]]:
    title = _tidy(values.get("title", ""))
    text = _tidy(values.get("text", "")) or title
    lead, support = split_roles(values.get("lead", ""), spaces_separate=True)
    support += [
        u for u in split_units(values.get("support", ""), spaces_separate=True) if u not in support
    ]
    warnings = []
    ref = re.sub(r"\s+", "", values.get("ref", ""))
    if not ref:
        ref = str(ordinal)
        warnings.append(_warn(row, f"缺少序号，按顺序编为 {ref}"))
    milestones, more = milestones_from_cell(
        values.get("time", ""), text=text, title=title or text[:30], ctx=ctx, line=row.line
    )
    task = ParsedTask(
        ref=prefix + ref,
        title=title or text[:30],
        text=text,
        line=row.line,
        section=[category] if category else [],
        lead_units=lead,
        support_units=support,
        leaders=split_leaders(values.get("leaders", "")),
        milestones=milestones,
    )
    return task, warnings + more


def _tidy(text: str) -> str:
    return clean_name(_CJK_GAP.sub("", _TAGS.sub("", text)).replace("\n", ""))


def _text(row: Row) -> str:
    return " ".join(c.strip() for c in row.cells if c.strip())


def _warn(row: Row, message: str) -> Warning:
    return Warning(line=row.line, text=_text(row)[:80], message=message)
