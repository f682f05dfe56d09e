"""Duties in running text: a paragraph outside any numbered item that gives someone a time.

Covering notices and unnumbered paragraphs carry real duties ("各县（区）…要…于2024年3月15日前报
市安办备案。三年行动过程中，每季度报送一次工作进展情况"), and so do section paragraphs written
in one line ("二、细化工作方案。各主要责任单位…于2021年3月15日前报县政府督查室备案"). Each
such paragraph becomes a task of its own, its milestones owned by the actors of their clauses.
A paragraph whose only time is a year ("2024年是…开局之年") or the plan's period is background.

A document with no task at all (a forwarding notice: "请各地、各有关部门…进一步深化安全生产大检查")
is read once more for paragraphs that ask named units to act, each a duty with no time.
"""

from __future__ import annotations

import re

from intake.duties import actors_of
from intake.errors import LineError
from intake.model import ParsedMilestone, ParsedTask
from intake.owners import union_units
from intake.paragraphs import SECTION_CN, Paragraph, build_paragraphs, split_title
from intake.timing import milestones_from_text
from intake.units import BREAK_MARK, find_prose_units, looks_like_unit, split_units
from schedules.timeexpr import (
    PlanContext,
    TimeExprError,
    find_event_phrase,
    find_time_expressions,
)

_CLAUSES = re.compile(r"[^。；;！？，,]+")
# A time that asks for something: a month, a day, a quarter, "底前", a recurrence.
_DEADLINE = re.compile(r"月|日|号|季|周|旬|底|末|内|前|每|半年")


def paragraph_duty(
    p: Paragraph, ctx: PlanContext, *, section: list[str], fragments: list[tuple[int, str]]
) -> ParsedTask | None:
    """The paragraph as a task when it names a time that asks for something, else None."""
    text = p.text.replace(BREAK_MARK, "")
    try:
        specs = find_time_expressions(text, ctx)
    except TimeExprError:
        return None  # an impossible date in text outside the tasks: left to the warnings
    if not any(_DEADLINE.search(s.source_text) for s in specs):
        return None
    numbered = SECTION_CN.match(text)
    body = numbered.group(2) if numbered else text
    title, _ = split_title(body)
    try:
        milestones = milestones_from_text(text, title=title, ctx=ctx, lines=fragments, actors=True)
    except LineError:
        return None
    # Not "2024—2026年" (the period), nor a date before the plan's year (what has happened).
    milestones = [
        m
        for m in milestones
        if _DEADLINE.search(m.source_text) and not (m.due and m.due.year < ctx.year)
    ]
    milestones = [m for m in milestones if not _is_target(m, text)]
    if not milestones:
        return None
    lead, support = union_units(find_prose_units(text), [], milestones)
    return ParsedTask(
        ref=numbered.group(1) if numbered else f"第{p.line}行",
        title=title,
        text=text,
        line=p.line,
        section=section,
        lead_units=lead,
        support_units=support,
        milestones=milestones,
    )


# What a target says will be so ("2022年底前，城乡重大消防安全风险明显减少", "…平台基本建成"):
# a state to reach, asked of nobody, not a duty.
_TARGET_STATE = re.compile(
    r"(?:明显|显著|大幅|持续|进一步|有效|基本|全面|初步|稳步)(?:减少|下降|降低|提升|提高|改善|增强|"
    r"遏制|建成|形成|完善|健全|好转|覆盖|实现)|(?:得到|取得)[^。；;，,]{0,8}(?:遏制|提升|改善|成效|加强)"
)


def _is_target(milestone: ParsedMilestone, text: str) -> bool:
    """True when the milestone's sentence, asking no one, only says what will be so."""
    if milestone.lead_units or milestone.support_units or not milestone.source_text:
        return False
    at = text.find(milestone.source_text)
    if at < 0:
        return False
    begin = max(text.rfind(ch, 0, at) for ch in "。；;！？") + 1
    stops = [i for i in (text.find(ch, at) for ch in "。；;！？") if i >= 0]
    sentence = text[begin : min(stops, default=len(text))]
    return bool(_TARGET_STATE.search(sentence)) and not DELIVERABLE.search(sentence)


# A deliverable the sentence asks of its subject ("制定…方案", "向市政府报告", "开展安全检查",
# "纳入绩效管理考核范围"): what a clerk writes into the 任务清单. Exhortation ("提高站位",
# "加强沟通联系", "建立…工作机制") is not one, nor the supervising office's own 督查.
DELIVERABLE = re.compile(
    r"(?:制定|制订|编制)[^。；;]{0,16}(?:方案|计划|预案|清单)|报送|上报|(?:向|报)[^。；;，,]{0,10}"
    r"(?:报告|备案)|验收|(?:排查|检查)[^。；;，,]{0,6}(?:隐患|风险)|开展[^。；;，,]{0,12}"
    r"(?:检查|排查|演练|培训)|召开[^。；;，,]{0,12}会议|纳入[^。；;，,]{0,16}(?:考核|计划|规划)"
)
_SENTENCES = re.compile(r"[^。！？!?]+")
_LEAD_IN = re.compile(r"^([^，,]{2,10})[，,]\s*")
# "X要…", "X应…", "请X…": the sentence opens with its subject and a modal (or a request).
_MODAL_SUBJECT = re.compile(r"^(?:请|要求)?(.{2,60}?)(?:分别)?(?:要|应当|应|须|必须)(?!求)")


def undated_duties(
    p: Paragraph,
    ctx: PlanContext,
    *,
    section: list[str],
    fragments: list[tuple[int, str]],
    addressed: list[str] | None = None,
) -> list[ParsedTask]:
    """Sentences of a loose paragraph that ask a named unit for a deliverable ("各牵头单位要及时
    向市政府报告…", "区绩效考评机构要将…纳入绩效管理考核范围") or that request ("请各牵头单位…"),
    each a duty of its own; the rest of the paragraph (exhortation, background) is no task."""
    text = p.text.replace(BREAK_MARK, "")
    numbered = SECTION_CN.match(text)
    body = numbered.group(2) if numbered else text
    tasks: list[ParsedTask] = []
    for sentence in _SENTENCES.findall(body):
        full = sentence = sentence.strip()
        lead_in = _LEAD_IN.match(sentence)
        if lead_in and find_event_phrase(lead_in.group(1)):
            sentence = sentence[lead_in.end() :]  # "开学初，各学校要…": the time, then the subject
        request = sentence.startswith(("请", "要求"))
        if addressed and sentence.startswith("要") and DELIVERABLE.search(sentence):
            lead, support = (
                list(addressed),
                list[str](),
            )  # "要结合…开展安全检查": the notice's addressees
        else:
            subject = _MODAL_SUBJECT.match(sentence)
            if subject is None or not (request or DELIVERABLE.search(sentence)):
                continue
            lead, support = actors_of(sentence)
            if not (lead or support) or not all(n in subject.group(1) for n in lead + support):
                continue
        title, _ = split_title(full)
        try:
            milestones = milestones_from_text(full, title=title, ctx=ctx, lines=fragments)
        except LineError:
            milestones = []
        tasks.append(
            ParsedTask(
                ref=f"第{p.line}行" + (f"-{len(tasks) + 1}" if tasks else ""),
                title=title,
                text=full,
                line=p.line,
                section=section,
                lead_units=lead,
                support_units=support,
                milestones=milestones,
            )
        )
    return tasks


def _asked(text: str, addressees: list[str]) -> tuple[list[str], list[str]]:
    """The units a notice asks to act ("请各地、各有关部门按照…", "要求各单位…"); a request that
    names no one ("…转发给你们，请深刻汲取事故教训") asks the units the notice is addressed to.
    "X要加强…" alone exhorts."""
    for clause in _CLAUSES.findall(text):
        clause = clause.strip()
        if clause.startswith(("请", "要求")):
            lead, support = actors_of(clause)
            if lead or support:
                return lead, support
            if clause.startswith("请") and addressees and not _IMPLEMENT_ONLY.fullmatch(clause):
                return list(addressees), []
    return [], []


# "请认真贯彻执行", "请按照要求，结合实际认真抓好落实": implement the document itself, no duty of its own.
_IMPLEMENT_ONLY = re.compile(
    r"请(?:按照要求|结合实际|认真|遵照|贯彻|执行|抓好|落实|一并|研究|组织|实施|参照|及时|切实)+"
)


# "各县(市)、区人民政府，…，市政府安委会各成员单位：" opening a notice: whom it addresses.
_ADDRESS = re.compile(r"^([^。：:]{2,160})[：:]")


def addressees(paragraphs: list[Paragraph]) -> list[str]:
    """The units a notice is addressed to: the first line (of the first few) that is a list of
    units followed by a colon, whether or not the body goes on on the same line."""
    for _, line in [f for p in paragraphs[:8] for f in p.fragments]:
        match = _ADDRESS.match(line.strip())
        if not match:
            continue
        names = split_units(match.group(1))
        if names and all(looks_like_unit(n) for n in names):
            return names
    return []


def requested_duties(
    prose: list[tuple[int, str]], ctx: PlanContext, *, skip: re.Pattern[str]
) -> list[ParsedTask]:
    """Paragraphs that ask named units to act ("请X…"), as undated duties (for a document with no
    task);
    sections whose title ``skip`` matches (aims, principles) are passed over."""
    tasks: list[ParsedTask] = []
    section = ""
    paragraphs = build_paragraphs(prose)
    addressed = addressees(paragraphs)
    for p in paragraphs:
        if p.kind in ("section", "title"):
            section = p.rest if p.kind == "section" else ""
            continue
        text = p.text.replace(BREAK_MARK, "")
        asks = "请" in text or "要求" in text
        if p.kind != "plain" or skip.fullmatch(section.strip(" 。") or "-") or not asks:
            continue
        lead, support = _asked(text, addressed)
        if not (lead or support):
            continue
        title, _ = split_title(text)
        milestones = milestones_from_text(text, title=title, ctx=ctx, lines=p.fragments)
        tasks.append(
            ParsedTask(
                ref=f"第{p.line}行",
                title=title,
                text=text,
                line=p.line,
                section=[section] if section else [],
                lead_units=lead,
                support_units=support,
                milestones=milestones,
            )
        )
    return tasks
