"""PDF plans: the text layer line by line, ruled tables as tables (pdfplumber).

Lines are numbered through the whole file (page 2's first line follows page 1's last), and
each block keeps its page. Page numbers printed in the margin ("- 3 -") are dropped. A PDF with
no text layer (a scan) cannot be read: the error says so and what to do.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from intake.document import Block, Document, Row, TableBlock, TextBlock
from intake.errors import IntakeError

_PAGE_NUMBER = re.compile(r"^[-—–－\s]*(?:第\s*)?\d{1,3}\s*(?:页|/\s*\d{1,3})?[-—–－\s]*$")
_TABLE_SETTINGS = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}


def read_pdf(path: Path) -> Document:
    """The PDF's text lines and ruled tables in reading order."""
    import pdfplumber  # pdfminer is slow to import: only for PDF files

    try:
        pdf: Any = pdfplumber.open(str(path))
    except Exception as exc:  # pdfminer raises several types for a broken file
        raise IntakeError(f"无法打开 PDF 文件（{type(exc).__name__}）", path=path) from exc
    blocks: list[Block] = []
    chars = 0
    with pdf:
        for number, page in enumerate(pdf.pages, start=1):
            chars += len(page.chars)
            blocks += _page_blocks(page, number, first_line=_next_line(blocks))
    if chars == 0:
        raise IntakeError(
            "这是扫描件 PDF（没有文字层），无法读取其中的文字：请提供带文字的 PDF、Word 或文本文件，"
            "或先用文字识别（OCR）转成文字",
            path=path,
        )
    return Document(blocks=blocks)


def _next_line(blocks: list[Block]) -> int:
    if not blocks:
        return 1
    last = blocks[-1]
    return (last.rows[-1].line if isinstance(last, TableBlock) else last.line) + 1


def _page_blocks(page: Any, number: int, *, first_line: int) -> list[Block]:
    tables = [t for t in page.find_tables(_TABLE_SETTINGS) if len(t.rows) >= 2]
    boxes = [t.bbox for t in tables]
    outside = page.filter(lambda obj: not any(_inside(obj, box) for box in boxes))
    placed: list[tuple[float, Block]] = []
    for line in outside.extract_text_lines(keep_blank_chars=False):
        text = line["text"].strip()
        if text and not _PAGE_NUMBER.match(text):
            placed.append((line["top"], TextBlock(line=0, text=text, page=number)))
    for table in tables:
        rows = [[_cell(c) for c in row] for row in table.extract()]
        grid = TableBlock(rows=[Row(line=0, cells=r) for r in rows if any(r)], page=number)
        placed.append((table.bbox[1], grid))
    placed.sort(key=lambda p: p[0])
    line = first_line
    for _, block in placed:  # number the lines top to bottom, through the whole file
        for numbered in block.rows if isinstance(block, TableBlock) else [block]:
            numbered.line = line
            line += 1
    return [block for _, block in placed]


def _inside(obj: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = box
    mid_x = (obj.get("x0", 0) + obj.get("x1", 0)) / 2
    mid_y = (obj.get("top", 0) + obj.get("bottom", 0)) / 2
    return bool(x0 <= mid_x <= x1 and top <= mid_y <= bottom)


def _cell(value: str | None) -> str:
    """A cell's text: lines the PDF wrapped inside the cell joined again."""
    return re.sub(r"\s*\n\s*", "", value or "").strip()
