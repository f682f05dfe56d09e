"""Chinese time expressions in plan documents → due dates and recurrences (pure, no I/O).

A phrase is read in the context of its plan (:class:`PlanContext`): the plan year, the day
recurrences start from, and the end of the plan's period. Deadlines that name a month mean the
end of that month ("3月" → 3-31, "4月中旬" → 4-20); recurrences ("每月26日前", "每季度")
become RRULE strings anchored on their first occurrence and running to the period's end.

Chinese numerals are normalised first (:func:`normalize_numerals`), only where they count
years, months or days, so that words such as "一岗双责" keep their meaning.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from dateutil.rrule import rrulebase, rrulestr

_CN_DIGIT = {ch: i for i, ch in enumerate("〇一二三四五六七八九")} | {"零": 0, "两": 2}
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_PART_DAY = {"上旬": 10, "初": 10, "中旬": 20, "中": 15, "下旬": -1, "底": -1, "末": -1}
_OPEN_ENDED = re.compile(r"长期|持续|常态|经常|全年|按需|适时|定期|不定期|随时|视情")

_CN_YEAR = re.compile(r"[〇零一二三四五六七八九]{4}(?=\s*年)")
_CN_MONTH = re.compile(r"(?<![〇零一二三四五六七八九十第])([一二三四五六七八九十]{1,3})(?=\s*月)")
_CN_DAY = re.compile(r"(?<=月)\s*([一二三四五六七八九十]{1,3})(?=\s*[日号])")
_SPACES = re.compile(r"(?<=[\d年月日])[ \t\u3000]+(?=[\d年月日号底前内上中下初份季-])")

_END = r"(?:前|之前|以前)?"
# Every alternative starts with one of these characters: checking it first lets the scan skip
# the other positions without trying each alternative (the seeds import about twice as fast).
_PATTERN = re.compile(
    r"(?=[\d每第一二三四上下今本当年季月])(?:"
    + "|".join(
        [
            rf"(?P<mday>每个?月(?P<mday_d>\d{{1,2}})[日号]{_END})",
            r"(?P<mweek>每个?月第(?P<mweek_n>[1-4一二三四])个?(?:周|星期))",
            r"(?P<mpart>每个?月(?P<mpart_p>上旬|中旬|下旬|底|末))",
            r"(?P<month>每个?月)",
            rf"(?P<ym>每年(?P<ym_m>\d{{1,2}})月(?:(?P<ym_d>\d{{1,2}})[日号]|(?P<ym_p>上旬|中旬|下旬|底|末))?{_END})",
            r"(?P<half>每半年)",
            rf"(?P<qday>每个?季度?(?:最后一个月|末月)的?(?P<qd_d>\d{{1,2}})[日号]{_END})",
            r"(?P<quarter>每个?季度?)",
            # "季度进展通报", "月度调度会商": a recurring report named by its period
            r"(?P<qnoun>(?<![第一二三四\d每本上下])季度(?=(?:进展|进度|工作|形象进度)?(?:通报|报告|调度|总结|汇报|分析|会商)))",
            r"(?P<mnoun>(?<![每本上下])月度(?=(?:进展|进度|工作)?(?:通报|报告|调度|总结|汇报|分析|会商)))",
            r"(?P<year>每一?年度?)",
            r"(?P<week>每一?(?:周|星期))",
            r"(?P<day>每一?[日天])",
            r"(?P<range>(?P<r1>\d{4})年?\s*[-—–~～至到]+\s*(?P<r2>\d{4})年(?:底|末)?(?:前)?)",
            r"(?P<mrange>(?:(?P<mr_y>\d{4})年)?(?<!\d)\d{1,2}月?\s*[-—–~～至到]+\s*(?P<mr_m>\d{1,2})月(?:底|末)?(?:前)?)",
            rf"(?P<drange>(?:(?P<dr_y>\d{{4}})年)?(?P<dr_m1>\d{{1,2}})月(?P<dr_d1>\d{{1,2}})[日号]?\s*"
            rf"(?:[-—–~～至到]+)\s*(?:(?P<dr_m2>\d{{1,2}})月)?(?P<dr_d2>\d{{1,2}})[日号]{_END})",
            rf"(?P<date>(?:(?P<d_y>\d{{4}})年)?(?P<d_m>\d{{1,2}})月(?P<d_d>\d{{1,2}})[日号]{_END})",
            rf"(?P<mon>(?:(?P<m_y>\d{{4}})年)?(?<!\d)(?P<m_m>\d{{1,2}})月份?(?P<m_p>上旬|中旬|下旬|底|末|初|中(?!心))?{_END})",
            r"(?P<hy>(?:(?P<h_y>\d{4})年)?(?P<h_p>上|下)半年(?:前|之前|内|底|末)?)",
            rf"(?P<q>(?:(?P<q_y>\d{{4}})年)?第?(?P<q_n>[1-4一二三四])季度(?:末|底)?{_END})",
            rf"(?P<yend>(?P<ye_y>\d{{4}})年(?:底|末|内|年底){_END})",
            r"(?P<bare>(?P<b_y>\d{4})年(?!度|以前|及以前|以来|之前|前|以后|起|至|-|—))",
            rf"(?P<ye>(?<![\d〇零一二三四五六七八九十两几个])(?:今年|本年度?|当年)?(?:年底|年末|年内){_END})",
        ]
    )
    + ")"
)


@dataclass(frozen=True)
class PlanContext:
    """What a phrase is read against: the plan year, recurrences' start, the period's end."""

    year: int
    start: date
    until: date


@dataclass(frozen=True)
class MilestoneSpec:
    """One deadline (``due``) or one recurrence (``rrule`` from ``dtstart`` to ``until``)."""

    source_text: str
    due: date | None = None
    rrule: str | None = None
    dtstart: date | None = None
    until: date | None = None
    is_default: bool = False
    start: int = -1
    end: int = -1


class TimeExprError(ValueError):
    """An impossible date (2月30日, 13月); ``source_text`` is the offending phrase."""

    def __init__(self, message: str, *, source_text: str) -> None:
        super().__init__(message)
        self.source_text = source_text


def convert_cn_number(text: str) -> int:
    """Return the value of a small Chinese numeral: "二十六" → 26, "二〇二四" → 2024."""
    if "十" not in text:
        return int("".join(str(_CN_DIGIT[ch]) for ch in text))
    tens, _, units = text.partition("十")
    return (_CN_DIGIT[tens] if tens else 1) * 10 + (_CN_DIGIT[units] if units else 0)


def normalize_numerals(text: str) -> str:
    """Turn Chinese and full-width numerals that count years, months or days into digits."""
    text = text.translate(_FULLWIDTH)
    text = _CN_YEAR.sub(lambda m: str(convert_cn_number(m.group(0))), text)
    text = _CN_MONTH.sub(lambda m: _numeral_in_range(m.group(1), 12), text)
    text = _CN_DAY.sub(lambda m: _numeral_in_range(m.group(1), 31), text)
    return _SPACES.sub("", text)


def _numeral_in_range(numeral: str, highest: int) -> str:
    try:
        value = convert_cn_number(numeral)
    except KeyError:
        return numeral
    return str(value) if 1 <= value <= highest else numeral


# Times relative to an event whose date the plan does not give: the office fixes the date.
_EVENT_RELATIVE = re.compile(
    r"(?:春季|秋季)?开学(?:初|前|后第[一1][天周]|第[一1][天周]|之际)|(?:入|主)?汛(?:期)?(?:前|之前|到来前|来临前)"
    r"|(?:春节|元旦|国庆|中秋|端午|清明|五一|节日?)(?:前|之前|前后|期间|假期)"
    r"|(?:两会|会议|考试|假期|寒假|暑假|放假)(?:前|之前|期间)"
)


def find_event_phrase(text: str) -> str:
    """The first time in ``text`` that hangs on an event ("开学初", "汛期前", "节前"), or ""."""
    match = _EVENT_RELATIVE.search(normalize_numerals(text))
    return match.group(0) if match else ""


def is_open_ended(phrase: str) -> bool:
    """True for phrases that deliberately name no date ("长期坚持", "持续推进")."""
    return bool(_OPEN_ENDED.search(phrase))


def default_milestone(ctx: PlanContext) -> MilestoneSpec:
    """The deadline of a task that names no time: the end of the plan year, marked defaulted."""
    return MilestoneSpec(source_text="", due=date(ctx.year, 12, 31), is_default=True)


def parse_time_phrase(phrase: str, ctx: PlanContext) -> list[MilestoneSpec]:
    """Read a time cell or phrase ("3月底前", "每月26日前", "长期坚持") into milestone specs.

    Returns [] when the phrase names no date; raises :class:`TimeExprError` for an
    impossible date.
    """
    return find_time_expressions(phrase, ctx)


def find_time_expressions(text: str, ctx: PlanContext) -> list[MilestoneSpec]:
    """Find every deadline and recurrence in a piece of prose, in order, without duplicates.

    A month without a year takes the last year named before it in the same text, else the
    plan year. Bare years outside the plan's period ("2023年及以前") are not deadlines.
    """
    norm = normalize_numerals(text)
    found: list[MilestoneSpec] = []
    year = ctx.year
    for match in _PATTERN.finditer(norm):
        year = _explicit_year(match) or year
        here = replace(ctx, year=year)
        spec = _daily_period(match, here, norm) or _read_match(match, here)
        if spec is not None and not _is_duplicate(spec, found):
            found.append(replace(spec, start=match.start(), end=match.end()))
    return found


def _explicit_year(match: re.Match[str]) -> int | None:
    for group in ("mr_y", "dr_y", "d_y", "m_y", "h_y", "q_y", "ye_y", "b_y", "r2"):
        value = match.group(group)
        if value:
            return int(value)
    return None


def _is_duplicate(spec: MilestoneSpec, found: list[MilestoneSpec]) -> bool:
    return any(spec.due == f.due and spec.rrule == f.rrule for f in found)


# "从9月10日至10月15日实行…“零报告”制度": a report every day of the period.
_DAILY_AFTER = re.compile(r"^[^。；;！？]{0,30}?(?:零报告|日报告|日报制|每日报|每天报)")


def _daily_period(match: re.Match[str], ctx: PlanContext, norm: str) -> MilestoneSpec | None:
    """A day range followed by a daily report is a daily recurrence over the range."""
    if match.lastgroup != "drange" or not _DAILY_AFTER.match(norm[match.end() :]):
        return None
    first = _day_in_month(ctx.year, int(match["dr_m1"]), int(match["dr_d1"]), match.group(0))
    last = _drange_end(match, ctx)
    if last < first:
        return None
    return MilestoneSpec(source_text=match.group(0), rrule="FREQ=DAILY", dtstart=first, until=last)


def _drange_end(m: re.Match[str], ctx: PlanContext) -> date:
    """The last day of "6月1日至6月7日" / "6月2日至30日" / "12月20日至1月5日" (next year)."""
    first_month = int(m["dr_m1"])
    month = int(m["dr_m2"]) if m["dr_m2"] else first_month
    year = ctx.year + 1 if month < first_month else ctx.year
    return _day_in_month(year, month, int(m["dr_d2"]), m.group(0))


def _read_match(match: re.Match[str], ctx: PlanContext) -> MilestoneSpec | None:
    kind = match.lastgroup or ""
    src = match.group(0)
    if kind in _RECURRENCES:
        return _recurrence(_RECURRENCES[kind](match), src, ctx)
    due = _ONE_OFF[kind](match, ctx)
    if due is None:
        return None
    return MilestoneSpec(source_text=src, due=due)


def _in_period(year: int, ctx: PlanContext) -> bool:
    return ctx.start.year <= year <= ctx.until.year or year == ctx.year


def _day_in_month(year: int, month: int, day: int, src: str) -> date:
    if not 1 <= month <= 12:
        raise TimeExprError(f"不存在的月份：{src}", source_text=src)
    last = calendar.monthrange(year, month)[1]
    if day == -1:
        return date(year, month, last)
    if not 1 <= day <= last:
        raise TimeExprError(
            f"不存在的日期：{src}（{year}年{month}月只有{last}天）", source_text=src
        )
    return date(year, month, day)


def _due_date(m: re.Match[str], ctx: PlanContext) -> date:
    return _day_in_month(ctx.year, int(m["d_m"]), int(m["d_d"]), m.group(0))


def _due_month(m: re.Match[str], ctx: PlanContext) -> date:
    day = _PART_DAY[m["m_p"]] if m["m_p"] else -1
    return _day_in_month(ctx.year, int(m["m_m"]), day, m.group(0))


def _due_quarter(m: re.Match[str], ctx: PlanContext) -> date:
    n = m["q_n"]
    quarter = int(n) if n.isdigit() else _CN_DIGIT[n]
    return _day_in_month(ctx.year, quarter * 3, -1, m.group(0))


def _due_year_end(m: re.Match[str], ctx: PlanContext) -> date | None:
    return date(ctx.year, 12, 31) if _in_period(ctx.year, ctx) else None


def _due_bare_year(m: re.Match[str], ctx: PlanContext) -> date | None:
    """Read "2025年全镇…" in a multi-year plan as the end of 2025.

    In a one-year plan the plan year only names the plan's own period, which the default
    deadline already covers, so it is not a deadline of its own.
    """
    if ctx.start.year == ctx.until.year:
        return None
    return _due_year_end(m, ctx)


def _due_range(m: re.Match[str], ctx: PlanContext) -> date | None:
    first, last = int(m["r1"]), int(m["r2"])
    if last < first or not _in_period(last, ctx):
        return None
    return date(last, 12, 31)


_ONE_OFF: dict[str, Callable[[re.Match[str], PlanContext], date | None]] = {
    "range": _due_range,
    "mrange": lambda m, ctx: _day_in_month(ctx.year, int(m["mr_m"]), -1, m.group(0)),
    "drange": _drange_end,
    "date": _due_date,
    "mon": _due_month,
    "hy": lambda m, ctx: date(ctx.year, 6, 30) if m["h_p"] == "上" else date(ctx.year, 12, 31),
    "q": _due_quarter,
    "yend": _due_year_end,
    "bare": _due_bare_year,
    "ye": _due_year_end,
}


def _quarter_day(m: re.Match[str]) -> int:
    day = int(m["qd_d"])
    if not 1 <= day <= 31:
        raise TimeExprError(f"不存在的日期：{m.group(0)}", source_text=m.group(0))
    return day


def _rule_month_day(m: re.Match[str]) -> tuple[str, str]:
    day = int(m["mday_d"])
    if not 1 <= day <= 31:
        raise TimeExprError(f"不存在的日期：{m.group(0)}", source_text=m.group(0))
    return f"FREQ=MONTHLY;BYMONTHDAY={day}", ""


def _rule_month_week(m: re.Match[str]) -> tuple[str, str]:
    n = m["mweek_n"]
    week = int(n) if n.isdigit() else _CN_DIGIT[n]
    return f"FREQ=MONTHLY;BYMONTHDAY={week * 7}", ""


def _rule_month_part(m: re.Match[str]) -> tuple[str, str]:
    return f"FREQ=MONTHLY;BYMONTHDAY={_PART_DAY[m['mpart_p']]}", ""


def _rule_year_month(m: re.Match[str]) -> tuple[str, str]:
    month = int(m["ym_m"])
    day = int(m["ym_d"]) if m["ym_d"] else _PART_DAY[m["ym_p"]] if m["ym_p"] else -1
    _day_in_month(2024, month, day, m.group(0))  # leap year: 2月29日 is possible yearly
    return f"FREQ=YEARLY;BYMONTH={month};BYMONTHDAY={day}", ""


# Each entry gives the rule and, where the interval needs anchoring, the rule whose first
# occurrence is the anchor (a quarter's or half-year's last day).
_RuleReader = Callable[[re.Match[str]], tuple[str, str]]
_RECURRENCES: dict[str, _RuleReader] = {
    "mday": _rule_month_day,
    "mweek": _rule_month_week,
    "mpart": _rule_month_part,
    "month": lambda m: ("FREQ=MONTHLY;BYMONTHDAY=-1", ""),
    "ym": _rule_year_month,
    "half": lambda m: ("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=-1", "BYMONTH=6,12"),
    "qday": lambda m: (f"FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY={_quarter_day(m)}", "BYMONTH=3,6,9,12"),
    "quarter": lambda m: ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1", "BYMONTH=3,6,9,12"),
    "qnoun": lambda m: ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1", "BYMONTH=3,6,9,12"),
    "mnoun": lambda m: ("FREQ=MONTHLY;BYMONTHDAY=-1", ""),
    "year": lambda m: ("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31", ""),
    "week": lambda m: ("FREQ=WEEKLY;BYDAY=FR", ""),
    "day": lambda m: ("FREQ=DAILY", ""),
}


def _recurrence(rule: tuple[str, str], src: str, ctx: PlanContext) -> MilestoneSpec | None:
    text, anchor = rule
    probe = text.replace("INTERVAL=3;", "").replace("INTERVAL=6;", "")
    if anchor:
        probe = f"{probe};{anchor}"
    first = first_occurrence(probe, ctx.start)
    if first is None or first > ctx.until:
        return None
    return MilestoneSpec(source_text=src, rrule=text, dtstart=first, until=ctx.until)


def first_occurrence(rule: str, start: date) -> date | None:
    """Return the first day on or after ``start`` that ``rule`` (an RRULE body) produces."""
    begin = datetime(start.year, start.month, start.day)  # noqa: DTZ001 - dates, no instant
    parsed: rrulebase = rrulestr(rule, dtstart=begin)
    hit = parsed.after(begin, inc=True)
    return hit.date() if hit is not None else None
