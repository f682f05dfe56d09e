"""Score an importer result against ../shared/seeds/expected/*.json (every key that is present).

The expected files have different shapes per seed: a ``tasks`` list (by ref: units, due dates,
title, section, leaders, time text), ``annex_tasks`` (the annexed table, refs "附件-N"),
counts (``numbered_tasks``, ``subsection_tasks``, ``sections``), ``must_have_due_dates``,
``must_have_recurrences``, ``task_milestones``, ``listed_supervision_items`` and ``task_units``
(who must be chased for a dated duty: the units on the milestone of that date, and among the
task's units). Each present key gives a score in [0, 1]; the document's score is their mean.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

Json = dict[str, Any]


def f1(expected: list[Any], found: list[Any]) -> float:
    """F1 of two lists treated as sets; two empty lists agree perfectly."""
    want, got = set(expected), set(found)
    if not want and not got:
        return 1.0
    hits = len(want & got)
    if hits == 0:
        return 0.0
    precision, recall = hits / len(got), hits / len(want)
    return 2 * precision * recall / (precision + recall)


def _dues(task: Json) -> list[str]:
    return [m["due"] for m in task["milestones"] if m.get("due")]


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def score_task(want: Json, got: Json | None) -> float:
    """Mean of the per-field scores of one expected task (0 when the task is missing)."""
    if got is None:
        return 0.0
    parts: list[float] = []
    if "support_units" in want:
        pairs = [("lead", u) for u in want.get("lead_units", [])]
        pairs += [("support", u) for u in want["support_units"]]
        found = [("lead", u) for u in got["lead_units"]]
        found += [("support", u) for u in got["support_units"]]
        parts.append(f1(pairs, found))
    elif "lead_units" in want:
        parts.append(f1(want["lead_units"], got["lead_units"] + got["support_units"]))
    if "due" in want:
        parts.append(f1(want["due"], _dues(got)))
    if "due_is_default" in want:
        flags = [bool(m.get("due_is_default")) for m in got["milestones"]]
        parts.append(float(any(flags) == want["due_is_default"]))
    if "title" in want:
        parts.append(float(_compact(want["title"]) == _compact(got["title"])))
    if "section" in want:
        parts.append(
            float([_compact(s) for s in want["section"]] == [_compact(s) for s in got["section"]])
        )
    if "leaders" in want:
        parts.append(f1(want["leaders"], got["leaders"]))
    if "time_text" in want:
        sources = [m["source_text"] for m in got["milestones"]]
        parts.append(float(any(want["time_text"] in s for s in sources)))
    return sum(parts) / len(parts) if parts else 1.0


def _count_score(expected: int, found: int) -> float:
    return max(0.0, 1 - abs(expected - found) / max(expected, 1))


def score_document(expected: Json, out: Json) -> dict[str, float]:
    """Per-key scores for one document; ``out`` is ``ParsedPlan.to_dict()``."""
    tasks = {t["ref"]: t for t in out["tasks"]}
    scores: dict[str, float] = {}
    if "plan" in expected:
        keys = expected["plan"]
        scores["plan"] = sum(out["plan"].get(k) == v for k, v in keys.items()) / len(keys)
    if "tasks" in expected:
        per = [score_task(w, tasks.get(w["ref"])) for w in expected["tasks"]]
        scores["tasks"] = sum(per) / len(per)
    if "annex_tasks" in expected:
        per = [score_task(w, tasks.get(f"附件-{w['ref']}")) for w in expected["annex_tasks"]]
        scores["annex_tasks"] = sum(per) / len(per)
    if "numbered_tasks" in expected:
        found = sum(ref.isdigit() for ref in tasks)
        scores["numbered_tasks"] = _count_score(expected["numbered_tasks"], found)
    if "subsection_tasks" in expected:
        found = sum(bool(re.search(r"\([一二三四五六七八九十]+\)$", ref)) for ref in tasks)
        scores["subsection_tasks"] = _count_score(expected["subsection_tasks"], found)
    if "sections" in expected:
        counts = Counter(ref.split("、")[0] for ref in tasks if "、" in ref)
        hits = [counts[k] == v for k, v in expected["sections"].items()]
        scores["sections"] = sum(hits) / len(hits)
    scores.update(_score_milestone_keys(expected, out, tasks))
    return scores


def _score_milestone_keys(expected: Json, out: Json, tasks: dict[str, Json]) -> dict[str, float]:
    milestones = [m for t in out["tasks"] for m in t["milestones"]]
    scores: dict[str, float] = {}
    if "must_have_due_dates" in expected:
        dues = {m.get("due") for m in milestones}
        want = expected["must_have_due_dates"]
        scores["must_have_due_dates"] = sum(d in dues for d in want) / len(want)
    if "must_have_recurrences" in expected:
        rules = [m["rrule"] for m in milestones if m.get("rrule")]
        hits = [_has_rule(r, rules) for r in expected["must_have_recurrences"]]
        scores["must_have_recurrences"] = sum(hits) / len(hits)
    if "task_milestones" in expected:
        per = [
            f1(d, _dues(tasks[r]) if r in tasks else [])
            for r, d in expected["task_milestones"].items()
        ]
        scores["task_milestones"] = sum(per) / len(per)
    if "task_units" in expected:
        per = [score_duty(w, tasks.get(r)) for r, w in expected["task_units"].items()]
        scores["task_units"] = sum(per) / len(per)
    if "listed_supervision_items" in expected:
        labels = {m["label"] for m in milestones}
        want = expected["listed_supervision_items"]
        scores["listed_supervision_items"] = sum(w in labels for w in want) / len(want)
    return scores


def score_duty(want: Json, task: Json | None) -> float:
    """1 when every milestone of the wanted dates (or recurrence) names exactly the wanted units.

    A milestone without units of its own takes the task's; the wanted units must also be among
    the task's (lead or support).
    """
    if task is None:
        return 0.0
    units = set(want["units"])
    task_units = set(task["lead_units"]) | set(task["support_units"])
    stones = [m for m in task["milestones"] if _matches(want, m)]
    if not stones or not units <= task_units:
        return 0.0
    hits = [_milestone_units(m, task_units) == units for m in stones]
    return sum(hits) / len(hits)


def _matches(want: Json, milestone: Json) -> bool:
    if "rrule_contains" in want:
        return all(p in (milestone.get("rrule") or "") for p in want["rrule_contains"])
    return milestone.get("due") in want.get("due", [])


def _milestone_units(milestone: Json, task_units: set[str]) -> set[str]:
    own = set(milestone.get("lead_units", [])) | set(milestone.get("support_units", []))
    return own or task_units


def _has_rule(want: Json, rules: list[str]) -> bool:
    options = [want["rrule_contains"], want.get("or_rrule_contains")]
    return any(o and any(all(p in r for p in o) for r in rules) for o in options)
