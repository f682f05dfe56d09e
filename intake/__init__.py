"""Plan importer: read published plan documents into structured tasks.

``parse_path(path)`` reads text (any encoding), Markdown, .docx, .xlsx, .csv, .pdf and saved HTML
pages into one :class:`~intake.document.Document` of blocks, then reads the tasks from it;
``parse_text(text, name=...)`` reads text.
Both return a :class:`ParsedPlan` whose ``to_dict()`` is what ``duban import --dry-run --json``
prints; unusable input raises :class:`IntakeError`, whose message names the file and line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from intake.errors import IntakeError
    from intake.importer import parse_path, parse_text
    from intake.model import (
        ParsedMilestone,
        ParsedPlan,
        ParsedTask,
        ParseWarning,
        PlanMeta,
        Warning,
    )

# The readers (python-docx, openpyxl, lxml, pdfplumber) load only when a plan is read: every
# command's settings import `intake.limits`, and `duban status` must not pay for them.
_WHERE = {
    "IntakeError": "intake.errors",
    "parse_path": "intake.importer",
    "parse_text": "intake.importer",
    **dict.fromkeys(
        ("ParsedMilestone", "ParsedPlan", "ParsedTask", "ParseWarning", "PlanMeta", "Warning"),
        "intake.model",
    ),
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'intake' has no attribute {name!r}")


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
