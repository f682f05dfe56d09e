"""HTML pages saved from a government site: the article body as text lines, tables as tables.

Navigation and page chrome (menus, headers, footers, share bars, scripts) are dropped; the
article is the element with the most text outside links, preferring the containers sites use
for it (``TRS_Editor``, ``zoom``, ``article``, ``content``…). The page's own heading (``<h1>``, else
``<title>`` without the site's name) is kept first, for the plan's title. Cells merged across
rows (``rowspan``) are repeated into the rows below, so that every row has all its columns.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree

from intake.document import Block, Document, Row, TableBlock, TextBlock
from intake.errors import IntakeError
from intake.source import decode_text

_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "select",
    "button",
    "object",
    "svg",
)
_CHROME = re.compile(
    r"nav|menu|header|footer|breadcrumb|crumb|share|sidebar|toolbar|topbar|copyright|banner|"
    r"search|login|related|position|location|bottom|foot|print|fontsize|erweima|qrcode",
    re.IGNORECASE,
)
_BODY = re.compile(r"trs_editor|zoom|article|content|detail|main|text|body|wzy|pages_con", re.I)
_BLOCK = frozenset(
    {
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "ul",
        "ol",
        "section",
        "article",
        "blockquote",
        "pre",
        "dd",
        "dt",
        "center",
        "tr",
    }
)
_SITE_SUFFIX = re.compile(r"\s*[-_|—｜]\s*[^-_|—｜]{2,30}$")


def read_html(path: Path, data: bytes) -> Document:
    """The article of a saved web page, as a :class:`Document`."""
    text = decode_text(data, path=path)
    try:
        root: Any = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise IntakeError(f"无法解析 HTML 文件（{exc}）", path=path) from exc
    title = _page_title(root)
    _drop_chrome(root)
    body = _article(root)
    blocks: list[Block] = []
    if title and title not in body.text_content():
        blocks.append(TextBlock(line=1, text=title))
    _Walker(blocks).walk(body)
    if not any(isinstance(b, TableBlock) or b.text.strip() for b in blocks):
        raise IntakeError("网页中没有找到正文文字", path=path)
    return Document(blocks=blocks)


def _page_title(root: Any) -> str:
    for h1 in root.iter("h1"):
        text = _squash(h1.text_content())
        if len(text) >= 6:
            return text
    titles = root.xpath("//title")
    return _SITE_SUFFIX.sub("", _squash(titles[0].text_content())) if titles else ""


def _drop_chrome(root: Any) -> None:
    for element in list(root.iter(*_DROP_TAGS)):
        element.drop_tree()
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or element.getparent() is None:
            continue
        marks = f"{element.get('id', '')} {element.get('class', '')}"
        if _CHROME.search(marks) and not _BODY.search(marks) and element.tag != "body":
            element.drop_tree()


def _article(root: Any) -> Any:
    """The element holding the article: the most non-link text, named containers first."""
    best, best_score = root.find("body") if root.find("body") is not None else root, 0.0
    for element in root.iter("div", "article", "section", "td", "main"):
        marks = f"{element.get('id', '')} {element.get('class', '')}"
        own = len(_squash(element.text_content()))
        links = sum(len(_squash(a.text_content())) for a in element.iter("a"))
        score = (own - 2 * links) * (1.5 if _BODY.search(marks) else 1.0)
        if score > best_score * 1.05:
            best, best_score = element, score
    return best


class _Walker:
    """Turns an element tree into text lines (one per block element or <br>) and tables."""

    def __init__(self, blocks: list[Block]) -> None:
        self.blocks = blocks
        self.parts: list[str] = []
        self.line = 1

    def walk(self, element: Any) -> None:
        self._visit(element)
        self._flush()

    def _visit(self, element: Any) -> None:
        if not isinstance(element.tag, str):
            return
        self.line = element.sourceline or self.line
        if element.tag == "table":
            self._flush()
            self._table(element)
            return
        if element.tag == "br" or element.tag in _BLOCK:
            self._flush()
        if element.text:
            self.parts.append(element.text)
        for child in element:
            self._visit(child)
            if child.tail:
                self.parts.append(child.tail)
        if element.tag in _BLOCK:
            self._flush()

    def _flush(self) -> None:
        text = _squash("".join(self.parts))
        self.parts = []
        if text:
            self.blocks.append(TextBlock(line=self.line, text=text))

    def _table(self, table: Any) -> None:
        rows: list[Row] = []
        carried: dict[int, tuple[str, int]] = {}  # column → (text, rows still to fill)
        for tr in table.iter("tr"):
            if _nearest_table(tr) is not table:
                continue
            cells: list[str] = []
            column = 0
            for td in tr:
                if td.tag not in ("td", "th"):
                    continue
                column = _fill_carried(cells, carried, column)
                text = _squash(td.text_content())
                cells.append(text)
                span = _int(td.get("rowspan"))
                if span > 1:
                    carried[column] = (text, span - 1)
                column += 1
            _fill_carried(cells, carried, column, to_end=True)
            if any(cells):
                rows.append(Row(line=tr.sourceline or self.line, cells=cells))
        if rows:
            self.blocks.append(TableBlock(rows=rows))


def _fill_carried(
    cells: list[str], carried: dict[int, tuple[str, int]], column: int, *, to_end: bool = False
) -> int:
    while column in carried or (to_end and any(c >= column for c in carried)):
        if column in carried:
            text, left = carried[column]
            cells.append(text)
            if left <= 1:
                del carried[column]
            else:
                carried[column] = (text, left - 1)
        elif to_end:
            cells.append("")
        column += 1
    return column


def _nearest_table(element: Any) -> Any:
    parent = element.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def _int(value: str | None) -> int:
    return int(value) if value and value.strip().isdigit() else 1


def _squash(text: str) -> str:
    """Collapse the whitespace HTML layout adds; keep one space between Latin words."""
    text = text.replace("\xa0", " ").replace("\u3000", " ")
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(
        r"(?<=[\u4e00-\u9fff，。；：、（）])\s+|\s+(?=[\u4e00-\u9fff，。；：、（）])", "", text
    )
