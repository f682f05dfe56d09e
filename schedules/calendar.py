"""Working-day arithmetic over the Chinese official calendar (pure; the tables are passed in).

A day is a working day when it is a make-up workday (调休), or a Monday–Friday that is not a
holiday. Years outside ``covered_years`` have no data: they fall back to Monday–Friday, and
:func:`WorkCalendar.uncovered_years` / :func:`describe_fallback` say so loudly.

"N working days before D" is the Nth working day strictly before D; "N working days after D"
is the Nth working day strictly after D.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

_ONE_DAY = timedelta(days=1)
# Years indexed around the data so that lookups stay O(log n) well past the last covered year.
_INDEX_MARGIN_YEARS = 12


@dataclass(frozen=True)
class WorkCalendar:
    """Holidays, make-up workdays and the years those tables cover."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    covered_years: frozenset[int] = frozenset()
    _ordinals: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _span: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        clash = self.holidays & self.workdays
        if clash:
            first = min(clash).isoformat()
            raise ValueError(f"日历数据矛盾：{first} 同时是节假日和调休工作日")
        years = set(self.covered_years) | {d.year for d in self.holidays | self.workdays}
        low = min(years, default=2000) - 1
        high = max(years, default=2030) + _INDEX_MARGIN_YEARS
        span = (date(low, 1, 1).toordinal(), date(high, 12, 31).toordinal())
        ordinals = tuple(o for o in range(span[0], span[1] + 1) if self._is_work_ordinal(o))
        object.__setattr__(self, "_ordinals", ordinals)
        object.__setattr__(self, "_span", span)

    def _is_work_ordinal(self, ordinal: int) -> bool:
        return self.is_workday(date.fromordinal(ordinal))

    def is_workday(self, d: date) -> bool:
        """Return True when ``d`` is an official working day (make-up days included)."""
        if d in self.workdays:
            return True
        return d.weekday() < 5 and d not in self.holidays

    def add_workdays(self, d: date, n: int) -> date:
        """Return the ``n``-th working day strictly after ``d`` (strictly before if ``n`` < 0).

        ``n`` == 0 returns ``d`` unchanged.
        """
        if n == 0:
            return d
        o = d.toordinal()
        if self._span[0] <= o <= self._span[1]:
            if n > 0:
                i = bisect_right(self._ordinals, o) + n - 1
            else:
                i = bisect_left(self._ordinals, o) + n
            if 0 <= i < len(self._ordinals):
                return date.fromordinal(self._ordinals[i])
        return self._step_workdays(d, n)

    def _step_workdays(self, d: date, n: int) -> date:
        # Slow path for dates far outside the indexed span.
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        remaining = abs(n)
        while remaining:
            d += step
            if self.is_workday(d):
                remaining -= 1
        return d

    def nth_workday_before(self, d: date, n: int) -> date:
        """Return the ``n``-th working day strictly before ``d`` (n ≥ 1)."""
        if n < 1:
            raise ValueError(f"nth_workday_before 需要 n ≥ 1，收到 {n}")
        return self.add_workdays(d, -n)

    def first_workday_after(self, d: date) -> date:
        """Return the first working day strictly after ``d``."""
        return self.add_workdays(d, 1)

    def workday_on_or_before(self, d: date) -> date:
        """Return ``d`` if it is a working day, else the previous working day."""
        return d if self.is_workday(d) else self.add_workdays(d, -1)

    def workday_on_or_after(self, d: date) -> date:
        """Return ``d`` if it is a working day, else the next working day."""
        return d if self.is_workday(d) else self.add_workdays(d, 1)

    def workdays_between(self, start: date, end: date) -> int:
        """Count working days ``w`` with ``start < w <= end`` (negative when ``end < start``)."""
        if end < start:
            return -self.workdays_between(end, start)
        a, b = start.toordinal(), end.toordinal()
        if self._span[0] <= a and b <= self._span[1]:
            return bisect_right(self._ordinals, b) - bisect_right(self._ordinals, a)
        return sum(1 for k in range(1, b - a + 1) if self.is_workday(start + timedelta(days=k)))

    def uncovered_years(self, start: date, end: date) -> tuple[int, ...]:
        """Return the years in ``[start, end]`` that have no holiday data (Mon–Fri fallback)."""
        return tuple(y for y in range(start.year, end.year + 1) if y not in self.covered_years)


def build_calendar(
    holidays: Iterable[date], workdays: Iterable[date], covered_years: Iterable[int]
) -> WorkCalendar:
    """Build a :class:`WorkCalendar` from plain iterables."""
    return WorkCalendar(frozenset(holidays), frozenset(workdays), frozenset(covered_years))


def describe_fallback(years: Iterable[int]) -> tuple[str, ...]:
    """Return one loud Chinese warning per year that falls back to Monday–Friday."""
    return tuple(
        f"警告：{y} 年没有节假日数据，按周一至周五计算工作日（未计法定节假日与调休）。"
        f"请在办公室日历数据文件中补充国务院办公厅公布的 {y} 年放假安排。"
        f" (no holiday data for {y}: falling back to Monday-Friday)"
        for y in sorted(set(years))
    )
