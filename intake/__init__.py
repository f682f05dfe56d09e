"""Plan importer: read published plan documents into structured tasks.

``parse_path(path)`` reads text (any encoding), Markdown, .docx, .xlsx, .csv, .pdf and saved HTML
pages into one :class:`~intake.document.Document` of blocks, then reads the tasks from it;
``parse_text(text, name=...)`` reads text.
Both return a :class:`ParsedPlan` whose ``to_dict()`` is what ``duban import --dry-run --json``
prints; unusable input raises :class:`IntakeError`, whose message names the file and line.
"""

from __future__ import annotations

from intake.errors import IntakeError
from intake.importer import parse_path, parse_text
from intake.model import ParsedMilestone, ParsedPlan, ParsedTask, ParseWarning, PlanMeta, Warning

__all__ = [
    "IntakeError",
    "ParseWarning",
    "ParsedMilestone",
    "ParsedPlan",
    "ParsedTask",
    "PlanMeta",
    "Warning",
    "parse_path",
    "parse_text",
]
