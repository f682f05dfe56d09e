"""The I/O edge of the calendar: chinese-calendar tables plus the office's own data file.

The office can add the State Council's schedule for a year the package does not know (or
correct one it does) without a release, in a small YAML file::

    # 国务院办公厅关于2027年部分节假日安排的通知
    2027:
      holidays: [2027-01-01, 2027-02-06..2027-02-12]   # 放假（单日或 起..止 区间）
      workdays: [2027-02-14]                           # 调休上班

A year listed in the file replaces the package's data for that year and counts as covered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import yaml

from schedules.calendar import WorkCalendar, describe_fallback


class CalendarDataError(ValueError):
    """The office calendar data file is malformed; the message names the file and field."""


@dataclass(frozen=True)
class YearData:
    """One year's holidays and make-up workdays."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]


def read_package_years() -> dict[int, YearData]:
    """Return the chinese-calendar tables grouped by year (2004–2026 for version 1.11)."""
    years = {d.year for d in chinese_calendar.holidays} | {
        d.year for d in chinese_calendar.workdays
    }
    return {
        y: YearData(
            y,
            frozenset(d for d in chinese_calendar.holidays if d.year == y),
            frozenset(d for d in chinese_calendar.workdays if d.year == y),
        )
        for y in sorted(years)
    }


def _parse_day(item: object, where: str) -> list[date]:
    if isinstance(item, date):
        return [item]
    text = str(item).strip()
    try:
        if ".." in text:
            first, last = (date.fromisoformat(p.strip()) for p in text.split("..", 1))
            if last < first:
                raise ValueError("区间终点早于起点")
            return [first + timedelta(days=k) for k in range((last - first).days + 1)]
        return [date.fromisoformat(text)]
    except ValueError as exc:
        raise CalendarDataError(
            f"{where}：无法识别的日期 {text!r}（应为 YYYY-MM-DD 或 起..止）"
        ) from exc


def _parse_days(raw: object, where: str, year: int) -> frozenset[date]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise CalendarDataError(f"{where}：应为日期列表，收到 {type(raw).__name__}")
    days = [d for item in raw for d in _parse_day(item, where)]
    stray = [d for d in days if d.year != year]
    if stray:
        raise CalendarDataError(f"{where}：日期 {stray[0].isoformat()} 不属于 {year} 年")
    return frozenset(days)


def parse_office_data(text: str, *, source: str = "办公室日历数据") -> dict[int, YearData]:
    """Parse the office YAML text (year → holidays, workdays); errors name ``source`` and field."""
    try:
        # BaseLoader keeps every scalar a string, so a bad date is reported by our parser
        # with its text instead of PyYAML's bare "month must be in 1..12".
        raw = yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        raise CalendarDataError(f"{source}：YAML 格式错误：{exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise CalendarDataError(f"{source}：顶层应为 年份 → {{holidays, workdays}} 的映射")
    return {_parse_year_key(k, source): _parse_year(k, v, source) for k, v in raw.items()}


def _parse_year_key(key: object, source: str) -> int:
    try:
        year = int(str(key))
    except ValueError as exc:
        raise CalendarDataError(f"{source}：年份 {key!r} 不是整数") from exc
    if not 1949 < year < 2200:
        raise CalendarDataError(f"{source}：年份 {year} 超出合理范围")
    return year


def _parse_year(key: object, body: object, source: str) -> YearData:
    year = _parse_year_key(key, source)
    if not isinstance(body, Mapping):
        raise CalendarDataError(f"{source} 第 {year} 年：应包含 holidays 与 workdays 两个列表")
    unknown = sorted(str(k) for k in body if k not in ("holidays", "workdays"))
    if unknown:
        raise CalendarDataError(
            f"{source} 第 {year} 年：未知字段 {unknown[0]!r}（只允许 holidays、workdays）"
        )
    holidays = _parse_days(body.get("holidays"), f"{source} 第 {year} 年 holidays", year)
    workdays = _parse_days(body.get("workdays"), f"{source} 第 {year} 年 workdays", year)
    if holidays & workdays:
        both = min(holidays & workdays).isoformat()
        raise CalendarDataError(f"{source} 第 {year} 年：{both} 同时出现在 holidays 与 workdays 中")
    return YearData(year, holidays, workdays)


def merge_years(*layers: Mapping[int, YearData]) -> WorkCalendar:
    """Build a calendar from year tables; a later layer replaces an earlier one's whole year."""
    merged: dict[int, YearData] = {}
    for layer in layers:
        merged.update(layer)
    return WorkCalendar(
        holidays=frozenset(d for y in merged.values() for d in y.holidays),
        workdays=frozenset(d for y in merged.values() for d in y.workdays),
        covered_years=frozenset(merged),
    )


def load_calendar(office_file: Path | None = None) -> WorkCalendar:
    """Load chinese-calendar plus the optional office data file at ``office_file``."""
    office: dict[int, YearData] = {}
    if office_file is not None:
        try:
            text = office_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CalendarDataError(f"无法读取办公室日历数据文件 {office_file}：{exc}") from exc
        office = parse_office_data(text, source=str(office_file))
    return merge_years(read_package_years(), office)


def check_coverage(cal: WorkCalendar, years: Iterable[int]) -> tuple[str, ...]:
    """Return the loud fallback warnings for the given years (used by ``duban doctor``)."""
    return describe_fallback(y for y in years if y not in cal.covered_years)
