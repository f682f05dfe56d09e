"""A task's owners as the text gives them, before and after its clauses are read.

Closing brackets first ("正文。（区应急局、各街镇）"), then labelled lines ("责任单位：X；配合单位：Y"),
then units a sentence makes responsible ("建管部门要…"); the task's units are those and every
milestone's clause actors (intake/duties.py), leads first.
"""

from __future__ import annotations

from intake.model import ParsedMilestone
from intake.units import (
    BREAK_MARK,
    find_labelled_units,
    find_prose_units,
    is_unit_group,
    split_roles,
)

Units = tuple[list[str], list[str]]


def union_units(
    lead: list[str], support: list[str], milestones: list[ParsedMilestone]
) -> tuple[list[str], list[str]]:
    """The task's units: its own, then every milestone's clause actors (leads first)."""
    lead = list(lead)
    for m in milestones:
        lead += [u for u in m.lead_units if u not in lead]
    support = [u for u in support if u not in lead]
    for m in milestones:
        support += [u for u in m.support_units if u not in lead and u not in support]
    return lead, support


def task_units(body: str, group: str | None) -> tuple[list[str], list[str]]:
    """Closing parentheses first, then label lines ("责任单位：…"), then duties in the prose."""
    labelled = find_labelled_units(body)
    if group:
        lead, support = split_roles(group)
        if labelled is not None and find_labelled_units(group) is not None:
            # "3.组织单位：X。（…参加单位：Y。）": labels in the text and in a closing remark
            lead = _merge(labelled[0], lead)
            support = [n for n in _merge(labelled[1], support) if n not in lead]
        return lead, support
    if labelled is not None:
        return labelled
    return find_prose_units(body), []


def _merge(first: list[str], then: list[str]) -> list[str]:
    return first + [n for n in then if n not in first]


def ends_with_units(text: str) -> bool:
    """True when the text closes with a bracketed list of units."""
    return take_unit_group(text)[1] is not None


def take_unit_group(text: str) -> tuple[str, str | None]:
    """Split "正文。（X、Y）" into the body and the closing unit group, if the group lists units."""
    stripped = text.rstrip(" \t\n。；;" + BREAK_MARK)
    if not stripped.endswith(("）", ")")):
        return text, None
    depth = 0
    for i in range(len(stripped) - 1, -1, -1):
        ch = stripped[i]
        depth += ch in "）)"
        depth -= ch in "（("
        if depth == 0:
            group = stripped[i + 1 : -1]
            if is_unit_group(group.replace(BREAK_MARK + BREAK_MARK, BREAK_MARK)):
                return stripped[:i].rstrip(BREAK_MARK + "\n "), group
            return text, None
    return text, None
