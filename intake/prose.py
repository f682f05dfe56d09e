"""Prose plans → tasks.

One task per numbered item ("12. …（区应急局、各街镇）"); where a subsection ((一)) has no
numbered items, the subsection itself is the task. Units come from the parentheses that close
an item, else from sentences that make a unit responsible ("建管部门要…"). Section numbering
may be inconsistent (一、 2、 3、 四、): an Arabic "N、" heading right after section N-1 is read
as a section, not an item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from intake.duties import actors_of, sentence_actors
from intake.loose import DELIVERABLE, addressees, paragraph_duty, undated_duties
from intake.model import ParsedTask, Warning
from intake.owners import ends_with_units, take_unit_group, task_units, union_units
from intake.paragraphs import (
    Paragraph,
    build_paragraphs,
    classify,
    is_heading_like,
    split_title,
)
from intake.supervision import supervised_items
from intake.timing import milestones_from_text
from intake.units import (
    BREAK_MARK,
    find_labelled_units,
)
from schedules.timeexpr import PlanContext

_ANNEX_LIST = re.compile(r"^附件\s*[:：]?\s*1\s*[.．、]")
_CN_VALUE = {ch: i for i, ch in enumerate("一二三四五六七八九十", start=1)}
# Boilerplate sections that describe the plan itself rather than assign work.
NOT_TASKS = re.compile(
    r"(?:指导思想|总体要求|主要目标|总体目标|工作目标|组织领导|组织机构|基本原则|工作原则|编制依据|成立\S*领导小组)"
)


@dataclass
class _Open:
    """The item or subsection being read; ``closed`` once its unit parentheses were seen."""

    ref: str
    title: str
    section: list[str]
    paragraphs: list[Paragraph] = field(default_factory=list)
    closed: bool = False
    has_items: bool = False
    qualifier: str = ""


@dataclass
class _State:
    ctx: PlanContext
    section_no: str = ""
    section_title: str = ""
    section_value: int = 0
    items_since_section: bool = False
    subsection: _Open | None = None
    item: _Open | None = None
    section_actors: tuple[list[str], list[str]] = ([], [])
    annexes: bool = False
    ended: bool = False
    addressed: list[str] = field(default_factory=list)
    tasks: list[ParsedTask] = field(default_factory=list)
    qualifiers: list[str] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)


def parse_prose(
    prose: list[tuple[int, str]], ctx: PlanContext
) -> tuple[list[ParsedTask], list[Warning]]:
    """Read tasks, their milestones and the warnings from the prose lines of a plan."""
    state = _State(ctx=ctx)
    paragraphs = build_paragraphs(prose)
    state.addressed = addressees(paragraphs)
    for paragraph in paragraphs:
        _feed(state, paragraph)
    _close_item(state)
    _close_subsection(state)
    _qualify_restarted_numbers(state)
    return state.tasks, state.warnings


def _qualify_restarted_numbers(state: _State) -> None:
    """Items numbered afresh in each subsection get refs such as "二、(一)1"."""
    refs = [t.ref for t in state.tasks if t.ref.isdigit()]
    if len(refs) == len(set(refs)):
        return
    for task, qualifier in zip(state.tasks, state.qualifiers, strict=True):
        if task.ref.isdigit():
            task.ref = qualifier + task.ref


def _feed(state: _State, p: Paragraph) -> None:
    if p.kind == "section_ar":
        p.kind = "section" if _is_arabic_section(state, p) else "item"
    listing = state.annexes
    state.annexes = p.kind == "end" and bool(_ANNEX_LIST.match(_plain(p.text)))
    if listing and p.kind == "item" and is_heading_like(p):
        state.annexes = True  # "附件：1.…" then "2.十方面民生实事责任分解": names of attachments
        return
    if p.kind in ("section", "title", "end"):
        _close_item(state)
        _close_subsection(state)
        # End matter only counts once the body has started: letterheads come first.
        state.ended = p.kind == "end" and bool(state.tasks)
        if p.kind == "section":
            _open_section(state, p)
        return
    if p.kind == "subsection":
        _close_item(state)
        _close_subsection(state)
        state.ended = False
        inline = _INLINE_ITEM.match(p.rest)
        if inline:  # "(一)宣传报道 1、6月1日上午，…": the first item runs on after the heading
            p.rest = inline.group(1)
            _open_subsection(state, p)
            item = Paragraph(line=p.line, text=inline.group(2), fragments=p.fragments)
            classify(item)
            _feed(state, item)
            return
        _open_subsection(state, p)
    elif p.kind == "item" and _is_field_item(state, p):
        p.kind = "plain"  # "1.活动时间：…" "2.活动内容：…" "3.组织单位：…": fields of one task
        _feed_plain(state, p)
    elif p.kind == "item":
        _close_item(state)
        state.ended = False
        _open_item(state, p)
    else:
        _feed_plain(state, p)


_INLINE_ITEM = re.compile(
    r"^([^\s。，,；;：:]{2,16})\s+(\d{1,2}\s*(?:、|[.．](?!\d))\s*\S.*)$", re.S
)
_FIELD = re.compile(r"^[\u4e00-\u9fff]{2,6}[：:]")


def _is_field_item(state: _State, p: Paragraph) -> bool:
    """A numbered line that is a labelled field ("2.活动内容：…") of the subsection it is in."""
    return state.subsection is not None and state.item is None and bool(_FIELD.match(p.rest))


def _is_arabic_section(state: _State, p: Paragraph) -> bool:
    """Read "2、 标题" as a section when it follows section 1 and no numbered list is running."""
    if state.items_since_section or not is_heading_like(p) or ends_with_units(p.text):
        return False
    return int(p.number) == state.section_value + 1


def _open_section(state: _State, p: Paragraph) -> None:
    state.section_actors = ([], [])
    state.section_no = p.number
    state.section_title = _strip_number(p.rest)
    value = int(p.number) if p.number.isdigit() else _cn_value(p.number)
    state.section_value = value
    state.items_since_section = False


def _cn_value(numeral: str) -> int:
    if numeral.startswith("十"):
        return 10 + _CN_VALUE.get(numeral[1:], 0) if len(numeral) > 1 else 10
    if "十" in numeral:
        tens, _, units = numeral.partition("十")
        return _CN_VALUE[tens] * 10 + _CN_VALUE.get(units, 0)
    return _CN_VALUE.get(numeral, 0)


def _strip_number(text: str) -> str:
    return text.replace(BREAK_MARK, "").strip(" 。")


def _open_subsection(state: _State, p: Paragraph) -> None:
    title, _ = split_title(p.rest)
    ref = f"{state.section_no}、({p.number})" if state.section_no else f"({p.number})"
    section = [state.section_title] if state.section_title else []
    state.subsection = _Open(ref=ref, title=title, section=section)
    body = Paragraph(line=p.line, text=p.rest, fragments=p.fragments)
    state.subsection.paragraphs.append(body)


def _open_item(state: _State, p: Paragraph) -> None:
    state.items_since_section = True
    section = [s for s in (state.section_title, _sub_title(state)) if s]
    title, _ = split_title(p.rest)
    body = Paragraph(line=p.line, text=p.rest, fragments=p.fragments)
    state.item = _Open(ref=p.number, title=title, section=section, paragraphs=[body])
    sub = state.subsection.ref if state.subsection is not None else ""
    state.item.qualifier = sub or (f"{state.section_no}、" if state.section_no else "")
    state.item.closed = ends_with_units(p.rest)
    if state.subsection is not None:
        state.subsection.has_items = True


def _sub_title(state: _State) -> str:
    return state.subsection.title if state.subsection is not None else ""


def _feed_plain(state: _State, p: Paragraph) -> None:
    item = state.item
    if item is not None and not item.closed:
        item.paragraphs.append(p)
        item.closed = ends_with_units(p.text)
    elif state.subsection is not None and not state.subsection.has_items and item is None:
        state.subsection.paragraphs.append(p)
    elif _loose_duty(state, p):
        return
    elif item is None and state.subsection is None and state.section_no and not state.ended:
        _note_section_actors(state, p)
    elif item is not None or state.ended:
        message = "这段文字不属于任何任务，已忽略" if item else "正文结束后的文字，已忽略"
        state.warnings.append(Warning(line=p.line, text=_plain(p.text)[:80], message=message))


def _note_section_actors(state: _State, p: Paragraph) -> None:
    """ "各地、各有关部门聚焦3个时间段…" opening a section: the actors of its parts that name none."""
    lead, support = sentence_actors(_plain(p.text))
    if lead or support:
        state.section_actors = (lead, support)


def _loose_duty(state: _State, p: Paragraph) -> bool:
    """A dated paragraph outside the numbered tasks is a duty of its own (intake/loose.py),
    except in the sections that state aims and principles (指导思想, 工作目标 …)."""
    if NOT_TASKS.fullmatch(state.section_title or "-"):
        return False
    section = [state.section_title] if state.section_title else []
    task = paragraph_duty(p, state.ctx, section=section, fragments=p.fragments)
    found = [task] if task is not None else []
    if not found and state.item is None:
        found = undated_duties(
            p, state.ctx, section=section, fragments=p.fragments, addressed=state.addressed
        )
    state.tasks += found
    state.qualifiers += [""] * len(found)
    return bool(found)


def _plain(text: str) -> str:
    return text.replace(BREAK_MARK, "")


def _close_item(state: _State) -> None:
    if state.item is not None:
        state.tasks.append(_with_section_actors(_to_task(state.item, state.ctx), state))
        state.qualifiers.append(state.item.qualifier)
    state.item = None


def _close_subsection(state: _State) -> None:
    sub = state.subsection
    state.subsection = None
    if sub is None or sub.has_items:
        return
    if any(NOT_TASKS.fullmatch(t) for t in [sub.title, *sub.section]):
        return
    task = _to_task(sub, state.ctx)
    if not (task.title + task.text).strip():
        return  # "(一)" and nothing after it: a copy cut off, no task to chase
    if _says_how_roles_work(task):
        return
    state.tasks.append(_with_section_actors(task, state))
    state.qualifiers.append("")


# Roles a plan gives, not units: "牵头部门要…", "配合单位要…", "分管副市长要亲自抓…".
_ROLE_SUBJECT = re.compile(
    r"^(?:各)?(?:牵头|配合|责任|协办|主办|主责)(?:部门|单位)|^分管\S{0,4}(?:领导|长)|^主要领导"
)
_MODAL = re.compile(
    r"(?<![主重需只纲])要(?!求|点)|(?<!响|适|对|供|效|反)应(?!急|用|对)|(?<!必)须|必须"
)


def _says_how_roles_work(task: ParsedTask) -> bool:
    """An undated subsection whose every clause with a modal (要/应/须) tells a role how to work
    ("牵头部门要树立主责主抓意识…；配合单位要靠前一步…") and that asks for nothing to be delivered:
    how the plan is run, no duty."""
    if any(not m.due_is_default or m.source_text for m in task.milestones):
        return False
    if DELIVERABLE.search(task.text):
        return False
    clauses = [c.strip() for c in re.split(r"[。；;，,]", task.text) if _MODAL.search(c)]
    return len(clauses) >= 2 and all(_ROLE_SUBJECT.match(c) for c in clauses)


def _with_section_actors(task: ParsedTask, state: _State) -> ParsedTask:
    if not task.has_owner:
        task.lead_units, task.support_units = (list(u) for u in state.section_actors)
    return task


def _to_task(open_: _Open, ctx: PlanContext) -> ParsedTask:
    text = "\n".join(p.text for p in open_.paragraphs)
    body, group = take_unit_group(text)
    lead, support = task_units(body, group)
    lines = fragments_of(open_.paragraphs)
    explicit = group is not None or find_labelled_units(body) is not None
    milestones = milestones_from_text(
        _plain(text), title=open_.title, ctx=ctx, lines=lines, actors=not explicit
    )
    milestones += supervised_items(_plain(body), milestones)
    if not explicit:  # "此项工作由X部署，Y落实，Z负责协调": the sentence that hands the item over
        by_lead, by_support = _assigned_by(_plain(body))
        lead = by_lead + [n for n in lead if n not in by_lead]
        support = by_support + [n for n in support if n not in by_support and n not in lead]
    lead, support = union_units(lead, support, milestones)
    return ParsedTask(
        ref=open_.ref,
        title=open_.title,
        text=_plain(body),
        line=open_.paragraphs[0].line,
        section=open_.section,
        lead_units=lead,
        support_units=support,
        milestones=milestones,
    )


_BY_SENTENCE = re.compile(
    r"(?:^|[。；;])\s*((?:(?:此|该|这)项(?:工作|任务|活动))?由[^。；;]{2,60})"
)


def _assigned_by(text: str) -> tuple[list[str], list[str]]:
    """ "此项工作由X、Y负责组织协调": the units a sentence of the item hands the work to."""
    lead: list[str] = []
    support: list[str] = []
    for match in _BY_SENTENCE.finditer(text):
        # "由X部署，Y落实，Z负责协调": each clause names its part of the work.
        for clause in re.split(r"[，,]", match.group(1)):
            found = actors_of(clause)
            lead += [n for n in found[0] if n not in lead]
            support += [n for n in found[1] if n not in support and n not in lead]
    return lead, support


def fragments_of(task_paragraphs: list[Paragraph]) -> list[tuple[int, str]]:
    """All (line, text) fragments of a task, for reporting a bad date on its own line."""
    return [f for p in task_paragraphs for f in p.fragments]
