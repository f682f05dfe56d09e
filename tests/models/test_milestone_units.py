"""Milestone-level owners (issue 13), on SQLite and PostgreSQL: one numbered item holds two
duties with their own units; each duty's obligations are owed by its own units, the review
sheet round-trips them, and an edit of one milestone's units is reconciled on an active plan."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from flows.context import FlowContext
from intake import parse_text
from models.directory import Unit
from models.repo.obligations import activate_plan
from models.repo.plans import load_parsed, store_draft
from models.repo.reconcile import revise_plan
from models.tables import Milestone, Obligation, Task
from notify.config import SendConfig
from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.policy import PolicySet

ACTIVATED = datetime(2024, 3, 4, 9, 0, tzinfo=OFFICE_TZ)
EDITED = datetime(2024, 4, 10, 9, 0, tzinfo=OFFICE_TZ)
PLAN = """示例镇2024年安全生产工作要点

一、重点工作
1. 健全工作机制。2024年4月中旬，镇安委办制定子方案。镇安监所每月26日前向镇安委办报送工作情况。
"""


@pytest.fixture
def ctx(engine: Engine) -> FlowContext:
    return FlowContext(
        engine=engine, send=SendConfig(), calendar=load_calendar(), policies=PolicySet()
    )


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


def _owed(session: Session) -> Counter[tuple[str, str]]:
    stmt = (
        select(Milestone.key, Unit.name, Obligation.status)
        .join(Obligation, col(Obligation.milestone_id) == col(Milestone.id))
        .join(Unit, col(Unit.id) == col(Obligation.unit_id))
    )
    return Counter((row[0], row[1]) for row in session.exec(stmt).all() if row[2] != "waived")


def test_each_milestone_is_owed_by_its_own_units(session: Session, ctx: FlowContext) -> None:
    parsed = parse_text(PLAN, name="要点.txt")
    (task,) = parsed.tasks
    assert [m.lead_units for m in task.milestones] == [["镇安委办"], ["镇安监所"]]
    stored = store_draft(
        session=session, parsed=parsed, source_name="要点.txt", sha256="x", now=ACTIVATED, actor="t"
    )
    rows = session.exec(select(Milestone).order_by(col(Milestone.key))).all()
    assert [(m.lead_units, m.support_units) for m in rows] == [
        (["镇安委办"], []),
        (["镇安监所"], []),
    ]
    assert load_parsed(session=session, plan_id=stored.plan_id).tasks == parsed.tasks
    activate_plan(session=session, ctx=ctx, plan_id=stored.plan_id, now=ACTIVATED, actor="t")
    session.commit()
    owed = _owed(session)
    # The sub-plan is 镇安委办's alone; the monthly report is owed by 镇安监所 only (12 months, the past ones to confirm).
    assert owed[("m1", "镇安委办")] == 1 and owed[("m1", "镇安监所")] == 0
    assert owed[("m2", "镇安监所")] == 12 and owed[("m2", "镇安委办")] == 0

    # The office hands the sub-plan to another unit: 镇安委办's open obligation is waived.
    edited = load_parsed(session=session, plan_id=stored.plan_id)
    first, second = edited.tasks[0].milestones
    first = dataclasses.replace(first, lead_units=["镇应急办"])
    task = dataclasses.replace(
        edited.tasks[0], lead_units=["镇应急办", "镇安监所"], milestones=[first, second]
    )
    edited = dataclasses.replace(edited, tasks=[task])
    revise_plan(
        session=session, ctx=ctx, plan_id=stored.plan_id, edited=edited, now=EDITED, actor="t"
    )
    session.commit()
    # Its 进展报告 (on by default) stay open: they are not waived when its duties move away.
    waived = session.exec(
        select(Obligation).join(Unit, col(Unit.id) == col(Obligation.unit_id))
        .join(Task, col(Task.id) == col(Obligation.task_id))
        .where(Unit.name == "镇安委办", Task.ref != "进展报告")
    ).all()  # fmt: skip
    assert [ob.status for ob in waived] == ["waived"]
    owed = _owed(session)
    assert owed[("m1", "镇应急办")] == 1 and owed[("m2", "镇安监所")] == 12
