"""Turn the time phrases of a task into milestones (deadlines, recurrences, or the default)."""

from __future__ import annotations

import re

from intake.duties import clause_units
from intake.errors import LineError
from intake.model import ParsedMilestone, Warning
from schedules.timeexpr import (
    MilestoneSpec,
    PlanContext,
    TimeExprError,
    default_milestone,
    find_event_phrase,
    find_time_expressions,
    is_open_ended,
    normalize_numerals,
)

_CLAUSE_STOP = "。；;！？\n"
_LABEL_MAX = 60


def milestones_from_text(
    text: str,
    *,
    title: str,
    ctx: PlanContext,
    lines: list[tuple[int, str]],
    actors: bool = False,
) -> list[ParsedMilestone]:
    """Every deadline and recurrence in ``text``; the plan year's end when there is none.

    ``lines`` are the (line number, text) fragments the task was read from, so that an
    impossible date is reported on its own line. With ``actors``, each milestone carries the
    units its own clause names (:func:`intake.duties.clause_units`).
    """
    try:
        specs = find_time_expressions(text, ctx)
    except TimeExprError as exc:
        raise LineError(str(exc), line=_line_of(exc.source_text, lines)) from exc
    if not specs:
        return [_undated(text, title, ctx)]
    norm = normalize_numerals(text)
    # "每季度的形象进度" qualifies a noun, "从第一季度开始" says when something starts: neither asks
    # for anything by a date.
    specs = [s for s in specs if not _qualifies_or_starts(s, norm)]
    if not specs:
        return [_undated(text, title, ctx)]
    out = [_to_milestone(s, _clause_around(norm, s) or title) for s in specs]
    if actors:
        for spec, milestone in zip(specs, out, strict=True):
            if spec.start >= 0:
                milestone.lead_units, milestone.support_units = clause_units(
                    norm, spec.start, spec.end
                )
    return out


# "6月1日至6月7日", "4月15日—5月15日": a period, due at its end; its first day asks nothing.
_RANGE_TO = re.compile(r"^\s*(?:至|到|—+|－|-|~|～)\s*(?:\d|[上中下]旬|月底|底)")


def _undated(text: str, title: str, ctx: PlanContext) -> ParsedMilestone:
    """The placeholder of a duty with no date; a time that hangs on an event ("开学初",
    "汛期前", "节前") is kept as its source, for the office to give it a date in the review."""
    milestone = _to_milestone(default_milestone(ctx), title)
    milestone.source_text = find_event_phrase(text)
    return milestone


def _qualifies_or_starts(spec: MilestoneSpec, norm: str) -> bool:
    after = norm[spec.end : spec.end + 2]
    if spec.rrule:
        return after[:1] == "的"
    if spec.start >= 0 and _RANGE_TO.match(norm[spec.end : spec.end + 8]):
        return True
    if spec.start >= 0 and norm[max(0, spec.start - 2) : spec.start] in ("列入", "纳入", "作为"):
        return True  # "列入年底…考核内容": the assessment it is counted in, not a deadline
    return after.startswith(("开始", "起", "以来"))


def milestones_from_cell(
    cell: str, *, text: str, title: str, ctx: PlanContext, line: int
) -> tuple[list[ParsedMilestone], list[Warning]]:
    """Milestones from a table's time cell; an empty cell falls back to the task's text."""
    cell = cell.strip()
    if not cell:
        return milestones_from_text(text, title=title, ctx=ctx, lines=[(line, text)]), []
    try:
        specs = find_time_expressions(cell, ctx)
    except TimeExprError as exc:
        raise LineError(str(exc), line=line) from exc
    if specs:
        return [_to_milestone(s, title) for s in specs], []
    fallback = [_to_milestone(default_milestone(ctx), title)]
    if is_open_ended(cell):
        return fallback, []
    message = "无法识别的时间表述，已按计划年度年底处理"
    return fallback, [Warning(line=line, text=cell, message=message)]


def _to_milestone(spec: MilestoneSpec, label: str) -> ParsedMilestone:
    return ParsedMilestone(
        label=label,
        source_text=spec.source_text,
        due=spec.due,
        rrule=spec.rrule,
        dtstart=spec.dtstart,
        until=spec.until,
        due_is_default=spec.is_default,
    )


def _clause_around(text: str, spec: MilestoneSpec) -> str:
    """The sentence part that holds the expression: what a reminder should quote."""
    if spec.start < 0:
        return ""
    begin = max(text.rfind(ch, 0, spec.start) for ch in _CLAUSE_STOP) + 1
    ends = [i for i in (text.find(ch, spec.end) for ch in _CLAUSE_STOP) if i >= 0]
    clause = text[begin : min(ends, default=len(text))].strip(" ，,")
    clause = re.sub(r"\s+", "", clause)
    return clause if len(clause) <= _LABEL_MAX else clause[: _LABEL_MAX - 1] + "…"


def _line_of(source_text: str, lines: list[tuple[int, str]]) -> int | None:
    for number, fragment in lines:
        if source_text in normalize_numerals(fragment):
            return number
    return lines[0][0] if lines else None
