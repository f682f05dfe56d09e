"""Split a .txt/.md document into prose lines and table blocks.

Three table shapes are recognised: one cell per line ("\\t序号", "\\t工作目标任务", …, a blank
line between rows, a line without the tab continuing the cell above), one row per line with
tabs between the cells, and Markdown pipe tables. Everything else is prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from intake.document import Document, Row, TableBlock, from_parts

__all__ = ["Row", "SplitDocument", "TableBlock", "split_document", "split_lines", "text_document"]

_PIPE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


@dataclass
class SplitDocument:
    """Prose lines (number, text) in order, and the tables found between them."""

    prose: list[tuple[int, str]] = field(default_factory=list)
    tables: list[TableBlock] = field(default_factory=list)


def text_document(text: str) -> Document:
    """A .txt/.md plan as a :class:`Document`: its prose lines and the tables written in it."""
    split = split_document(split_lines(text))
    return from_parts(split.prose, split.tables)


def split_lines(text: str) -> list[str]:
    """Split on any newline convention; a BOM and form feeds are dropped."""
    text = text.lstrip("\ufeff").replace("\f", "\n")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _kind(line: str) -> str:
    if line.startswith("\t") and "\t" not in line[1:]:
        return "cell"
    if line.lstrip().startswith("|") and line.rstrip().endswith("|"):
        return "pipe"
    if "\t" in line.strip("\t ") or (line.strip() and line.count("\t") >= 2):
        return "tsv"  # cells between tabs, or a heading row whose other cells are empty
    return "blank" if not line.strip() else "prose"


def split_document(lines: list[str]) -> SplitDocument:
    """Separate prose from table blocks, keeping 1-based line numbers."""
    doc = SplitDocument()
    i = 0
    while i < len(lines):
        kind = _kind(lines[i])
        if kind in ("cell", "tsv", "pipe"):
            block, i = _read_block(lines, i, kind)
            doc.tables.append(block)
            continue
        doc.prose.append((i + 1, lines[i]))
        i += 1
    return doc


def _read_block(lines: list[str], i: int, kind: str) -> tuple[TableBlock, int]:
    if kind == "cell":
        return _read_cell_block(lines, i)
    return _read_row_block(lines, i, kind)


def _read_cell_block(lines: list[str], i: int) -> tuple[TableBlock, int]:
    """One cell per line; a blank line ends a row; a tab-less line continues the last cell."""
    block = TableBlock()
    row: Row | None = None
    previous = ""
    while i < len(lines):
        line, kind = lines[i], _kind(lines[i])
        if kind == "cell":
            row = row or Row(line=i + 1, cells=[])
            row.cells.append(line[1:])
        elif kind == "prose" and row is not None and previous == "cell":
            row.cells[-1] += line.strip()
            kind = "cell"
        elif kind == "blank":
            if row is not None:
                block.rows.append(row)
            row = None
        else:
            break
        previous = kind
        i += 1
    if row is not None:
        block.rows.append(row)
    return block, i


def _read_row_block(lines: list[str], i: int, kind: str) -> tuple[TableBlock, int]:
    """One row per line (tabs or pipes between cells); blank lines inside are skipped."""
    block = TableBlock()
    previous = ""
    while i < len(lines):
        line, here = lines[i], _kind(lines[i])
        if here == kind:
            if not (kind == "pipe" and _PIPE_RULE.match(line.strip())):
                block.rows.append(Row(line=i + 1, cells=_cells(line, kind)))
        elif here == "prose" and previous == kind and block.rows:
            block.rows[-1].cells[-1] += line.strip()
            here = kind
        elif here != "blank" or not _more_rows_follow(lines, i, kind):
            break
        previous = here
        i += 1
    return block, i


def _more_rows_follow(lines: list[str], i: int, kind: str) -> bool:
    for line in lines[i:]:
        if line.strip():
            return _kind(line) == kind
    return False


def _cells(line: str, kind: str) -> list[str]:
    if kind == "pipe":
        inner = line.strip()[1:-1]
        return [c.strip() for c in inner.split("|")]
    return [c.strip() for c in line.rstrip("\n").split("\t")]
