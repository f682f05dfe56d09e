"""The importer's entry points: a path or a text in, a :class:`ParsedPlan` out."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

from intake.document import Document, TableBlock
from intake.docx import read_docx
from intake.errors import IntakeError, LineError
from intake.html import read_html
from intake.limits import check_formulas, check_package, check_tasks
from intake.loose import requested_duties
from intake.meta import extract_meta, plan_context
from intake.model import ParsedMilestone, ParsedPlan, ParsedTask, PlanMeta, Warning
from intake.pdf import read_pdf
from intake.prose import NOT_TASKS, parse_prose
from intake.sheet import read_csv, read_xlsx
from intake.source import decode_text, read_bytes
from intake.table import parse_table
from intake.text import text_document
from schedules import clock

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
HTML_SUFFIXES = (".html", ".htm", ".shtml", ".xhtml")
SUFFIXES = (*TEXT_SUFFIXES, ".docx", ".xlsx", ".xlsm", ".csv", ".tsv", ".pdf", *HTML_SUFFIXES)
# Formats a clerk can convert in the program that made them: say how, rather than "unsupported".
_SAVE_AS = {
    ".doc": "旧版 Word（.doc）文件无法直接读取：请在 Word 或 WPS 中打开，另存为 .docx 后再导入",
    ".wps": "WPS 文字（.wps）文件无法直接读取：请在 WPS 中打开，另存为 .docx 后再导入",
    ".xls": "旧版 Excel（.xls）文件无法直接读取：请在 Excel 或 WPS 中打开，另存为 .xlsx 后再导入",
    ".et": "WPS 表格（.et）文件无法直接读取：请在 WPS 中打开，另存为 .xlsx 后再导入",
    ".ofd": "OFD 版式文件无法直接读取：请用阅读器导出为 PDF（带文字）或另存为 .docx 后再导入",
}


def parse_path(path: Path) -> ParsedPlan:
    """Import a plan file (text, Markdown, Word, Excel, CSV, PDF, HTML); errors name the file."""
    path = Path(path)
    return parse_document(read_document(path), name=str(path))


def read_document(path: Path) -> Document:
    """Read any supported file into the one :class:`Document` model."""
    suffix = path.suffix.lower()
    if suffix in _SAVE_AS:
        raise IntakeError(_SAVE_AS[suffix], path=path)
    if suffix not in SUFFIXES:
        shown = suffix or "（无扩展名）"
        raise IntakeError(f"不支持的文件格式 {shown}，支持：{'、'.join(SUFFIXES)}", path=path)
    data = read_bytes(path)
    if suffix in (".docx", ".xlsx", ".xlsm"):
        check_package(path)
    if suffix in (".xlsx", ".xlsm"):
        check_formulas(path)
    if suffix in TEXT_SUFFIXES:
        return text_document(decode_text(data, path=path))
    if suffix == ".docx":
        return read_docx(path)
    if suffix == ".pdf":
        return read_pdf(path)
    if suffix in HTML_SUFFIXES:
        return read_html(path, data)
    rows = read_xlsx(path) if suffix in (".xlsx", ".xlsm") else read_csv(data, path=path)
    if not rows:
        raise IntakeError("表格为空", path=path)
    return Document(blocks=[TableBlock(rows=rows)], strict_tables=True)


def parse_text(text: str, *, name: str, today: date | None = None) -> ParsedPlan:
    """Import a plan given as text (.txt/.md content); ``name`` is used in errors."""
    if not text.strip():
        raise IntakeError("文件为空", path=name)
    return parse_document(text_document(text), name=name, today=today)


def parse_document(doc: Document, *, name: str, today: date | None = None) -> ParsedPlan:
    """Find the plan's metadata, tasks and warnings in a document of any format.

    A document that names no year anywhere is read in the year of ``today`` (the import's
    date), and that is listed for review, as is a year taken from the body's dates.
    """
    meta = extract_meta(doc.lines(), name=Path(name).name)
    if meta.year is None:
        meta.year = meta.until_year = (today or clock.now().astimezone(clock.OFFICE_TZ).date()).year
        meta.year_basis = "assumed"
    year_notes = [_year_note(meta)] if meta.year_basis else []
    ctx = plan_context(meta)
    try:
        tasks, warnings = parse_prose(doc.prose, ctx)
        headerless: LineError | None = None
        for index, table in enumerate(doc.tables, start=1):
            prefix = _table_prefix(doc.caption(table), index) if tasks else ""
            try:
                more, notes = parse_table(table.rows, ctx, ref_prefix=prefix)
            except LineError as exc:
                if doc.strict_tables:
                    raise
                headerless = headerless or exc
                more, notes = [], [_headerless(table, exc)]
            tasks += more
            warnings += notes
        if not tasks and headerless is not None:
            raise headerless  # the table was the plan's content: its missing header is the error
        if not tasks:
            tasks = requested_duties(doc.prose, ctx, skip=NOT_TASKS)
    except LineError as exc:
        raise IntakeError(exc.message, path=name, line=exc.line) from exc
    if not tasks:
        raise IntakeError("没有找到任何任务（既没有编号条目，也没有可识别的任务表格）", path=name)
    check_tasks(name, len(tasks))
    warnings += _make_refs_unique(tasks)
    if FIRST_IS_LEAD.search("".join(doc.lines())):
        for task in tasks:
            _first_leads(task)
    return ParsedPlan(meta=meta, tasks=tasks, warnings=year_notes + warnings, source=name)


def _year_note(meta: PlanMeta) -> Warning:
    """The review item for a plan year that no title, file name or signature gave."""
    if meta.year_basis == "body":
        message = (
            f"计划年度 {meta.year} 年取自正文第 {meta.year_line} 行的日期"
            "（标题、文号、落款日期和文件名中都没有年份），请核对"
        )
        return Warning(line=meta.year_line, text=meta.year_text[:80], message=message)
    message = (
        f"文件中没有任何年份（标题、文号、落款日期、正文和文件名都没有），计划年度暂按导入当年"
        f" {meta.year} 年读取：有日期的任务请核对年份"
    )
    return Warning(line=0, text="", message=message)


# "列第一位者为工作牵头单位", "排在第一位的为牵头单位": the document says how to read its lists.
FIRST_IS_LEAD = re.compile(
    r"(?:列|排)(?:在)?(?:首位|第一位)(?:者|的)?(?:单位)?(?:为|是)(?:工作)?牵头"
)


def _first_leads(task: ParsedTask) -> None:
    """Apply the document's own rule: in a list with no roles the first unit leads."""
    owners: list[ParsedTask | ParsedMilestone] = [task, *task.milestones]
    for owner in owners:
        if len(owner.lead_units) > 1 and not owner.support_units:
            owner.lead_units, owner.support_units = owner.lead_units[:1], owner.lead_units[1:]


def _table_prefix(caption: str, index: int) -> str:
    return "附件-" if "附件" in caption else f"表{index}-"


def _headerless(table: TableBlock, exc: LineError) -> Warning:
    text = " ".join(c for c in table.rows[0].cells if c)[:80]
    message = f"{exc.message}，整张表（{len(table.rows)} 行）已忽略"
    return Warning(line=table.line, text=text, message=message)


def _make_refs_unique(tasks: list[ParsedTask]) -> list[Warning]:
    counts = Counter(t.ref for t in tasks)
    seen: Counter[str] = Counter()
    warnings = []
    for task in tasks:
        if counts[task.ref] < 2:
            continue
        seen[task.ref] += 1
        if seen[task.ref] > 1:
            new = f"{task.ref}-{seen[task.ref]}"
            warnings.append(
                Warning(
                    line=task.line, text=task.title, message=f"编号 {task.ref} 重复，改为 {new}"
                )
            )
            task.ref = new
    return warnings
