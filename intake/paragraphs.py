"""Prose lines → cleaned paragraphs with their structural role.

Markdown marks (#, **, <b>) are dropped; a paragraph that a page break split ("…以时" / "时放心
不下…") is joined again; each paragraph is classified as a section heading (一、 / 2、), a
subsection ((一)), a numbered item (1.), end matter (signature, date, 抄送, 附件), a title
heading, or plain text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

from intake.units import BREAK_MARK
from schedules.timeexpr import normalize_numerals

_CN_NUM = "一二三四五六七八九十"
SECTION_CN = re.compile(rf"^([{_CN_NUM}]{{1,3}})\s*[、.．]\s*(.+)$")
SECTION_AR = re.compile(r"^(\d{1,2})\s*、\s*(.+)$")
SUBSECTION = re.compile(rf"^[（(]\s*([{_CN_NUM}]{{1,3}})\s*[）)]\s*(.*)$")
ITEM = re.compile(r"^(\d{1,3})\s*[.．、](?!\d)\s*(.+)$")
_TERMINAL = "。！？；：）)!?;:"
_CIRCLE_ZERO = re.compile(r"[○◯](?=[○◯〇零一二三四五六七八九十]*年)")
_BULLET = re.compile(r"^[•·●▪◆■]\s*")
_MARKUP = re.compile(r"\*\*|__|</?b>|</?strong>|<br\s*/?>", re.IGNORECASE)
_END_MATTER = re.compile(
    r"^(?:附件|抄送|抄报|[（(]?信息公开|[（(]?此页无正文|共印|主题词|印发|联系人|\d{4}年\d{1,2}月\d{1,2}日(?:印发)?$)"
)
_ORG_LINE = re.compile(
    r"^[\u4e00-\u9fff（）()]{2,30}(?:委员会|人民政府|政府|安委会|办公室|领导小组)(?:文件)?$"
)
# "责任单位：…", "完成时限：…": a field of the item above, never the tail of a broken line.
_FIELD_LINE = re.compile(r"^[\u4e00-\u9fff]{2,6}[：:]")
_DATE_GAPS = re.compile(r"(?<=[\d年月])\s+(?=[\d年月日])")


@dataclass
class Paragraph:
    """A paragraph joined from one or more lines; ``kind`` is its structural role."""

    line: int
    text: str
    kind: str = "plain"
    number: str = ""
    rest: str = ""
    heading: bool = False
    fragments: list[tuple[int, str]] = field(default_factory=list)


def clean_line(raw: str) -> tuple[str, bool]:
    """Strip Markdown marks, list bullets and bare web addresses (page chrome of a copied page);
    return the text and whether the line was a Markdown heading."""
    text = raw.strip()
    heading = text.startswith("#")
    text = text.lstrip("#").strip()
    bold = text.startswith("**") and text.endswith("**") and len(text) > 4
    text = _BULLET.sub("", _MARKUP.sub("", text)).strip()
    text = _CIRCLE_ZERO.sub("〇", text)  # "二○○七年": a circle typed for the numeral zero
    text = _CONTINUED.sub("", text)  # "[接上页] (五) …": a page's continuation mark
    if re.fullmatch(r"-{3,}|\*{3,}|_{3,}|(?:https?://|www\.)\S+", text):
        return "", False
    # A bold line is a heading only when it is numbered like one; bold also marks the unit
    # parentheses that close an item, even when a page break put them on their own line.
    return text, heading or (bold and _is_short(text) and _is_heading_number(text))


_CONTINUED = re.compile(r"^[\[【〔（(]\s*(?:接上页|续上页|上接第?\S{0,3}页)\s*[\]】〕）)]\s*")


def _is_heading_number(text: str) -> bool:
    return bool(SECTION_CN.match(text) or SUBSECTION.match(text) or SECTION_AR.match(text))


def _is_short(text: str) -> bool:
    return len(text) <= 40 and "。" not in text.rstrip("。")


# "新乡市人民政府安全生产委员会办公室 2017年10月4日": the signature and its date on one line.
_SIGNED = re.compile(
    r"^[\u4e00-\u9fff（）()]{2,30}(?:委员会|人民政府|政府|安委会|办公室|领导小组|局|指挥部)"
    r"\s*\d{4}年\d{1,2}月\d{1,2}日$"
)


def is_end_matter(text: str) -> bool:
    """Signature, date, 抄送, 附件 and similar lines that close the body of a plan."""
    compact = _DATE_GAPS.sub("", normalize_numerals(text))  # "二〇〇七年四月十三日" too
    return bool(_END_MATTER.match(compact) or _ORG_LINE.match(compact) or _SIGNED.match(compact))


_PAGE_MARK = re.compile(r"^(\d{1,2})、")


def _mark_number(text: str) -> int:
    found = _PAGE_MARK.match(text)
    return int(found[1]) if found else 0


def _drop_page_markers(lines: list[tuple[int, str, bool]]) -> list[tuple[int, str, bool]]:
    """A document-sharing page numbers its chunks "1、…", "2、…", "3、…" wherever the chunk
    starts, mid-sentence ("…打牢公共消防安全" then "2、基础。…"): when every later number
    follows a line cut without its sentence's end, the numbers are page marks, not items."""
    texts = [(i, t) for i, (_, t, _) in enumerate(lines) if t]
    marks = [(k, i) for k, (i, t) in enumerate(texts) if _PAGE_MARK.match(t)]
    mark_no = {k: _mark_number(texts[k][1]) for k, _ in marks}
    run = [(k, i) for k, i in marks if mark_no[k] == 1][:1]
    for k, i in marks:
        if run and k > run[-1][0] and mark_no[k] == len(run) + 1:
            run.append((k, i))
    cut = all(not texts[k - 1][1].endswith(tuple(_TERMINAL + "”")) for k, _ in run[1:])
    if len(run) < 2 or not cut:
        return lines
    out = list(lines)
    for _, i in run:
        number, text, heading = out[i]
        out[i] = (number, _PAGE_MARK.sub("", text, count=1), heading)
    return out


def build_paragraphs(prose: list[tuple[int, str]]) -> list[Paragraph]:
    """Join page-break fragments into paragraphs and classify each one."""
    paragraphs: list[Paragraph] = []
    cleaned = _drop_page_markers([(number, *clean_line(raw)) for number, raw in prose])
    for number, text, heading in cleaned:
        if not text:
            continue
        last = paragraphs[-1] if paragraphs else None
        if last is not None and _continues(last, text, heading):
            last.text += BREAK_MARK + text
            last.fragments.append((number, text))
            continue
        paragraphs.append(Paragraph(line=number, text=text, heading=heading))
        paragraphs[-1].fragments.append((number, text))
    paragraphs = [part for p in paragraphs for part in split_running_numbers(p)]
    for paragraph in paragraphs:
        classify(paragraph)
    return paragraphs


# Numbering that runs on inside one line, as copies of a page put it ("…有效遏制。二、工作任务…",
# "…四项责任1 落实政府领导责任。各地政府要…。2 落实部门监管责任。…").
_RUNNING_CN = re.compile(rf"(?<=[。；;！？”])\s*([{_CN_NUM}]{{1,3}})\s*、")
_RUNNING_PAREN = re.compile(rf"(?<=[。；;！？”])\s*[（(]([{_CN_NUM}]{{1,3}})[）)]")
_RUNNING_AR = re.compile(
    r"(?<![\d.．年月日第号（(])(\d{1,2})(?:\s*[、.．](?!\d)|\s+)(?=[\u4e00-\u9fff])"
)


def split_running_numbers(p: Paragraph) -> list[Paragraph]:
    """A paragraph holding a run of numbered parts (1, 2, 3 … or 一、二、三、… in order, the
    later ones after a sentence's end) split into one paragraph per part; any other paragraph
    as it is."""
    text = p.text
    cuts = _sequence(text, _RUNNING_CN, _cn_number) or _paren_cuts(text)
    cuts = cuts or _sequence(text, _RUNNING_AR, int)
    if not cuts:
        return [p]
    parts: list[Paragraph] = []
    bounds = [0, *[start for start, _ in cuts], len(text)]
    numbers = ["", *[number for _, number in cuts]]
    for (begin, end), number in zip(pairwise(bounds), numbers, strict=True):
        piece = text[begin:end].strip()
        if not piece:
            continue
        if number.isdigit():  # "1 落实…" → "1. 落实…", the item shape the reader knows
            piece = re.sub(r"^(\d{1,2})(?:\s*[、.．]|\s+)\s*", r"\1. ", piece)
        parts.append(Paragraph(line=p.line, text=piece, heading=False, fragments=p.fragments))
    return parts


def _paren_cuts(text: str) -> list[tuple[int, str]]:
    """Subsections (一)(二)… running inside a line ("…及时报送。 四、时间安排 (一)动员部署阶段
    …工作。 (二)…"); a section heading just before the first one ("四、时间安排") is cut too."""
    loose = re.compile(rf"[（(]([{_CN_NUM}]{{1,3}})[）)]")
    first = next((m for m in loose.finditer(text) if _cn_number(m.group(1)) == 1), None)
    if first is None:
        return []
    later = [(m.start(), m.group(1)) for m in _RUNNING_PAREN.finditer(text, first.end())]
    run = [(first.start(), first.group(1))]
    for start, number in later:
        if _cn_number(number) == len(run) + 1:
            run.append((start, number))
    if len(run) < 2:
        return []
    before = text[: first.start()]
    section = list(re.finditer(rf"(?<=[。；;！？”])\s*([{_CN_NUM}]{{1,3}})\s*、", before))
    if section and first.start() - section[-1].end() <= 15:
        run.insert(0, (section[-1].start(1), section[-1].group(1)))
    return [cut for cut in run if cut[0] > 0]


def _cn_number(numeral: str) -> int:
    return _CN_NUM.index(numeral) + 1 if len(numeral) == 1 else 0


def _sequence(
    text: str, pattern: re.Pattern[str], value: Callable[[str], int]
) -> list[tuple[int, str]]:
    """Where a run 1, 2, 3 … (at least two, the later ones after a sentence's end) starts
    inside ``text`` (not at its start), each with its number; [] when there is none."""
    found = [(m.start(1), m.group(1), value(m.group(1))) for m in pattern.finditer(text)]
    best: list[tuple[int, str]] = []
    for i, (start, number, n) in enumerate(found):
        run = [(start, number)]
        want = n + 1
        for later_start, later_number, later in found[i + 1 :]:
            if later == want and text[:later_start].rstrip()[-1:] in "。；;！？”":
                run.append((later_start, later_number))
                want += 1
        if len(run) >= 2 and n in (1, 2) and len(run) > len(best):
            best = run
    if best and best[0][0] == 0:
        best = best[1:]  # the paragraph starts with the first number: cut before the others
    return best if len(best) >= 1 and any(start > 0 for start, _ in best) else []


def _continues(last: Paragraph, text: str, heading: bool) -> bool:
    if heading or last.heading or last.text.endswith(tuple(_TERMINAL)):
        return False
    if _is_structural(text) or is_end_matter(text) or is_end_matter(last.text):
        return False
    return not (_is_structural(last.text) and _is_short(last.text))


def _is_structural(text: str) -> bool:
    patterns = (SECTION_CN, SECTION_AR, SUBSECTION, ITEM, _FIELD_LINE)
    return any(p.match(text) for p in patterns)


def classify(p: Paragraph) -> None:
    """Set ``kind`` (section/section_ar/subsection/item/end/title/plain), number and rest."""
    text = p.text  # keep the break marks: unit names at the end still need them
    for kind, pattern in (
        ("section", SECTION_CN),
        ("subsection", SUBSECTION),
        ("section_ar", SECTION_AR),
        ("item", ITEM),
    ):
        match = pattern.match(text)
        if match:
            p.kind, p.number, p.rest = kind, match.group(1), match.group(2)
            if kind == "section" and not _is_short(p.rest) and not p.heading:
                p.kind = "plain"
            return
    if is_end_matter(text.replace(BREAK_MARK, "")):
        p.kind = "end"
    elif p.heading:
        p.kind = "title"


def split_title(text: str) -> tuple[str, str]:
    """Split "标题。正文…" into (title, body); a long first sentence is shortened for the title."""
    clean = text.replace(BREAK_MARK, "")
    head, sep, _ = clean.partition("。")
    if sep and len(head) <= 40:
        return head.strip(), text
    if not sep and _is_short(clean):
        return clean.strip(), text
    first = re.split(r"[，,；;。]", clean, maxsplit=1)[0]
    short = first if len(first) <= 30 else first[:29] + "…"
    return short.strip(), text


def is_heading_like(p: Paragraph) -> bool:
    """True for short, sentence-free paragraphs such as "2、 适应改革发展要求，提升安全监管能力"."""
    return p.heading or _is_short(p.text.replace(BREAK_MARK, ""))
