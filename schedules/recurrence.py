"""Expand a milestone (one-off due date or RFC 5545 rule) into occurrence due dates (pure).

An occurrence is identified by its original date, and expansion depends only on the rule and
its ``dtstart`` (never on the window), so expanding [a, c] equals expanding [a, b] plus
(b, c]: a rolling horizon and a whole-period expansion agree, and re-running is idempotent.

Conveniences for plan text: ``FREQ=QUARTERLY`` means ``FREQ=MONTHLY;INTERVAL=3``, and a
monthly rule whose ``dtstart`` is a month's last day stays on the last day (``BYMONTHDAY=-1``),
so "quarterly, by the quarter's last day" from 2024-03-31 gives 06-30, 09-30, 12-31.
"""

from __future__ import annotations

import calendar as _stdcal
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from dateutil.rrule import rrulestr

_FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY")
_BY_DAY_KEYS = ("BYMONTHDAY", "BYDAY", "BYSETPOS", "BYYEARDAY", "BYWEEKNO")


class RecurrenceError(ValueError):
    """A milestone spec is invalid; the message names the field."""


@dataclass(frozen=True)
class MilestoneSpec:
    """Either a one-off ``due`` date or an ``rrule`` anchored at ``dtstart`` (optional ``until``)."""

    due: date | None = None
    rrule: str | None = None
    dtstart: date | None = None
    until: date | None = None


def _is_month_end(d: date) -> bool:
    return d.day == _stdcal.monthrange(d.year, d.month)[1]


def _parse_until(text: str) -> date:
    digits = text.strip()[:8]
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError as exc:
        raise RecurrenceError(f"rrule 的 UNTIL 无法识别：{text!r}（应为 YYYYMMDD）") from exc


def _split_rule(rule: str) -> dict[str, str]:
    body = rule.strip().removeprefix("RRULE:").strip()
    if "DTSTART" in body.upper():
        raise RecurrenceError("rrule 中不要写 DTSTART，请使用 dtstart 字段")
    parts: dict[str, str] = {}
    for item in filter(None, body.split(";")):
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise RecurrenceError(f"rrule 片段无法识别：{item!r}（应为 KEY=VALUE）")
        parts[key.strip().upper()] = value.strip().upper()
    return parts


def _check_monthdays(text: str | None) -> None:
    # dateutil silently yields nothing for BYMONTHDAY=40; a plan typo should be loud.
    for item in text.split(",") if text else ():
        if not item.lstrip("-").isdigit() or not 1 <= abs(int(item)) <= 31:
            raise RecurrenceError(f"rrule 的 BYMONTHDAY 无效：{text!r}（应为 1..31 或 -31..-1）")


def normalise_rule(rule: str, dtstart: date) -> tuple[str, date | None]:
    """Return the dateutil-ready rule text and the UNTIL date it carried (removed from the text)."""
    parts = _split_rule(rule)
    freq = parts.get("FREQ")
    if freq == "QUARTERLY":
        parts["FREQ"], freq = "MONTHLY", "MONTHLY"
        parts["INTERVAL"] = str(3 * int(parts.get("INTERVAL", "1")))
    if freq not in _FREQS:
        raise RecurrenceError(
            f"rrule 的 FREQ 无效：{freq!r}（可用：{'、'.join(_FREQS)}、QUARTERLY）"
        )
    if freq == "MONTHLY" and _is_month_end(dtstart) and not any(k in parts for k in _BY_DAY_KEYS):
        parts["BYMONTHDAY"] = "-1"
    _check_monthdays(parts.get("BYMONTHDAY"))
    until_text = parts.pop("UNTIL", None)
    until = _parse_until(until_text) if until_text else None
    return ";".join(f"{k}={v}" for k, v in parts.items()), until


def _make_anchor(d: date) -> datetime:
    # dateutil only needs a consistent anchor; UTC midnight avoids naive datetimes.
    return datetime.combine(d, time(), tzinfo=UTC)


def expand_occurrences(spec: MilestoneSpec, start: date, end: date) -> tuple[date, ...]:
    """Return the occurrence due dates of ``spec`` within ``[start, end]``, ascending."""
    if (spec.due is None) == (spec.rrule is None):
        raise RecurrenceError("里程碑必须且只能给出 due（一次性截止日）或 rrule（周期规则）之一")
    if spec.due is not None:
        return (spec.due,) if start <= spec.due <= end else ()
    if spec.dtstart is None:
        raise RecurrenceError("周期里程碑缺少 dtstart 字段（规则的起算日）")
    assert spec.rrule is not None
    text, rule_until = normalise_rule(spec.rrule, spec.dtstart)
    bounds = [d for d in (end, spec.until, rule_until) if d is not None]
    low, high = max(start, spec.dtstart), min(bounds)
    if high < low:
        return ()
    try:
        rule = rrulestr(text, dtstart=_make_anchor(spec.dtstart))
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(f"rrule 无法解析：{spec.rrule!r}：{exc}") from exc
    found = rule.between(_make_anchor(low), _make_anchor(high), inc=True)
    return tuple(dt.date() for dt in found)
