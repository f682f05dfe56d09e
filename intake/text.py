"""Split a .txt/.md document into prose lines and table blocks.

The table shapes real copies come in are recognised: one cell per line ("\\t序号",
"\\t工作目标任务", …, a blank line between rows, a line without the tab continuing the cell
above); one row per line with tabs between the cells; rows with ``|`` between the cells, with or
without leading and trailing pipes (Markdown tables among them); and one cell per line ending in
``|``, as web pages are often copied, where a line of pipes alone ("||||") ends a row and a
numbered cell after a row's content starts the next. Everything else is prose.
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


_DEBRIS = re.compile(r"^\s*\|[\s|]*$")
_NUMBERED_CELL = re.compile(
    r"^(?:\d{1,3}\s*[.．、](?!\d)|[（(][一二三四五六七八九十]{1,3}[）)]|[一二三四五六七八九十]{1,3}\s*、)"
)
_SECTION_CELL = re.compile(r"^[一二三四五六七八九十]{1,3}\s*、")


def _kind(line: str) -> str:
    if line.startswith("\t") and "\t" not in line[1:]:
        return "cell"
    stripped = line.strip()
    if _DEBRIS.match(line):
        return "pcell"  # "|" alone is an empty cell, "||||" the end of a row
    cells = [c for c in stripped.strip("|").split("|") if c.strip()]
    if stripped.endswith("|") and len(cells) == 1 and stripped.count("|") == 1:
        return "pcell"
    if stripped.count("|") >= 2 or (stripped.startswith("|") and stripped.endswith("|")):
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
        if kind in ("cell", "tsv", "pipe", "pcell"):
            block, i = _read_block(lines, i, kind)
            if all(len([c for c in r.cells if c.strip()]) <= 1 for r in block.rows):
                # "|" debris around running text ("|\n[接上页] …正文… |"): no table, prose
                doc.prose += [(r.line, c) for r in block.rows for c in r.cells if c.strip()]
            else:
                doc.tables.append(block)
            continue
        doc.prose.append((i + 1, lines[i]))
        i += 1
    return doc


def _read_block(lines: list[str], i: int, kind: str) -> tuple[TableBlock, int]:
    if kind == "cell":
        return _read_cell_block(lines, i)
    if kind == "pcell" and _separated(lines, i):
        return _read_separated_cells(lines, i)
    if kind == "pcell":
        return _read_pipe_cells(lines, i)
    return _read_row_block(lines, i, kind)


def _read_pipe_cells(lines: list[str], i: int) -> tuple[TableBlock, int]:
    """One cell per line ending in "|": rows end at a line of pipes, or where a numbered cell
    follows a row's content ("1.制定…" after "…市安委办 | 1月20日前 |"); a section heading
    ("一、…") is a row of its own."""
    block = TableBlock()
    row: Row | None = None
    while i < len(lines):
        line, kind = lines[i], _kind(lines[i])
        text = line.strip().rstrip("|").strip()
        if kind == "prose":
            if row is None or not _cell_goes_on(lines, i):
                break
            if _NUMBERED_CELL.match(text) and _starts_row(row, text):
                _close_row(block, row)
                row = Row(line=i + 1, cells=[text])
            elif _NUMBERED_CELL.match(text):
                row.cells.append(text)
            else:
                row.cells[-1] += text  # a cell the page wrapped (or cut off) without its pipe
            i += 1
            continue
        if kind != "pcell":
            break
        if kind == "pcell" and _DEBRIS.match(line) and line.count("|") > 1:
            _close_row(block, row)
            row = None
        elif row is not None and _starts_row(row, text):
            _close_row(block, row)
            row = Row(line=i + 1, cells=[text])
        else:
            row = row or Row(line=i + 1, cells=[])
            row.cells.append(text)
        if _SECTION_CELL.match(text):
            _close_row(block, row)
            row = None
        i += 1
    _close_row(block, row)
    return block, i


def _is_bar(line: str) -> bool:
    return line.strip() == "|"


def _separated(lines: list[str], i: int) -> bool:
    """ "|" alone on a line between cells that have no pipes ("|", "序号", "|", "工作任务", …,
    "|", "|", "1", …), as some pages are copied: a bar alone starts each cell, two bars in a row
    end a row."""
    ahead = [line for line in lines[i : i + 12] if line.strip()]
    bars = [_is_bar(line) for line in ahead]
    alternating = all(bars[k] != bars[k + 1] for k in range(min(len(bars), 6) - 1))
    return len(ahead) >= 6 and bars[0] and alternating and _kind(ahead[1]) == "prose"


def _read_separated_cells(lines: list[str], i: int) -> tuple[TableBlock, int]:
    """Read the bar-separated shape (see :func:`_separated`); a line of text after a cell with
    no bar between continues the cell only if a bar follows, else the table has ended."""
    block = TableBlock()
    row: Row | None = None
    after_bar = False
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if _is_bar(line):
            if after_bar and row is not None:
                _close_row(block, row)
                row = None
            after_bar = True
        elif _kind(line) != "prose":
            break
        elif after_bar:
            row = row or Row(line=i + 1, cells=[])
            row.cells.append(line.strip())
            after_bar = False
        elif row is not None and _cell_goes_on(lines, i):
            row.cells[-1] += line.strip()
        else:
            break
        i += 1
    _close_row(block, row)
    return block, i


def _cell_goes_on(lines: list[str], i: int) -> bool:
    """A line without its pipe is a cell's text only between cells, or last in the file."""
    return _row_goes_on(lines, i, "pcell")


def _row_goes_on(lines: list[str], i: int, kind: str) -> bool:
    """A prose line inside a table continues its last cell only if the table goes on after it."""
    after = next((line for line in lines[i + 1 :] if line.strip()), None)
    return after is None or _kind(after) == kind


def _starts_row(row: Row, text: str) -> bool:
    has_content = any(c and not _NUMBERED_CELL.match(c) for c in row.cells)
    return bool(_NUMBERED_CELL.match(text)) and has_content


def _close_row(block: TableBlock, row: Row | None) -> None:
    if row is not None and any(c.strip() for c in row.cells):
        block.rows.append(row)


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
        elif here == "prose" and previous == kind and block.rows and _row_goes_on(lines, i, kind):
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
        inner = line.strip()
        inner = inner[1:] if inner.startswith("|") else inner
        inner = inner[:-1] if inner.endswith("|") else inner
        return [c.strip() for c in inner.split("|")]
    return [c.strip() for c in line.rstrip("\n").split("\t")]
