"""Rows of a stored plan: write a parsed task as Task/TaskUnit/Milestone rows, and read them back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from intake.model import ParsedMilestone, ParsedTask
from models.tables import Milestone, Task, TaskUnit

ROLES = ("lead", "support", "leader")
ROLE_NAMES = {"lead": "责任单位", "support": "配合单位", "leader": "区领导"}
ROLE_FIELDS = {"lead": "lead_units", "support": "support_units", "leader": "leaders"}

# Column lengths of models.tables: PostgreSQL refuses longer strings, SQLite would keep them.
_LIMITS = {"ref": 50, "title": 500, "label": 500, "source_text": 500, "name": 200}


class PlanError(Exception):
    """A plan operation the office asked for that cannot be done; the message is in Chinese."""


def clip(value: str, column: str) -> str:
    """Shorten `value` to fit its column, marking the cut with …."""
    limit = _LIMITS[column]
    return value if len(value) <= limit else value[: limit - 1] + "…"


def unique_names(names: Iterable[str]) -> list[str]:
    """The names in order, each once, blanks dropped, clipped to the column."""
    seen: list[str] = []
    for name in names:
        name = clip(name.strip(), "name")
        if name and name not in seen:
            seen.append(name)
    return seen


def task_parties(task: ParsedTask) -> list[tuple[str, str]]:
    """(role, name) for every party a task names, leads first."""
    return [
        (role, name) for role in ROLES for name in unique_names(getattr(task, ROLE_FIELDS[role]))
    ]


def milestone_key(index: int) -> str:
    """The stable key of a task's milestone: "m1", "m2", … in the order the plan gives them."""
    return f"m{index}"


def key_number(key: str) -> int:
    """The number in a milestone key ("m12" → 12); 0 for keys of another shape."""
    return int(key[1:]) if key[:1] == "m" and key[1:].isdigit() else 0


@dataclass
class TaskRows:
    """A task's rows as stored: the task, its parties by role, its milestones in key order."""

    task: Task
    units: dict[str, list[TaskUnit]]
    milestones: list[Milestone]


def add_task(*, session: Session, plan_id: int, position: int, parsed: ParsedTask) -> Task:
    """Insert a task with its parties and milestones (keys m1, m2, …); flushed, not committed."""
    task = Task(plan_id=plan_id, ref=parsed.ref, position=position, line=parsed.line)
    fill_task(task, parsed)
    session.add(task)
    session.flush()
    assert task.id is not None
    for role in ROLES:
        write_units(session, task.id, role, getattr(parsed, ROLE_FIELDS[role]))
    for index, m in enumerate(parsed.milestones, start=1):
        session.add(new_milestone(task.id, milestone_key(index), m))
    session.flush()
    return task


def fill_task(task: Task, parsed: ParsedTask) -> None:
    """Copy the task's own fields (not parties or milestones) from `parsed`."""
    task.ref = clip(parsed.ref, "ref")
    task.title = clip(parsed.title, "title")
    task.text = parsed.text
    task.section = list(parsed.section)


def write_units(session: Session, task_id: int, role: str, names: Iterable[str]) -> None:
    """Add the task's parties of one role, in order."""
    for position, name in enumerate(unique_names(names)):
        session.add(TaskUnit(task_id=task_id, role=role, name=name, position=position))


def new_milestone(task_id: int, key: str, parsed: ParsedMilestone) -> Milestone:
    """A Milestone row for `parsed` under `key`."""
    row = Milestone(task_id=task_id, key=key)
    fill_milestone(row, parsed)
    return row


def fill_milestone(row: Milestone, parsed: ParsedMilestone) -> None:
    """Copy a parsed milestone's fields into a row."""
    row.label = clip(parsed.label, "label")
    row.source_text = clip(parsed.source_text, "source_text")
    row.due = None if parsed.rrule else parsed.due
    row.rrule = parsed.rrule or None
    row.dtstart = parsed.dtstart if parsed.rrule else None
    row.until = parsed.until if parsed.rrule else None
    row.due_is_default = parsed.due_is_default
    row.is_report = is_report_milestone(parsed)
    row.lead_units = unique_names(parsed.lead_units)
    row.support_units = [n for n in unique_names(parsed.support_units) if n not in row.lead_units]


REPORT_WORDS = ("报送", "上报", "报告", "月报", "报表", "填报")


def is_report_milestone(parsed: ParsedMilestone) -> bool:
    """A monthly duty to report (每月26日前报送…): submitting it is what closes that month."""
    rule = (parsed.rrule or "").upper()
    text = f"{parsed.label}{parsed.source_text}"
    return (
        "FREQ=MONTHLY" in rule and "INTERVAL" not in rule and any(w in text for w in REPORT_WORDS)
    )


def load_task_rows(session: Session, plan_id: int) -> list[TaskRows]:
    """Every task of a plan with its parties and milestones, in plan order."""
    tasks = session.exec(
        select(Task).where(Task.plan_id == plan_id).order_by(col(Task.position), col(Task.id))
    ).all()
    out = []
    for task in tasks:
        units = session.exec(
            select(TaskUnit).where(TaskUnit.task_id == task.id).order_by(col(TaskUnit.position))
        ).all()
        by_role: dict[str, list[TaskUnit]] = {role: [] for role in ROLES}
        for u in units:
            by_role.setdefault(u.role, []).append(u)
        stones = session.exec(select(Milestone).where(Milestone.task_id == task.id)).all()
        ordered = sorted(stones, key=lambda m: (key_number(m.key), m.id or 0))
        out.append(TaskRows(task=task, units=by_role, milestones=ordered))
    return out


def to_parsed_task(rows: TaskRows) -> ParsedTask:
    """A stored task back in the importer's shape."""
    t = rows.task
    return ParsedTask(
        ref=t.ref,
        title=t.title,
        text=t.text,
        line=t.line or 0,
        section=list(t.section or []),
        lead_units=[u.name for u in rows.units["lead"]],
        support_units=[u.name for u in rows.units["support"]],
        leaders=[u.name for u in rows.units["leader"]],
        milestones=[to_parsed_milestone(m) for m in rows.milestones],
    )


def to_parsed_milestone(m: Milestone) -> ParsedMilestone:
    """A stored milestone back in the importer's shape."""
    return ParsedMilestone(
        label=m.label,
        source_text=m.source_text,
        due=m.due,
        rrule=m.rrule,
        dtstart=m.dtstart,
        until=m.until,
        due_is_default=m.due_is_default,
        lead_units=list(m.lead_units or []),
        support_units=list(m.support_units or []),
    )
