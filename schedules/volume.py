"""What a simulated plan puts on units and the office queue, as figures (pure).

A *message* is what a unit's people receive in one pass: the tick groups everything due for one
unit and audience at one instant into one message, so messages are counted as distinct
(unit, instant, audience) triples over the actions that reach the unit (contacts or head).
Weeks are ISO weeks; a unit's median is over the weeks in which it received anything.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from statistics import median
from typing import Any, Protocol

from schedules.clock import OFFICE_TZ
from schedules.obligation import Action, Recipient, Stage
from schedules.receipt import STAGE as RECEIPT_STAGE

UNIT_AUDIENCES = frozenset({Recipient.UNIT_CONTACTS, Recipient.UNIT_HEAD})
RESEND_SEQ = f"{RECEIPT_STAGE}-"  # a 再次交办's seq (receipt-assign@…, receipt-office@…)
QUEUE_STAGES = frozenset({Stage.OFFICE, Stage.LEADER})


class _Owed(Protocol):
    @property
    def unit(self) -> str: ...


class _Sent(Protocol):
    @property
    def obligation(self) -> _Owed: ...

    @property
    def action(self) -> Action: ...


@dataclass(frozen=True)
class UnitVolume:
    """One unit's load: messages in all, per week (max, median of weeks with any), 催办."""

    messages: int
    week_max: int
    week_median: float
    chase_max: int  # the most 催办 one of its obligations received

    def to_json(self) -> dict[str, Any]:
        """Return the JSON shape of ``duban simulate --json`` (``volume.units``)."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Volume:
    """Per unit and overall figures of one simulation run."""

    units: dict[str, UnitVolume]
    messages: int
    week_max: int
    week_median: float
    chase_max: int
    queue_day_max: int  # the most 督办单 (sheets) the queue gained in one office day
    queue_day: date | None  # that day
    queue_day_units: int  # how many units those sheets are for (one 督办 message each)
    queue_items: int  # sheets in all
    queue_day_lines: int  # the obligations (lines) on that day's sheets
    queue_lines: int  # lines in all (one per obligation and level)
    assigned_units: int  # units that received a 交办

    def to_json(self) -> dict[str, Any]:
        """Return ``{"units": {...}, "messages": …, …}`` (dates as ISO text)."""
        out = {k: v for k, v in self.__dict__.items() if k != "units"}
        out["queue_day"] = self.queue_day.isoformat() if self.queue_day else None
        return {"units": {u: v.to_json() for u, v in self.units.items()}, **out}


def _week(at: datetime) -> tuple[int, int]:
    iso = at.astimezone(OFFICE_TZ).isocalendar()
    return iso.year, iso.week


def _count_messages(actions: Iterable[_Sent]) -> dict[str, Counter[tuple[int, int]]]:
    seen: set[tuple[str, datetime, Recipient, bool]] = set()
    weeks: dict[str, Counter[tuple[int, int]]] = defaultdict(Counter)
    for a in actions:
        # A 再次交办 (seq "receipt-…", flows/receipts.py) is a notice of its own beside the pass's
        # other messages to the same audience.
        resend = a.action.seq.startswith(RESEND_SEQ)
        for r in UNIT_AUDIENCES.intersection(a.action.recipients):
            key = (a.obligation.unit, a.action.at, r, resend)
            if key not in seen:
                seen.add(key)
                weeks[a.obligation.unit][_week(a.action.at)] += 1
    return weeks


def _count_chases(actions: Iterable[_Sent]) -> dict[str, int]:
    per_obligation = Counter(id(a.obligation) for a in actions if a.action.stage is Stage.CHASE)
    unit_of = {id(a.obligation): a.obligation.unit for a in actions}
    worst: dict[str, int] = defaultdict(int)
    for ob, n in per_obligation.items():
        worst[unit_of[ob]] = max(worst[unit_of[ob]], n)
    return worst


def _count_queue(
    actions: Iterable[_Sent],
) -> tuple[dict[date, set[tuple[str, Stage]]], Counter[date]]:
    # Per office day: the sheets (one 督办单 per unit and level, models/repo/queue.py) and the
    # lines on them (one per obligation).
    sheets: dict[date, set[tuple[str, Stage]]] = defaultdict(set)
    lines: Counter[date] = Counter()
    for a in actions:
        if a.action.stage in QUEUE_STAGES:
            day = a.action.at.astimezone(OFFICE_TZ).date()
            sheets[day].add((a.obligation.unit, a.action.stage))
            lines[day] += 1
    return sheets, lines


def measure_volume(actions: Sequence[_Sent]) -> Volume:
    """Count messages per unit and week, 催办 per obligation and queue sheets (督办单) per day."""
    weeks, chases = _count_messages(actions), _count_chases(actions)
    units = {
        unit: UnitVolume(sum(w.values()), max(w.values()), median(w.values()), chases.get(unit, 0))
        for unit, w in weeks.items()
    }
    all_weeks = [n for w in weeks.values() for n in w.values()]
    sheets, lines = _count_queue(actions)
    queue = Counter({day: len(s) for day, s in sheets.items()})
    top = max(queue.items(), key=lambda kv: (kv[1], kv[0]), default=None)
    return Volume(
        units=units,
        messages=sum(all_weeks),
        week_max=max(all_weeks, default=0),
        week_median=median(all_weeks) if all_weeks else 0,
        chase_max=max(chases.values(), default=0),
        queue_day_max=top[1] if top else 0,
        queue_day=top[0] if top else None,
        queue_day_units=len({unit for unit, _ in sheets[top[0]]}) if top else 0,
        queue_items=sum(queue.values()),
        queue_day_lines=lines[top[0]] if top else 0,
        queue_lines=sum(lines.values()),
        assigned_units=len({a.obligation.unit for a in actions if a.action.stage is Stage.ASSIGN}),
    )


def render_volume(volume: Volume, *, top: int | None = None) -> list[str]:
    """The figures as Chinese lines, per unit (or the ``top`` units by messages), then overall."""
    units = list(volume.units.items())
    if top is not None:
        units = sorted(units, key=lambda kv: (-kv[1].messages, kv[0]))[:top]
    title = "消息量" if top is None else f"消息量（消息最多的 {len(units)} 个单位）"
    lines = [f"{title}（一次发送中同一单位同一对象的事项合并为一条消息）："]
    for unit, v in units:
        lines.append(
            f"  {unit}：消息 {v.messages} 条，每周最多 {v.week_max}、中位数 {v.week_median:g}"
            f"（有消息的周），单项催办最多 {v.chase_max} 次"
        )
    day = (
        f"（{volume.queue_day.isoformat()}，涉及 {volume.queue_day_units} 个单位、"
        f"{volume.queue_day_lines} 项义务）"
        if volume.queue_day
        else ""
    )
    lines.append(
        f"总体：消息 {volume.messages} 条；每单位每周最多 {volume.week_max}、中位数 "
        f"{volume.week_median:g}；单项催办最多 {volume.chase_max} 次；督办队列单日新增督办单最多 "
        f"{volume.queue_day_max} 张{day}，共 {volume.queue_items} 张（{volume.queue_lines} 项义务）；"
        f"收到交办的单位 "
        f"{volume.assigned_units} 个"
    )
    return lines
