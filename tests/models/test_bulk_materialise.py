"""The set-based materialisation (PostgreSQL) writes exactly the rows of the row-by-row path, in
the same order, at activation, when a unit joins and after a recurrence edit; a failure part-way
through an activation leaves nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from flows.context import FlowContext
from intake import parse_path
from models.db import session_scope
from models.directory import GroupMember, Unit, UnitGroup
from models.repo import bulk_obligations
from models.repo.obligations import activate_plan, materialise_plan
from models.repo.plans import store_draft
from models.tables import AuditEvent, Milestone, Obligation, Plan, Task
from notify.config import SendConfig
from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.policy import Policy, PolicySet

ACTIVATED = datetime(2024, 4, 15, 10, 0, tzinfo=OFFICE_TZ)
JOINED = datetime(2024, 7, 1, 10, 0, tzinfo=OFFICE_TZ)
# A one-off duty with a lead and a support unit, a monthly report owed by a group (March is past
# at activation: to confirm), a year-long duty (early reminder), and progress reports on.
PLAN = """序号,任务,时间节点,责任单位,配合单位,区领导
1,开展安全生产大检查,2024年9月26日前,区应急局,区建管委,
2,报送月度安全生产工作情况,每月26日前,各街镇,区应急局,
3,完成隐患整改销号,2024年12月31日前,各街镇,区建管委,
"""
STREETS = ("甲街道", "乙街道", "丙街道")
# Every column the two paths must agree on (ids aside, which differ by plan).
COLUMNS = [
    c.name
    for c in Obligation.__table__.c  # type: ignore[attr-defined]
    if c.name not in ("id", "plan_id", "task_id", "milestone_id")
]


@pytest.fixture
def engine_pg(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("the set-based path is PostgreSQL's; SQLite writes row by row")
    return engine


@pytest.fixture
def ctx(engine_pg: Engine) -> FlowContext:
    return FlowContext(
        engine=engine_pg,
        send=SendConfig(),
        calendar=load_calendar(),
        policies=PolicySet(default=Policy(progress=True)),
    )


@pytest.fixture
def session(engine_pg: Engine) -> Iterator[Session]:
    with Session(engine_pg, expire_on_commit=False) as s:
        yield s


def _directory(session: Session) -> None:
    for name in (*STREETS, "区应急局", "区建管委"):
        session.add(Unit(name=name, kind="department", created_at=ACTIVATED, updated_at=ACTIVATED))
    group = UnitGroup(name="各街镇", created_at=ACTIVATED, updated_at=ACTIVATED)
    session.add(group)
    session.flush()
    for name in STREETS[:2]:
        unit = session.exec(select(Unit).where(Unit.name == name)).one()
        session.add(GroupMember(group_id=group.id or 0, unit_id=unit.id or 0))
    session.flush()


def _draft(session: Session, tmp_path: Path, sha: str) -> int:
    path = tmp_path / "示例区2024年安全生产重点任务清单.csv"
    path.write_text(PLAN, encoding="utf-8")
    stored = store_draft(
        session=session, parsed=parse_path(path), source_name="计划.csv", sha256=sha,
        now=ACTIVATED, actor="t",
    )  # fmt: skip
    return stored.plan_id


def _rows(session: Session, plan_id: int) -> list[tuple[Any, ...]]:
    """The plan's obligations in id order, each with its task's ref and milestone key."""
    ob = Obligation.__table__.c  # type: ignore[attr-defined]
    stmt = (
        select(Task.ref, Milestone.key, *(ob[c] for c in COLUMNS))
        .join(Task, col(Task.id) == ob.task_id)
        .join(Milestone, col(Milestone.id) == ob.milestone_id)
        .where(ob.plan_id == plan_id)
        .order_by(ob.id)
    )
    return [tuple(r) for r in session.exec(stmt).all()]  # type: ignore[call-overload]


def test_the_set_based_rows_equal_the_row_by_row_ones(
    session: Session, ctx: FlowContext, tmp_path: Path
) -> None:
    _directory(session)
    by_row, by_set = _draft(session, tmp_path, "a"), _draft(session, tmp_path, "b")
    reports = [
        activate_plan(session=session, ctx=ctx, plan_id=p, now=ACTIVATED, actor="t", set_based=s)
        for p, s in ((by_row, False), (by_set, True))
    ]
    session.commit()
    assert reports[0].created == reports[1].created > 40
    assert reports[0].to_confirm == reports[1].to_confirm > 0
    rows = _rows(session, by_row)
    assert rows == _rows(session, by_set)
    assert {r[0] for r in rows} == {"1", "2", "3", "进展报告"}  # progress reports included
    assert any(r[COLUMNS.index("assign_at") + 2] for r in rows)

    # A unit joins the group: the same rows for it (its own 交办), none twice.
    street = session.exec(select(Unit).where(Unit.name == "丙街道")).one()
    group = session.exec(select(UnitGroup).where(UnitGroup.name == "各街镇")).one()
    session.add(GroupMember(group_id=group.id or 0, unit_id=street.id or 0))
    session.flush()
    tops = [
        materialise_plan(
            session=session, ctx=ctx, plan=session.get(Plan, p), now=JOINED, set_based=s
        )  # type: ignore[arg-type]
        for p, s in ((by_row, False), (by_set, True))
    ]
    session.commit()
    assert (tops[0].created, tops[0].existing) == (tops[1].created, tops[1].existing)
    assert tops[1].created > 0 and tops[1].existing > 0
    assert _rows(session, by_row) == _rows(session, by_set)
    again = materialise_plan(
        session=session, ctx=ctx, plan=session.get(Plan, by_set), now=JOINED, set_based=True
    )  # type: ignore[arg-type]
    assert again.created == 0

    # A recurrence edit (the monthly report ends in October): stored rows follow their neighbours.
    for p in (by_row, by_set):
        ms = session.exec(
            select(Milestone).join(Task).where(Task.plan_id == p, Task.ref == "2")
        ).one()
        ms.until = date(2024, 10, 31)
        session.add(ms)
    session.flush()
    for p, s in ((by_row, False), (by_set, True)):
        plan = session.get(Plan, p)
        assert plan is not None
        materialise_plan(session=session, ctx=ctx, plan=plan, now=JOINED, set_based=s)
    session.commit()
    session.expire_all()
    after = _rows(session, by_set)
    assert after == _rows(session, by_row) and after != rows
    lapses = COLUMNS.index("lapses_on") + 2
    october = [
        r for r in after if r[0] == "2" and r[COLUMNS.index("occurrence") + 2] == date(2024, 10, 26)
    ]
    assert october and all(r[lapses] is None for r in october)


def test_an_activation_that_fails_part_way_leaves_nothing(
    engine_pg: Engine, ctx: FlowContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(engine_pg) as session:
        _directory(session)
        plan_id = _draft(session, tmp_path, "a")
    # Statements of a few rows each, so that the failure comes after some were written.
    monkeypatch.setattr(bulk_obligations, "CHUNK", 10)
    shown: list[int] = []

    def progress(n: int) -> None:
        shown.append(n)
        if len(shown) == 2:
            raise RuntimeError("断电")

    with pytest.raises(RuntimeError, match="断电"), session_scope(engine_pg) as session:
        activate_plan(
            session=session, ctx=ctx, plan_id=plan_id, now=ACTIVATED, actor="t", progress=progress
        )
    with Session(engine_pg) as session:
        assert session.exec(select(func.count()).select_from(Obligation)).one() == 0
        plan = session.get(Plan, plan_id)
        assert plan is not None and plan.status == "draft" and plan.activated_at is None
        assert not session.exec(select(AuditEvent).where(AuditEvent.action == "activated")).all()
    # Nothing half-written: activating again afterwards writes everything.
    with session_scope(engine_pg) as session:
        report = activate_plan(session=session, ctx=ctx, plan_id=plan_id, now=ACTIVATED, actor="t")
    assert report.created > shown[-1] > shown[0] > 0
