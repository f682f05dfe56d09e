"""The review sheet's cell formats (pure): milestones one per line, units joined with 、.

A one-off deadline reads ``2024-04-30（4月）`` (the plan's own words in brackets), a
defaulted one ``2024-12-31（默认）`` (or ``（默认：…）`` with the words it stands for), a recurrence
``每月26日 FREQ=MONTHLY;BYMONTHDAY=26 2024-05-01~2026-12-31（每月26日前）``: the first word is
for people, the RRULE and the dates are what is read back. A milestone whose own clause names its
units ends with them: ``2024-04-20（4月中旬）【镇安委会有关成员单位】``, with support units after
``配合：`` (``【区应急局；配合：各街镇】``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from dateutil.rrule import rrulestr

from intake.model import ParsedMilestone
from schedules.recurrence import normalise_rule
from schedules.timeexpr import PlanContext, TimeExprError, is_open_ended, parse_time_phrase

DEFAULT_MARK = "默认"
_DATE = r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
_SOURCE = r"(?:\s*[（(](?P<src>.*)[）)])?(?:\s*【(?P<units>[^【】]*)】)?"
_ONE_OFF = re.compile(rf"^(?P<due>{_DATE}){_SOURCE}$")
_RECURRING = re.compile(
    rf"^(?P<desc>.*?)\s*(?P<rule>FREQ=[A-Za-z0-9=;,+-]+)\s+(?P<start>{_DATE})\s*[~～至到]\s*"
    rf"(?P<until>{_DATE}){_SOURCE}$"
)
_SUPPORT_MARK = "配合："
_UNIT_SEPARATORS = re.compile(r"[、，,；;\n]+")
_WEEKDAYS = {"MO": "一", "TU": "二", "WE": "三", "TH": "四", "FR": "五", "SA": "六", "SU": "日"}


class CellError(ValueError):
    """A cell the review reader cannot understand; the message says why, in Chinese."""


def describe_rrule(rule: str) -> str:
    """A short Chinese name for an RRULE: "FREQ=MONTHLY;BYMONTHDAY=26" → "每月26日"."""
    parts = dict(p.split("=", 1) for p in rule.split(";") if "=" in p)
    day = parts.get("BYMONTHDAY", "")
    day_text = "底" if day == "-1" else f"{day}日"
    freq, interval = parts.get("FREQ", ""), parts.get("INTERVAL", "1")
    if freq == "MONTHLY" and interval == "3":
        return "每季度末"
    if freq == "MONTHLY" and interval == "6":
        return "每半年末"
    if freq == "MONTHLY" and day:
        return f"每月{'月' if day == '-1' else ''}{day_text}"
    if freq == "YEARLY" and "BYMONTH" in parts:
        return f"每年{parts['BYMONTH']}月{day_text if day else ''}"
    if freq == "WEEKLY":
        return "每周" + "、".join(_WEEKDAYS.get(d, d) for d in parts.get("BYDAY", "").split(","))
    return {"DAILY": "每天", "MONTHLY": "每月", "YEARLY": "每年"}.get(freq, "周期")


def format_milestone(m: ParsedMilestone) -> str:
    """One milestone as one line of the 里程碑 cell."""
    source = m.source_text
    if m.due_is_default:
        source = f"{DEFAULT_MARK}：{source}" if source else DEFAULT_MARK
    tail = (f"（{source}）" if source else "") + format_milestone_units(m)
    if m.rrule:
        start = m.dtstart.isoformat() if m.dtstart else ""
        until = m.until.isoformat() if m.until else ""
        return f"{describe_rrule(m.rrule)} {m.rrule} {start}~{until}{tail}"
    return f"{m.due.isoformat() if m.due else ''}{tail}"


def format_milestone_units(m: ParsedMilestone) -> str:
    """``【lead；配合：support】`` when the milestone's own clause names units, else ""."""
    parts = [join_units(m.lead_units)] if m.lead_units else []
    if m.support_units:
        parts.append(_SUPPORT_MARK + join_units(m.support_units))
    return f"【{'；'.join(parts)}】" if parts else ""


def read_milestone_units(text: str | None) -> tuple[list[str], list[str]]:
    """The (lead, support) of a ``【…】`` tail (without the brackets)."""
    lead: list[str] = []
    support: list[str] = []
    for part in re.split(r"[；;]", text or ""):
        part = part.strip()
        if part.startswith((_SUPPORT_MARK, "配合:")):
            support += split_units(part[3:])
        elif part:
            lead += split_units(part)
    return lead, support


def format_milestones(milestones: list[ParsedMilestone]) -> str:
    """The 里程碑 cell: one milestone per line."""
    return "\n".join(format_milestone(m) for m in milestones)


def format_time_text(milestones: list[ParsedMilestone]) -> str:
    """The 时间节点 cell: the plan's own time words, each once, joined with ；."""
    words: list[str] = []
    for m in milestones:
        if m.source_text and not m.due_is_default and m.source_text not in words:
            words.append(m.source_text)
    return "；".join(words)


def join_units(names: list[str]) -> str:
    """Unit names as one cell, joined with 、."""
    return "、".join(names)


def split_units(cell: str) -> list[str]:
    """Unit names from a cell (、，；, or one per line), each once, in order."""
    names: list[str] = []
    for name in _UNIT_SEPARATORS.split(cell):
        name = name.strip()
        if name and name not in names:
            names.append(name)
    return names


def parse_milestone_line(line: str, *, ctx: PlanContext, label: str) -> list[ParsedMilestone]:
    """Read one line of the 里程碑 cell; a plain time phrase ("5月底前") is read as the plan would.

    Raises :class:`CellError` when the line is neither form.
    """
    text = line.strip()
    one_off = _ONE_OFF.match(text)
    if one_off:
        source = (one_off["src"] or "").strip()
        is_default = source.startswith(DEFAULT_MARK)
        if is_default:
            source = source[len(DEFAULT_MARK) :].lstrip("：: ")
        due = read_date(one_off["due"])
        lead, support = read_milestone_units(one_off["units"])
        return [
            ParsedMilestone(
                label=label,
                source_text=source,
                due=due,
                due_is_default=is_default,
                lead_units=lead,
                support_units=support,
            )
        ]
    recurring = _RECURRING.match(text)
    if recurring:
        return [_read_recurring(recurring, label)]
    return parse_time_cell(text, ctx=ctx, label=label, empty_is_default=False)


def _read_recurring(match: re.Match[str], label: str) -> ParsedMilestone:
    rule, start, until = match["rule"], read_date(match["start"]), read_date(match["until"])
    try:
        # The check activation makes (FREQ among YEARLY…DAILY, no DTSTART, valid days): a rule
        # it would refuse (FREQ=SECONDLY) is refused here, naming the cell, not weeks later.
        normalised, _ = normalise_rule(rule, start)
        rrulestr(normalised, dtstart=datetime(start.year, start.month, start.day))  # noqa: DTZ001
    except ValueError as exc:  # RecurrenceError is one
        raise CellError(f"无法识别的重复规则 {rule}（{exc}）") from exc
    if until < start:
        raise CellError(f"重复的结束日期 {until} 早于开始日期 {start}")
    lead, support = read_milestone_units(match["units"])
    return ParsedMilestone(
        label=label,
        source_text=(match["src"] or "").strip(),
        rrule=rule,
        dtstart=start,
        until=until,
        lead_units=lead,
        support_units=support,
    )


def parse_time_cell(
    text: str, *, ctx: PlanContext, label: str, empty_is_default: bool = True
) -> list[ParsedMilestone]:
    """Read a time phrase ("3月底前；每月26日前") as the importer would; raises :class:`CellError`."""
    text = text.strip()
    try:
        specs = parse_time_phrase(text, ctx) if text else []
    except TimeExprError as exc:
        raise CellError(str(exc)) from exc
    if specs:
        return [
            ParsedMilestone(
                label=label,
                source_text=s.source_text,
                due=s.due,
                rrule=s.rrule,
                dtstart=s.dtstart,
                until=s.until,
            )
            for s in specs
        ]
    if (not text and empty_is_default) or (text and is_open_ended(text)):
        default = ParsedMilestone(label=label, source_text="", due=date(ctx.year, 12, 31))
        default.due_is_default = True
        return [default]
    raise CellError(
        f"无法识别“{text}”：请写日期（如 2024-04-30）、时间表述（如 4月底前、每月26日前）"
        "或按导出格式填写重复规则"
    )


def read_date(text: str) -> date:
    """A date written 2024-04-30, 2024/4/30, 2024.4.30 or 2024年4月30日; raises :class:`CellError`."""
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    try:
        return date(numbers[0], numbers[1], numbers[2])
    except (ValueError, IndexError) as exc:
        raise CellError(f"不存在的日期：{text.strip()}") from exc


def cell_text(value: Any) -> str:
    """A cell's value as text: numbers without a trailing .0, dates as ISO dates, blanks as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()
