"""Plan metadata: title, issuer, document number, issue date, plan year and period.

The title is the line that names the plan (意见/方案/要点/计划/清单), preferring the plan's own
heading over the covering notice ("关于印发《…》的通知"). The issuer is the signature above the
issue date, else the letterhead, else the plan's place + 安委会. "上海市普陀区安全生产委员会"
is shortened to "普陀区安全生产委员会": the city is implied by the district, the district by
the town.
"""

from __future__ import annotations

import re
from datetime import date

from intake.model import PlanMeta
from intake.paragraphs import clean_line
from schedules.timeexpr import PlanContext, normalize_numerals

_PLAN_WORDS = re.compile(r"意见|方案|要点|计划|清单|安排|任务|通知")
_DOC_NO = re.compile(
    r"[\u4e00-\u9fff]{1,12}\s*[〔\[［【（(]\s*(\d{4})\s*[〕\]］】）)]\s*\d{1,4}\s*号"
)
_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日(印发)?$")
_ORG = re.compile(
    r"^[\u4e00-\u9fff]{2,30}(?:委员会|人民政府|政府|安委会|办公室|领导小组)(?:文件)?$"
)
_RANGE = re.compile(r"(\d{4})\s*年?\s*[—\-–~～至到]+\s*(\d{4})")
_YEAR = re.compile(r"(\d{4})\s*年")
_FULL_DATE = re.compile(r"((?:19|20)\d{2})(?:年\d{1,2}月\d{1,2}日|-\d{1,2}-\d{1,2})")
_PLACE = re.compile(r"^(?:上海市)?([\u4e00-\u9fff]{1,6}?(?:新区|区|县|镇|街道|乡))")
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff\d《》（）()])\s+(?=[\u4e00-\u9fff\d《》（）()])")
_NUMBERED = re.compile(
    r"^(?:[一二三四五六七八九十]+\s*[、.．]|[（(][一二三四五六七八九十\d]+[）)]|\d+\s*[、.．])"
)
_HEAD_LINES = 40


def extract_meta(lines: list[str], *, name: str = "") -> PlanMeta:
    """Read the plan's metadata from its lines (and its file name, for the year)."""
    texts = [_compact(clean_line(line)[0]) for line in lines]
    meta = PlanMeta()
    meta.title = _find_title(texts[:_HEAD_LINES])
    doc_no = next((m for m in map(_DOC_NO.search, texts[:_HEAD_LINES]) if m), None)
    meta.doc_no = re.sub(r"\s+", "", doc_no.group(0)) if doc_no else ""
    meta.issued_on, signature = _find_issue_date(texts)
    meta.issuer = _shorten(signature or _letterhead(texts[:_HEAD_LINES]) or _derived(meta.title))
    meta.year, meta.until_year = _find_years(meta, doc_no, name)
    if meta.year is None:
        found = _body_year(texts)
        if found is not None:
            meta.year = meta.until_year = found[0]
            meta.year_basis, meta.year_line, meta.year_text = "body", found[1] + 1, texts[found[1]]
    return meta


def _compact(text: str) -> str:
    return _CJK_GAP.sub("", normalize_numerals(text)).strip()


def _find_title(texts: list[str]) -> str:
    candidates = [t for t in texts if _is_title(t)]
    own = [t for t in candidates if "通知" not in t]
    if own:
        return re.split(r"关于(?:印发)?", own[0], maxsplit=1)[-1]
    if not candidates:
        return ""
    quoted = re.search(r"《(.+?)》", candidates[0])
    if quoted:
        return quoted.group(1)
    after = re.split(r"关于(?:印发)?", candidates[0], maxsplit=1)[-1]
    return re.sub(r"的通知$", "", after)


def _is_title(text: str) -> bool:
    if not 6 <= len(text) <= 80 or text.endswith(("。", "：", ":", "；", "，", ",")):
        return False
    if text.startswith(("附件", "现将", "按照", "根据")) or _NUMBERED.match(text):
        return False  # a section heading such as "二、工作安排" is not the plan's title
    return bool(_PLAN_WORDS.search(text))


def _find_issue_date(texts: list[str]) -> tuple[date | None, str]:
    """The signature date (a date alone on its line) and the organisation signed above it."""
    printed: date | None = None
    for i, text in enumerate(texts):
        match = _DATE.match(text)
        if not match:
            continue
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
        if match[4]:
            printed = printed or day
            continue
        above = next((t for t in reversed(texts[max(0, i - 3) : i]) if t), "")
        return day, above if _ORG.match(above) else ""
    return printed, ""


def _letterhead(texts: list[str]) -> str:
    for text in texts:
        if _ORG.match(text):
            return text
    return ""


def _derived(title: str) -> str:
    place = _PLACE.match(title)
    return place.group(1) + "安委会" if place else ""


def _shorten(issuer: str) -> str:
    issuer = re.sub(r"文件$", "", issuer)
    issuer = re.sub(r"^上海市(?=[\u4e00-\u9fff]{1,4}(?:新区|区|县))", "", issuer)
    return re.sub(
        r"^[\u4e00-\u9fff]{1,4}?(?:新区|区|县)(?=[\u4e00-\u9fff]{1,4}?(?:镇|街道|乡))", "", issuer
    )


def _find_years(
    meta: PlanMeta, doc_no: re.Match[str] | None, name: str
) -> tuple[int | None, int | None]:
    span = _RANGE.search(meta.title)
    if span and int(span[1]) < int(span[2]):
        return int(span[1]), int(span[2])
    for source in (meta.title, name):
        year = _YEAR.search(source) or re.search(r"(20\d{2})", source)
        if year:
            return int(year[1]), int(year[1])
    fallback = meta.issued_on.year if meta.issued_on else int(doc_no[1]) if doc_no else None
    return fallback, fallback


def _body_year(texts: list[str]) -> tuple[int, int] | None:
    """(year, index of its line) of the first full date in the text ("2023年09月15日",
    "2023-09-15"), else of the first year it names ("2016年底前", "完成2009年…总结"): what a
    reader takes when the title and signature give none."""
    for pattern in (_FULL_DATE, _YEAR):
        for index, text in enumerate(texts):
            found = pattern.search(text)
            if found and 1950 <= int(found[1]) <= 2100:
                return int(found[1]), index
    return None


def plan_context(meta: PlanMeta) -> PlanContext:
    """The context time phrases are read in: plan year, start of recurrences, period end.

    Recurrences start on the issue date when the plan is issued during its first year,
    otherwise on 1 January of that year.
    """
    assert meta.year is not None
    start = date(meta.year, 1, 1)
    if meta.issued_on is not None and meta.issued_on.year == meta.year:
        start = meta.issued_on
    until_year = meta.until_year or meta.year
    return PlanContext(year=meta.year, start=start, until=date(until_year, 12, 31))
