"""What a month's 通报 says, from counts already aggregated (pure: no I/O, no clock).

The counting is set-based SQL in `models/repo/reports.py`; this module defines what each count
means, the month's window and its "as of" instant, the red/yellow/green reading and the comparison
with the previous month, so that the console, the CLI, the exports and the tests share one meaning.

An obligation due in the month is, as of the report's instant (the first instant of the next
month, Shanghai time, so a month's 通报 reads the same whenever it is drafted again):
- 按时完成 on_time: reported done (submitted or accepted) before the instant, at or before its due time;
- 逾期完成 late: reported done before the instant, after its due time;
- 逾期未报 lapsed: a recurring report closed as missed when its next occurrence fell due;
- 逾期未完成 overdue: past its due time and neither done nor lapsed (nor waived / awaiting confirmation);
- 未到期 pending: its due time is not yet past;
- 已免除 waived and 待确认 to_confirm (past at the plan's issue, asked once) are counted apart.
延期 extended (a granted extension) and 督办 escalated (a 督办 or higher queue item) are flags
counted over the same rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time

from schedules.clock import OFFICE_TZ

COUNTS = ("due", "on_time", "late", "overdue", "lapsed", "pending", "waived", "to_confirm")
FLAGS = ("extended", "escalated")
LABELS = {
    "due": "应完成",
    "on_time": "按时完成",
    "late": "逾期完成",
    "overdue": "逾期未完成",
    "lapsed": "逾期未报",
    "pending": "未到期",
    "waived": "已免除",
    "to_confirm": "待确认",
    "extended": "延期",
    "escalated": "督办",
    "open_overdue": "累计逾期未办结",
}
COLOUR_LABEL = {"red": "红", "yellow": "黄", "green": "绿"}


class PeriodError(ValueError):
    """A month or period the office typed that is not one."""


def parse_month(text: str) -> date:
    """'2024-03' or '2024年3月' → the month's first day; a Chinese error otherwise."""
    found = re.fullmatch(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*", text)
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise PeriodError(f"月份应为 2024-03 或 2024年3月，收到 {text!r}")
    return date(int(found.group(1)), int(found.group(2)), 1)


def next_month(month: date) -> date:
    """The first day of the month after `month`."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    """The first day of the month before `month`."""
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def month_as_of(month: date) -> datetime:
    """The 通报's instant for `month`: the first instant of the next month (Shanghai), aware."""
    return datetime.combine(next_month(month), time(0, 0), tzinfo=OFFICE_TZ)


def month_label(month: date) -> str:
    """'2024年3月'."""
    return f"{month.year}年{month.month}月"


@dataclass(frozen=True)
class UnitCounts:
    """One unit's counts over the obligations due in the period (see the module's definitions)."""

    unit_id: int | None
    unit: str
    due: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    lapsed: int = 0
    pending: int = 0
    waived: int = 0
    to_confirm: int = 0
    extended: int = 0
    escalated: int = 0
    # Everything due up to the instant (any month) still overdue: the "since when" list's count.
    open_overdue: int = 0

    @property
    def done(self) -> int:
        """Reported done before the instant (on time or late)."""
        return self.on_time + self.late

    @property
    def counted(self) -> int:
        """The rows that a completion rate divides by (waived and to-confirm rows excluded)."""
        return self.due - self.waived - self.to_confirm

    @property
    def completion(self) -> float | None:
        """Done ÷ what was past due (None when nothing was)."""
        past = self.counted - self.pending
        return None if past <= 0 else self.done / past

    @property
    def on_time_rate(self) -> float | None:
        """On time ÷ what was past due (None when nothing was)."""
        past = self.counted - self.pending
        return None if past <= 0 else self.on_time / past

    @property
    def colour(self) -> str:
        """红 overdue, missed or escalated; 黄 done late or extended; 绿 on track."""
        if self.overdue or self.lapsed or self.escalated or self.open_overdue:
            return "red"
        if self.late or self.extended:
            return "yellow"
        return "green"

    def as_dict(self) -> dict[str, object]:
        """Every count, the rates and the colour, for JSON."""
        out: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        out |= {
            "done": self.done,
            "completion": _round(self.completion),
            "on_time_rate": _round(self.on_time_rate),
            "colour": self.colour,
        }
        return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def total(rows: tuple[UnitCounts, ...] | list[UnitCounts], label: str = "合计") -> UnitCounts:
    """The column sums of `rows`."""
    names = (*COUNTS, *FLAGS, "open_overdue")
    sums = {n: sum(getattr(r, n) for r in rows) for n in names}
    return UnitCounts(unit_id=None, unit=label, **sums)


@dataclass(frozen=True)
class LateItem:
    """One duty past due and not done as of the instant: who, what, since when."""

    obligation_id: int
    unit: str
    task_ref: str
    task_title: str
    milestone: str
    due_on: date
    days_late: int
    level: int
    extended: bool


@dataclass(frozen=True)
class Escalation:
    """A 督办 (level 2) or 通报 (level 3) queue item opened in the month."""

    obligation_id: int
    unit: str
    task_ref: str
    task_title: str
    due_on: date
    level: int
    opened_on: date
    status: str


@dataclass(frozen=True)
class UnitChange:
    """One unit's change against the previous month."""

    unit: str
    completion_now: float | None
    completion_before: float | None
    overdue_now: int
    overdue_before: int

    @property
    def completion_delta(self) -> float | None:
        """Percentage points (as a fraction) gained since last month; None if either is None."""
        if self.completion_now is None or self.completion_before is None:
            return None
        return self.completion_now - self.completion_before


def compare(current: tuple[UnitCounts, ...], previous: tuple[UnitCounts, ...]) -> list[UnitChange]:
    """Each unit of either month, with its completion and open-overdue count now and before."""
    before = {r.unit: r for r in previous}
    now = {r.unit: r for r in current}
    out = []
    for name in sorted(set(before) | set(now)):
        a, b = now.get(name), before.get(name)
        out.append(
            UnitChange(
                unit=name,
                completion_now=a.completion if a else None,
                completion_before=b.completion if b else None,
                overdue_now=a.open_overdue if a else 0,
                overdue_before=b.open_overdue if b else 0,
            )
        )
    return out


@dataclass(frozen=True)
class MonthReport:
    """Everything the month's 通报 states (the document's text is rendered from this)."""

    scope: str
    plan_ids: tuple[int, ...]
    month: date
    as_of: datetime
    units: tuple[UnitCounts, ...]
    late_items: tuple[LateItem, ...]
    late_total: int
    escalations: tuple[Escalation, ...]
    escalation_total: int = 0
    previous_units: tuple[UnitCounts, ...] = field(default=())

    @property
    def totals(self) -> UnitCounts:
        """The month's column sums."""
        return total(self.units)

    @property
    def previous_totals(self) -> UnitCounts:
        """The previous month's column sums."""
        return total(self.previous_units)

    @property
    def changes(self) -> list[UnitChange]:
        """Per unit against the previous month."""
        return compare(self.units, self.previous_units)

    def ranked_units(self) -> list[UnitCounts]:
        """Units worst first: open overdue, then missed, then lowest on-time rate, then name."""
        return sorted(
            self.units,
            key=lambda r: (
                -r.open_overdue,
                -r.lapsed,
                r.on_time_rate if r.on_time_rate is not None else 2.0,
                r.unit,
            ),
        )

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready data (dates as ISO text)."""
        return {
            "scope": self.scope,
            "plan_ids": list(self.plan_ids),
            "month": self.month.strftime("%Y-%m"),
            "as_of": self.as_of.isoformat(),
            "units": [r.as_dict() for r in self.units],
            "totals": self.totals.as_dict(),
            "previous_totals": self.previous_totals.as_dict(),
            "late_total": self.late_total,
            "escalation_total": self.escalation_total,
            "late_items": [
                {
                    "obligation_id": i.obligation_id,
                    "unit": i.unit,
                    "task_ref": i.task_ref,
                    "task_title": i.task_title,
                    "milestone": i.milestone,
                    "due_on": i.due_on.isoformat(),
                    "days_late": i.days_late,
                    "level": i.level,
                    "extended": i.extended,
                }
                for i in self.late_items
            ],
            "escalations": [
                {
                    "obligation_id": e.obligation_id,
                    "unit": e.unit,
                    "task_ref": e.task_ref,
                    "task_title": e.task_title,
                    "due_on": e.due_on.isoformat(),
                    "level": e.level,
                    "opened_on": e.opened_on.isoformat(),
                    "status": e.status,
                }
                for e in self.escalations
            ],
            "changes": [
                {
                    "unit": c.unit,
                    "completion_now": _round(c.completion_now),
                    "completion_before": _round(c.completion_before),
                    "overdue_now": c.overdue_now,
                    "overdue_before": c.overdue_before,
                }
                for c in self.changes
            ],
        }


def percent(x: float | None) -> str:
    """0.8333 → '83.3%'; None → '—'."""
    return "—" if x is None else f"{x * 100:.1f}%"
