"""The tick's papers: each 督办 issues a numbered 督办单, each second 催办 a 催办单.

Issued after the engine decides and before the message is delivered, in their own transaction,
once per (obligation, action): a retried or reclaimed message finds the stored paper and the
pipeline attaches the same files again (notify/pipeline).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from flows.context import FlowContext, flow_context
from models.repo.papers import has_paper_for_due, issue_paper
from notify.channels import office_info
from notify.papers import PaperFacts, paper_context, paper_files, paper_label, render_paper_text
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
        _RENDERERS[id(ctx)] = Renderer(office_info(ctx.settings), ctx.settings.templates_dir)
    renderer = _RENDERERS[id(ctx)]
    renderer.refresh()
    return renderer


def issue_papers(planned: Sequence[Planned], now: datetime) -> int:
    """Issue the papers this round's actions call for; return how many were new."""
    wanted = [(p, kind) for p in planned if (kind := paper_kind(p)) is not None]
    if not wanted:
        return 0
    ctx = flow_context()
    renderer = _renderer(ctx)
    today = now.astimezone(OFFICE_TZ).date()
    office = {"name": ctx.settings.office_name, "contact": ctx.settings.office_contact}
    made = 0
    with Session(ctx.engine) as session:
        for p, kind in wanted:
            item = p.item
            if kind == "chase" and has_paper_for_due(
                session, p.obligation_id, "chase", item.due.isoformat()
            ):
                continue  # only the second 催办 of an occurrence has a paper
            facts = PaperFacts(
                kind=kind,
                unit=item.unit_name,
                plan=item.plan_title,
                task_ref=item.task_ref,
                task_title=item.task_title,
                milestone=item.milestone,
                role=item.role,
                due=item.due,
                overdue_days=max(0, -item.days_left),
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

            unit_id = next((u for u, _ in p.targets if u is not None), None)
            _, created = issue_paper(
                session=session,
                obligation_id=p.obligation_id,
                kind=kind,
                seq=item.seq,
                unit_id=unit_id,
                year=today.year,
                now=now,
                make=make,
            )
            made += created
        session.commit()
    return made
