"""The tick's papers: a unit's 督办 of a pass issue one numbered 督办单, its second 催办 one 催办单.

Issued after the engine decides and before the message is delivered, in their own transaction:
one paper per unit and kind in a round (a round takes whole units, so everything of a unit that
reaches 督办 at once is one paper listing it all, as the queue puts it on one sheet), and each
action on one paper only: a retried or reclaimed message finds the stored paper and the pipeline
attaches the same files again (notify/pipeline). The sheet link is set when the lines are queued
(models/repo/chase.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from flows.context import FlowContext, flow_context
from models.repo.papers import has_paper_for_due, issue_paper, papers_by_line
from notify.channels import office_info
from notify.papers import (
    PaperFacts,
    PaperLine,
    paper_context,
    paper_files,
    paper_label,
    render_paper_text,
)
from notify.render import Renderer
from schedules.clock import OFFICE_TZ
from schedules.obligation import Reason

if TYPE_CHECKING:
    from flows.tick import Planned

log = logging.getLogger("duban.papers")
REPLY_DAYS = {"office": 3, "chase": 2}  # working days the paper gives the unit to answer
_RENDERERS: dict[int, Renderer] = {}


def paper_kind(p: Planned) -> str | None:
    """`office` for a 督办, `chase` for a repeated (second) 催办, else None."""
    if p.item.stage == "office":
        return "office"
    if p.item.stage == "chase" and p.action.reason == Reason.REPEAT_CHASE:
        return "chase"
    return None


def _renderer(ctx: FlowContext) -> Renderer:
    if id(ctx) not in _RENDERERS:
        _RENDERERS.clear()
        _RENDERERS[id(ctx)] = Renderer(office_info(ctx.send), ctx.send.templates_dir)
    renderer = _RENDERERS[id(ctx)]
    renderer.refresh()
    return renderer


def _groups(planned: Sequence[Planned]) -> dict[tuple[int | None, str, str], list[Planned]]:
    """This round's paper-worthy actions by (unit, kind): one paper each (the unit's name keys
    an obligation without a unit id, so two such units never share a paper)."""
    groups: dict[tuple[int | None, str, str], list[Planned]] = {}
    for p in planned:
        kind = paper_kind(p)
        if kind is None:
            continue
        unit_id = next((u for u, _ in p.targets if u is not None), None)
        groups.setdefault((unit_id, p.item.unit_name, kind), []).append(p)
    return groups


def _line(p: Planned) -> PaperLine:
    item = p.item
    return PaperLine(
        plan=item.plan_title,
        task_ref=item.task_ref,
        task_title=item.task_title,
        milestone=item.milestone,
        role=item.role,
        due=item.due,
        overdue_days=max(0, -item.days_left),
    )


def issue_papers(planned: Sequence[Planned], now: datetime) -> int:
    """Issue the papers this round's actions call for, one per unit and kind listing its items;
    return how many were new. An action already on a paper (a retry) keeps it."""
    groups = _groups(planned)
    if not groups:
        return 0
    ctx = flow_context()
    renderer = _renderer(ctx)
    today = now.astimezone(OFFICE_TZ).date()
    office = {"name": ctx.send.office_name, "contact": ctx.send.office_contact}
    made = 0
    with Session(ctx.engine) as session:
        every = [(p.obligation_id, p.item.seq) for ps in groups.values() for p in ps]
        covered = papers_by_line(session, every)  # actions already on a paper (a retry)
        for (unit_id, unit_name, kind), ps in groups.items():
            if kind == "chase":  # only the second 催办 of an occurrence has a paper
                ps = [
                    p
                    for p in ps
                    if not has_paper_for_due(
                        session, p.obligation_id, "chase", p.item.due.isoformat()
                    )
                ]
            ps = sorted(
                (p for p in ps if (p.obligation_id, p.item.seq) not in covered),
                key=lambda p: (p.item.plan_title, _ref_key(p.item.task_ref), p.item.due),
            )
            if not ps:
                continue
            facts = PaperFacts(
                kind=kind,
                unit=unit_name,
                lines=tuple(_line(p) for p in ps),
                issued=today,
                reply_by=ctx.calendar.add_workdays(today, REPLY_DAYS[kind]),
            )

            def make(number: int, facts: PaperFacts = facts) -> tuple[str, str, bytes, bytes, str]:
                label = paper_label(facts.kind, today.year, number)
                ctx_vars = paper_context(facts, number=label, office=office)
                text = render_paper_text(renderer, facts.kind, ctx_vars)
                docx, pdf, problem = paper_files(text)
                if problem:
                    log.warning("%s 未生成 PDF：%s", label, problem)
                return label, text, docx, pdf, problem

            _, created = issue_paper(
                session=session,
                kind=kind,
                lines=[(p.obligation_id, p.item.seq) for p in ps],
                unit_id=unit_id,
                year=today.year,
                now=now,
                make=make,
            )
            made += created
        session.commit()
    return made


def _ref_key(ref: str) -> tuple[int, str]:
    """Task refs in their natural order ("2" before "10")."""
    head = ref.split(".")[0].split("-")[0]
    return (int(head), ref) if head.isdigit() else (10**9, ref)
