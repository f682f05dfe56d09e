"""The importer's entry points: a path or a text in, a :class:`ParsedPlan` out."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from intake.docx import read_docx
from intake.errors import IntakeError, LineError
from intake.meta import extract_meta, plan_context
from intake.model import ParsedPlan, ParsedTask, Warning
from intake.prose import parse_prose
from intake.sheet import read_csv, read_xlsx
from intake.source import decode_text, read_bytes
from intake.table import parse_table
from intake.text import Row, SplitDocument, TableBlock, split_document, split_lines

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
SUFFIXES = (*TEXT_SUFFIXES, ".docx", ".xlsx", ".xlsm", ".csv", ".tsv")


def parse_path(path: Path) -> ParsedPlan:
    """Import a plan file (.txt, .md, .docx, .xlsx, .csv); errors name the file and line."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        shown = suffix or "（无扩展名）"
        raise IntakeError(f"不支持的文件格式 {shown}，支持：{'、'.join(SUFFIXES)}", path=path)
    data = read_bytes(path)
    if suffix in TEXT_SUFFIXES:
        return parse_text(decode_text(data, path=path), name=str(path))
    if suffix == ".docx":
        lines, doc = read_docx(path)
        return _assemble(lines, doc, name=str(path))
    rows = read_xlsx(path) if suffix in (".xlsx", ".xlsm") else read_csv(data, path=path)
    return _parse_rows(rows, name=str(path))


def parse_text(text: str, *, name: str) -> ParsedPlan:
    """Import a plan given as text (.txt/.md content); ``name`` is used in errors."""
    if not text.strip():
        raise IntakeError("文件为空", path=name)
    lines = split_lines(text)
    return _assemble(lines, split_document(lines), name=name)


def _parse_rows(rows: list[Row], *, name: str) -> ParsedPlan:
    """A spreadsheet: the rows above the header are the title lines."""
    if not rows:
        raise IntakeError("表格为空", path=name)
    lines = [" ".join(c for c in row.cells if c) for row in rows]
    doc = SplitDocument(tables=[TableBlock(rows=rows)])
    return _assemble(lines, doc, name=name, strict_tables=True)


def _assemble(
    lines: list[str], doc: SplitDocument, *, name: str, strict_tables: bool = False
) -> ParsedPlan:
    meta = extract_meta(lines, name=Path(name).name)
    if meta.year is None:
        raise IntakeError("无法确定计划年度：标题、文号、落款日期和文件名中都没有年份", path=name)
    ctx = plan_context(meta)
    try:
        tasks, warnings = parse_prose(doc.prose, ctx)
        headerless: LineError | None = None
        for index, table in enumerate(doc.tables, start=1):
            prefix = _table_prefix(table, index) if tasks else ""
            try:
                more, notes = parse_table(table.rows, ctx, ref_prefix=prefix)
            except LineError as exc:
                if strict_tables:
                    raise
                headerless = headerless or exc
                more, notes = [], [_headerless(table, exc)]
            tasks += more
            warnings += notes
        if not tasks and headerless is not None:
            raise headerless  # the table was the plan's content: its missing header is the error
    except LineError as exc:
        raise IntakeError(exc.message, path=name, line=exc.line) from exc
    if not tasks:
        raise IntakeError("没有找到任何任务（既没有编号条目，也没有可识别的任务表格）", path=name)
    warnings += _make_refs_unique(tasks)
    return ParsedPlan(meta=meta, tasks=tasks, warnings=warnings, source=name)


def _table_prefix(table: TableBlock, index: int) -> str:
    return "附件-" if "附件" in table.caption else f"表{index}-"


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
