"""The importer's result: plan metadata, tasks, milestones and warnings, as plain dataclasses.

``ParsedPlan.to_dict()`` is the contract that ``duban import PATH --dry-run --json`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class PlanMeta:
    """Title, issuer, document number, issue date and the years the plan covers."""

    title: str = ""
    issuer: str = ""
    doc_no: str = ""
    issued_on: date | None = None
    year: int | None = None
    until_year: int | None = None
    # Where the year came from when neither the title, the file name, the signature date nor
    # the document number gives it: "body" (the first date of the text, at ``year_line``) or
    # "assumed" (no year anywhere: the year of the import). Either is listed for review.
    year_basis: str = ""
    year_line: int = 0
    year_text: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form (the date as an ISO string)."""
        return {
            "title": self.title,
            "issuer": self.issuer,
            "doc_no": self.doc_no,
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
            "year": self.year,
            "until_year": self.until_year,
        }


@dataclass
class ParsedMilestone:
    """One deadline (``due``) or one recurrence (``rrule`` from ``dtstart`` to ``until``).

    ``lead_units``/``support_units`` are the actors of the milestone's own clause, when it names
    them ("2024年4月中旬，镇安委会有关成员单位…"); empty means the task's units.
    """

    label: str
    source_text: str
    due: date | None = None
    rrule: str | None = None
    dtstart: date | None = None
    until: date | None = None
    due_is_default: bool = False
    lead_units: list[str] = field(default_factory=list)
    support_units: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form: ``due`` or ``rrule``/``dtstart``/``until``."""
        out: dict[str, Any] = {"label": self.label}
        if self.rrule:
            out["rrule"] = self.rrule
            out["dtstart"] = self.dtstart.isoformat() if self.dtstart else None
            out["until"] = self.until.isoformat() if self.until else None
        else:
            out["due"] = self.due.isoformat() if self.due else None
        if self.due_is_default:
            out["due_is_default"] = True
        if self.lead_units or self.support_units:
            out["lead_units"] = list(self.lead_units)
            out["support_units"] = list(self.support_units)
        out["source_text"] = self.source_text
        return out


@dataclass
class ParsedTask:
    """A task as the plan states it; ``line`` is where it starts in the source."""

    ref: str
    title: str
    text: str
    line: int
    section: list[str] = field(default_factory=list)
    lead_units: list[str] = field(default_factory=list)
    support_units: list[str] = field(default_factory=list)
    leaders: list[str] = field(default_factory=list)
    milestones: list[ParsedMilestone] = field(default_factory=list)

    @property
    def has_owner(self) -> bool:
        """True when the task or one of its milestones names a lead or support unit."""
        stones = any(m.lead_units or m.support_units for m in self.milestones)
        return bool(self.lead_units or self.support_units or stones)

    @property
    def is_dated(self) -> bool:
        """True when a milestone has a time of the plan's own (not the defaulted year end)."""
        return any(not m.due_is_default for m in self.milestones)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form of the task and its milestones."""
        return {
            "ref": self.ref,
            "section": list(self.section),
            "title": self.title,
            "text": self.text,
            "lead_units": list(self.lead_units),
            "support_units": list(self.support_units),
            "leaders": list(self.leaders),
            "milestones": [m.to_dict() for m in self.milestones],
            "line": self.line,
        }


@dataclass
class Warning:  # the contract's name; ParseWarning is the alias that shadows nothing
    """Something the importer saw but could not interpret; nothing is dropped silently."""

    line: int
    text: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form."""
        return {"line": self.line, "text": self.text, "message": self.message}


ParseWarning = Warning


@dataclass
class ParsedPlan:
    """Everything read from one plan document."""

    meta: PlanMeta
    tasks: list[ParsedTask] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    source: str = ""

    def unowned(self) -> list[ParsedTask]:
        """The tasks nobody would be chased for: no lead or support unit anywhere."""
        return [t for t in self.tasks if not t.has_owner]

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"plan": …, "tasks": […], "warnings": […]}`` with dates as ISO strings."""
        return {
            "plan": self.meta.to_dict(),
            "tasks": [t.to_dict() for t in self.tasks],
            "warnings": [w.to_dict() for w in self.warnings],
        }


def unowned_items(tasks: list[ParsedTask]) -> list[dict[str, Any]]:
    """``{"ref", "title", "dated"}`` of tasks that name no unit: what the office must fill in."""
    return [{"ref": t.ref, "title": t.title, "dated": t.is_dated} for t in tasks]
