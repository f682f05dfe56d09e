"""Word (.docx) plans: paragraphs become prose lines, tables become table blocks.

Line numbers count the document's paragraphs and table rows in order (Word has no lines).
Heading styles are read as Markdown headings; merged cells are read once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from intake.errors import IntakeError
from intake.text import Row, SplitDocument, TableBlock, split_document


def read_docx(path: Path) -> tuple[list[str], SplitDocument]:
    """Return all lines (for metadata) and the split document (prose + tables)."""
    try:
        document: Any = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several types for a broken package
        raise IntakeError(f"无法打开 Word 文件（{type(exc).__name__}）", path=path) from exc
    lines: list[str] = []  # every paragraph and table row, for the metadata
    texts: list[str] = []  # paragraphs only; table rows are blank here
    tables: list[TableBlock] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(_paragraph_text(block))
            texts.append(lines[-1])
        elif isinstance(block, Table):
            table = TableBlock(caption=_caption(texts))
            for cells in _table_rows(block):
                lines.append("\t".join(cells))
                texts.append("")
                table.rows.append(Row(line=len(lines), cells=cells))
            tables.append(table)
    # Paragraphs may still hold tab-separated tables (text pasted into Word).
    doc = split_document(texts)
    doc.tables = sorted(doc.tables + [t for t in tables if t.rows], key=lambda t: t.line)
    return lines, doc


def _paragraph_text(paragraph: Paragraph) -> str:
    style = paragraph.style.name if paragraph.style is not None else ""
    text = paragraph.text.strip(" \u3000\r\n")  # keep tabs: they may separate cells
    if text and style and (style.startswith(("Heading", "Title")) or "标题" in style):
        return "# " + text
    return text


def _table_rows(table: Table) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        seen: list[object] = []
        for cell in row.cells:
            if any(cell._tc is other for other in seen):
                continue  # a horizontally merged cell repeats; read it once
            seen.append(cell._tc)
            cells.append(cell.text.replace("\n", "").strip())
        rows.append(cells)
    return rows


def _caption(texts: list[str]) -> str:
    return " ".join([t for t in texts if t.strip()][-4:])
