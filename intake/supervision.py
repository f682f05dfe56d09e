"""Listed-supervision (挂牌督办) sites named in a task: each one is tracked as a milestone.

"确定不夜城商厦、场中汽配城地块、新柳营灯饰城、康民建材市场等4处为2017年区级挂牌督办的…"
names four sites; the office follows each one up separately, so each gets its own milestone
with the task's deadline.
"""

from __future__ import annotations

import re
from dataclasses import replace

from intake.model import ParsedMilestone

_LIST = re.compile(
    r"((?:[^、，,。；;\s]{2,24}、)+[^、，,。；;\s]{2,24})等\s*(?:\d+|[一二三四五六七八九十]+)\s*[处个项家座]"
)
_LEADING_VERB = re.compile(r"^(?:确定|将|把|对|以|其中|包括|为)")


def supervised_items(text: str, milestones: list[ParsedMilestone]) -> list[ParsedMilestone]:
    """One milestone per listed-supervision site, due with the task's first deadline."""
    due = next((m for m in milestones if m.due is not None), None)
    found: list[ParsedMilestone] = []
    for sentence in re.split(r"[。；;]", text):
        if "挂牌督办" not in sentence:
            continue
        for match in _LIST.finditer(sentence):
            names = [_LEADING_VERB.sub("", n) for n in match.group(1).split("、")]
            found.extend(_site(name, due) for name in names if name)
    return found


def _site(name: str, due: ParsedMilestone | None) -> ParsedMilestone:
    if due is None:
        return ParsedMilestone(label=name, source_text=name)
    return replace(due, label=name, source_text=name)
