"""Score an importer's reading of the real-plan corpus (tests/intake/corpus) against its labels.

Each label file (``corpus/expected/cNN.json``) lists the document's duties as a clerk would put
them in a 任务清单: an ``anchor`` (words of the duty's own text), ``lead``/``support`` units and
the duty's times (``due`` dates, ``rrule`` recurrences; none for a duty without a time). A unit
written "A|B" accepts either spelling. Duties are matched to the tasks read by their anchor, so
refs and numbering do not matter. Per document:

- ``found``: F1 of duties found (recall) and tasks read that hold a labelled duty (precision);
- ``units``: role-aware F1 of each duty's units (lead and support kept apart) — the units of
  the milestone that carries the duty's time, else the task's;
- ``dates``: F1 of the times of each task that holds duties against the times labelled for
  them (a defaulted year end counts as no time);
- ``score``: the mean of the three. A document whose import fails scores 0 (1 for ``found`` when
  it has no duties and the importer said so).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "corpus"
HELD_OUT = CORPUS / "heldout"  # labelled, then read: never used to change the reader
Json = dict[str, Any]
_WIDTH = str.maketrans("（）：，", "():,")


@dataclass
class DocScore:
    """One document's figures."""

    name: str
    duties: int
    found: float
    units: float
    dates: float
    tasks_read: int
    error: str = ""

    @property
    def score(self) -> float:
        """The mean of found, units and dates."""
        return (self.found + self.units + self.dates) / 3


def corpus_files(folder: Path = CORPUS) -> list[tuple[Path, Json]]:
    """(document, label) for every labelled document of ``folder``, in name order."""
    out = []
    for label_path in sorted((folder / "expected").glob("*.json")):
        label = json.loads(label_path.read_text(encoding="utf-8"))
        out.append((folder / label["file"], label))
    return out


def norm(text: str) -> str:
    """Compare names and anchors ignoring width of brackets and punctuation, and spaces."""
    return re.sub(r"\s+", "", text.translate(_WIDTH))


def _f1(want: set[Any], got: set[Any]) -> float:
    if not want and not got:
        return 1.0
    hits = len(want & got)
    if not hits:
        return 0.0
    precision, recall = hits / len(got), hits / len(want)
    return 2 * precision * recall / (precision + recall)


def _times(milestone: Json) -> set[str]:
    if milestone.get("due_is_default"):
        return set()
    return {milestone["rrule"]} if milestone.get("rrule") else {milestone.get("due") or ""}


def _matches(spec: str, name: str) -> bool:
    return any(norm(option) == norm(name) for option in spec.split("|"))


def _unit_f1(duty: Json, lead: list[str], support: list[str]) -> float:
    want = [("lead", u) for u in duty.get("lead", [])]
    want += [("support", u) for u in duty.get("support", [])]
    got = [("lead", u) for u in lead] + [("support", u) for u in support]
    if not want and not got:
        return 1.0
    hits = sum(any(r == gr and _matches(u, g) for gr, g in got) for r, u in want)
    if not hits:
        return 0.0
    precision, recall = hits / len(got), hits / len(want)
    return 2 * precision * recall / (precision + recall)


def _duty_units(duty: Json, task: Json) -> tuple[list[str], list[str]]:
    wanted = set(duty.get("due", [])) | set(duty.get("rrule", []))
    for m in task["milestones"]:
        if _times(m) & wanted and (m.get("lead_units") or m.get("support_units")):
            return m.get("lead_units", []), m.get("support_units", [])
    return task["lead_units"], task["support_units"]


def _task_of(duty: Json, tasks: list[Json]) -> int | None:
    anchor = norm(duty["anchor"])
    for index, task in enumerate(tasks):
        if anchor in norm(task["title"] + task["text"]):
            return index
    return None


def score_reading(name: str, label: Json, out: Json | None, error: str = "") -> DocScore:
    """Score one document; ``out`` is ``ParsedPlan.to_dict()`` (None when the import failed)."""
    duties = label["duties"]
    if out is None:
        found = 1.0 if not duties and "没有找到任何任务" in error else 0.0
        return DocScore(name, len(duties), found, found, found, 0, error)
    tasks = out["tasks"]
    if not duties:  # nothing to chase: any task read is invented
        nothing = float(not tasks)
        return DocScore(name, 0, nothing, nothing, nothing, len(tasks), error)
    where = [_task_of(d, tasks) for d in duties]
    holding = {i for i in where if i is not None}
    recall = sum(i is not None for i in where) / len(duties)
    precision = len(holding) / len(tasks) if tasks else 0.0
    found = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    units = [
        _unit_f1(d, *_duty_units(d, tasks[i])) if i is not None else 0.0
        for d, i in zip(duties, where, strict=True)
    ]
    dates = [_dates_f1(duties, where, i, tasks) for i in where]
    return DocScore(name, len(duties), found, _mean(units), _mean(dates), len(tasks), error)


def _dates_f1(
    duties: list[Json], where: list[int | None], i: int | None, tasks: list[Json]
) -> float:
    """The times of task ``i`` against those labelled for all the duties it holds."""
    if i is None:
        return 0.0
    wanted = {t for d, at in zip(duties, where, strict=True) if at == i for t in _want(d)}
    return _f1(wanted, {t for m in tasks[i]["milestones"] for t in _times(m)})


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 1.0


def _want(duty: Json) -> set[str]:
    return set(duty.get("due", [])) | set(duty.get("rrule", []))
