"""The one document model every format is read into before any task is looked for.

A :class:`Document` is a list of blocks in reading order: :class:`TextBlock` (a line or
paragraph of text) and :class:`~intake.text.TableBlock` (rows × cells), each with the line it
came from (and the page, for PDF). Text, Markdown, CSV, XLSX, DOCX, PDF and HTML readers all
produce one; the prose and table readers then see the same shape whatever the format.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    """One table row: the line it starts on and its cells, as written."""

    line: int
    cells: list[str]


@dataclass
class TableBlock:
    """Consecutive table rows, and the page they are on (PDF)."""

    rows: list[Row] = field(default_factory=list)
    page: int | None = None

    @property
    def line(self) -> int:
        """The line the table starts on."""
        return self.rows[0].line if self.rows else 0


@dataclass
class TextBlock:
    """One line of text as the source gives it; ``line`` is 1-based, ``page`` set for PDF."""

    line: int
    text: str
    page: int | None = None


Block = TextBlock | TableBlock


@dataclass
class Document:
    """The blocks of one plan document, in order; ``strict_tables`` when it is only a table."""

    blocks: list[Block] = field(default_factory=list)
    strict_tables: bool = False

    @property
    def prose(self) -> list[tuple[int, str]]:
        """(line, text) of every text block, in order."""
        return [(b.line, b.text) for b in self.blocks if isinstance(b, TextBlock)]

    @property
    def tables(self) -> list[TableBlock]:
        """Every table, in order."""
        return [b for b in self.blocks if isinstance(b, TableBlock)]

    def caption(self, table: TableBlock) -> str:
        """The last few text lines before the table (e.g. "附件：…")."""
        index = next(i for i, b in enumerate(self.blocks) if b is table)
        before = [b.text.strip() for b in self.blocks[:index] if isinstance(b, TextBlock)]
        return " ".join([t for t in before if t][-4:])

    def lines(self) -> list[str]:
        """All text in order, one string per text line or table row (cells joined by tabs).

        The metadata (title, document number, signature) is read from these; index ``i`` holds
        source line ``i + 1`` where the source has lines, so that nearby lines stay nearby.
        """
        rows: list[tuple[int, str]] = []
        for block in self.blocks:
            if isinstance(block, TextBlock):
                rows.append((block.line, block.text))
            else:
                rows += [(r.line, "\t".join(c for c in r.cells if c)) for r in block.rows]
        rows.sort(key=lambda r: r[0])
        out: list[str] = []
        for line, text in rows:
            out += [""] * max(0, line - 1 - len(out))
            out.append(text)
        return out


def from_parts(prose: list[tuple[int, str]], tables: list[TableBlock]) -> Document:
    """A document from text lines and tables, each block placed at its line."""
    blocks: list[Block] = [TextBlock(line=n, text=t) for n, t in prose if t.strip()]
    blocks += [t for t in tables if t.rows]
    blocks.sort(key=lambda b: b.line)
    return Document(blocks=blocks)
