"""Compare a stored plan with an edited one (pure over loaded rows): the list of changes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any

from intake.model import ParsedMilestone, ParsedPlan, ParsedTask, PlanMeta
from intake.review_format import format_milestone
from models.repo.plan_rows import (
    TaskRows,
    clip,
    key_number,
    milestone_key,
    new_milestone,
    to_parsed_milestone,
    to_parsed_task,
    unique_names,
)
from models.tables import Plan
from schedules.progress import PROGRESS_REF

META_FIELDS = {
    "title": "标题",
    "issuer": "发文单位",
    "doc_no": "文号",
    "issued_on": "发文日期",
    "year": "年度",
    "until_year": "截止年度",
}
TASK_FIELDS = {
    "title": "任务",
    "section": "章节",
    "lead_units": "责任单位",
    "support_units": "配合单位",
    "leaders": "区领导",
    "text": "任务内容",
}
SCHEDULE_FIELDS = ("due", "rrule", "dtstart", "until")
MILESTONE_UNIT_FIELDS = ("lead_units", "support_units")
_MILESTONE_FIELDS = (
    *SCHEDULE_FIELDS,
    "due_is_default",
    "source_text",
    "label",
    *MILESTONE_UNIT_FIELDS,
)
_META_LIMITS = {"title": 500, "issuer": 200, "doc_no": 100}


@dataclass
class Change:
    """One difference: a plan field, a task added/removed/changed, a milestone added/removed/changed."""

    kind: str  # plan | task_added | task_removed | task | milestone_added | milestone_removed | milestone
    ref: str = ""
    key: str = ""
    field: str = ""
    old: Any = None
    new: Any = None
    fields: list[str] = dataclasses.field(default_factory=list)
    edited: ParsedTask | ParsedMilestone | None = dataclasses.field(
        default=None, repr=False, compare=False
    )

    @property
    def moves_schedule(self) -> bool:
        """True when a milestone's due date or recurrence changed (its obligations must be re-planned)."""
        return self.kind == "milestone" and any(f in SCHEDULE_FIELDS for f in self.fields)

    @property
    def action(self) -> str:
        """The audit action for this change."""
        if self.kind == "milestone":
            return "milestone_moved" if self.moves_schedule else "milestone_changed"
        return {"plan": "plan_changed", "task": "task_changed"}.get(self.kind, self.kind)

    def describe(self) -> str:
        """One line in Chinese, as ``duban plan apply`` prints it."""
        if self.kind == "plan":
            label = META_FIELDS[self.field]
            return f"计划 {label}：{_show(self.old)} → {_show(self.new)}"
        if self.kind in ("task_added", "task_removed"):
            verb = "新增" if self.kind == "task_added" else "删除"
            return f"{verb}任务 {self.ref}：{_show(self.new if verb == '新增' else self.old)}"
        if self.kind == "task":
            label = TASK_FIELDS[self.field]
            return f"任务 {self.ref} {label}：{_show(self.old)} → {_show(self.new)}"
        verb = {"milestone_added": "新增", "milestone_removed": "删除"}.get(self.kind, "修改")
        return f"任务 {self.ref} 里程碑 {self.key} {verb}：{_show(self.old)} → {_show(self.new)}"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form (also the audit event's data)."""
        out: dict[str, Any] = {"kind": self.kind, "ref": self.ref, "key": self.key}
        out.update(field=self.field, fields=self.fields)
        out.update(old=_jsonable(self.old), new=_jsonable(self.new), text=self.describe())
        return out


def _show(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "（空）"
    if isinstance(value, ParsedMilestone):
        return format_milestone(value)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"


def _jsonable(value: Any) -> Any:
    if isinstance(value, ParsedMilestone):
        return value.to_dict()
    if isinstance(value, date):
        return value.isoformat()
    return value


def diff_meta(plan: Plan, meta: PlanMeta) -> list[Change]:
    """Changes to the plan's own fields (title, issuer, document number, dates)."""
    changes = []
    for name in META_FIELDS:
        new = getattr(meta, name)
        if name in _META_LIMITS:
            new = new[: _META_LIMITS[name]]
        if getattr(plan, name) != new:
            changes.append(Change(kind="plan", field=name, old=getattr(plan, name), new=new))
    return changes


def diff_tasks(stored: list[TaskRows], edited: ParsedPlan) -> list[Change]:
    """Tasks removed, added and changed (matched by ref), in the edited plan's order."""
    by_ref = {r.task.ref: r for r in stored}
    wanted = {clip(t.ref, "ref") for t in edited.tasks}
    changes = [
        Change(kind="task_removed", ref=r.task.ref, old=r.task.title)
        for r in stored
        if r.task.ref not in wanted and r.task.ref != PROGRESS_REF  # duban's own, not the text's
    ]
    for task in edited.tasks:
        rows = by_ref.get(clip(task.ref, "ref"))
        if rows is None:
            changes.append(Change(kind="task_added", ref=task.ref, new=task.title, edited=task))
            continue
        changes += _diff_task(rows, task)
    return changes


def _diff_task(rows: TaskRows, task: ParsedTask) -> list[Change]:
    old = to_parsed_task(rows)
    new = _normalised_task(task)
    changes = [
        Change(
            kind="task",
            ref=old.ref,
            field=name,
            old=getattr(old, name),
            new=getattr(new, name),
            edited=new,
        )
        for name in TASK_FIELDS
        if getattr(old, name) != getattr(new, name)
    ]
    return changes + _diff_milestones(rows, new)


def _normalised_task(task: ParsedTask) -> ParsedTask:
    """The task as it would be stored: fields clipped, names each once."""
    return ParsedTask(
        ref=clip(task.ref, "ref"),
        title=clip(task.title, "title"),
        text=task.text,
        line=task.line,
        section=list(task.section),
        lead_units=unique_names(task.lead_units),
        support_units=unique_names(task.support_units),
        leaders=unique_names(task.leaders),
        milestones=[to_parsed_milestone(new_milestone(0, "", m)) for m in task.milestones],
    )


def _diff_milestones(rows: TaskRows, task: ParsedTask) -> list[Change]:
    """Milestones matched by position; extra edited ones get new keys after the highest."""
    changes = []
    stored = rows.milestones
    next_key = max((key_number(m.key) for m in stored), default=0) + 1
    for index, new in enumerate(task.milestones):
        if index >= len(stored):
            key = milestone_key(next_key)
            next_key += 1
            changes.append(
                Change(kind="milestone_added", ref=task.ref, key=key, new=new, edited=new)
            )
            continue
        old = to_parsed_milestone(stored[index])
        fields = [f for f in _MILESTONE_FIELDS if getattr(old, f) != getattr(new, f)]
        if fields:
            changes.append(
                Change(
                    kind="milestone",
                    ref=task.ref,
                    key=stored[index].key,
                    old=old,
                    new=new,
                    fields=fields,
                    edited=new,
                )
            )
    for row in stored[len(task.milestones) :]:
        changes.append(
            Change(
                kind="milestone_removed", ref=task.ref, key=row.key, old=to_parsed_milestone(row)
            )
        )
    return changes
