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

from intake.document import Document, Row, TableBlock, from_parts
from intake.errors import IntakeError
from intake.text import split_document


def read_docx(path: Path) -> Document:
    """The paragraphs (Heading styles as Markdown headings) and Word tables, in order."""
    try:
        document: Any = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several types for a broken package
        raise IntakeError(f"无法打开 Word 文件（{type(exc).__name__}）", path=path) from exc
    texts: list[str] = []  # one per paragraph and table row (blank for a row): its line number
    tables: list[TableBlock] = []
    # Style names by id, read once: python-docx's `paragraph.style` scans every style of the
    # document per paragraph, which made an 8,000-paragraph plan take minutes.
    styles = {s.style_id: s.name or "" for s in document.styles}
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            texts.append(_paragraph_text(block, styles))
        elif isinstance(block, Table):
            table = TableBlock()
            for cells in _table_rows(block):
                texts.append("")
                table.rows.append(Row(line=len(texts), cells=cells))
            tables.append(table)
    # Paragraphs may still hold tab-separated tables (text pasted into Word).
    split = split_document(texts)
    return from_parts(split.prose, split.tables + tables)


def _paragraph_text(paragraph: Paragraph, styles: dict[str, str]) -> str:
    style = styles.get(paragraph._p.style or "", "")
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
