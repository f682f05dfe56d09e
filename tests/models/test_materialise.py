"""Materialisation on SQLite and PostgreSQL: what each row carries for 交办, lead time and roll-over."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from flows.context import FlowContext
from intake import parse_path
from models.directory import GroupMember, Unit, UnitGroup
from models.repo.obligations import activate_plan, materialise_active_plans
from models.repo.plans import store_draft
from models.repo.units import find_group
from models.tables import Milestone, Obligation, Task
from notify.config import SendConfig
from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.policy import PolicySet

CAL = load_calendar()
ACTIVATED = datetime(2024, 4, 15, 10, 0, tzinfo=OFFICE_TZ)
JOINED = datetime(2024, 7, 1, 10, 0, tzinfo=OFFICE_TZ)
PLAN = """序号,任务,时间节点,责任单位,配合单位,区领导
1,开展安全生产大检查,2024年9月26日前,区应急局,区建管委,
2,报送月度安全生产工作情况,每月26日前,各街镇,,
"""


@pytest.fixture
def ctx(engine: Engine) -> FlowContext:
    return FlowContext(engine=engine, send=SendConfig(), calendar=CAL, policies=PolicySet())


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


def _rows(session: Session) -> list[tuple[Obligation, str, str]]:
    stmt = (
        select(Obligation, Task.ref, Unit.name)
        .join(Task, col(Task.id) == col(Obligation.task_id))
        .join(Unit, col(Unit.id) == col(Obligation.unit_id))
        .order_by(col(Obligation.occurrence))
    )
    return [(ob, ref, name) for ob, ref, name in session.exec(stmt).all()]


def _add_street(session: Session, name: str) -> None:
    unit = Unit(name=name, kind="street_town", created_at=JOINED, updated_at=JOINED)
    session.add(unit)
    session.flush()
    group = find_group(session=session, name="各街镇")
    assert group is not None
    session.add(GroupMember(group_id=group.id or 0, unit_id=unit.id or 0))
    session.flush()


def test_it_marks_the_first_open_occurrence_for_the_assignment_and_links_occurrences(
    session: Session, ctx: FlowContext, tmp_path: Path
) -> None:
    path = tmp_path / "示例区2024年安全生产重点任务清单.csv"
    path.write_text(PLAN, encoding="utf-8")
    session.add(Unit(name="甲街道", kind="street_town", created_at=ACTIVATED, updated_at=ACTIVATED))
    session.flush()
    group = UnitGroup(name="各街镇", created_at=ACTIVATED, updated_at=ACTIVATED)
    session.add(group)
    session.flush()
    street = session.exec(select(Unit).where(Unit.name == "甲街道")).one()
    session.add(GroupMember(group_id=group.id or 0, unit_id=street.id or 0))
    parsed = parse_path(path)
    stored = store_draft(
        session=session, parsed=parsed, source_name="计划.csv", sha256="x", now=ACTIVATED, actor="t"
    )
    activate_plan(session=session, ctx=ctx, plan_id=stored.plan_id, now=ACTIVATED, actor="t")
    session.commit()
    rows = _rows(session)
    assigned = Counter((ref, unit) for ob, ref, unit in rows if ob.assign_at is not None)
    # One occurrence per duty and unit is listed in the 交办: lead and support alike; the units
    # that do not owe the plan's monthly report list their progress report (on by default).
    assert assigned == {
        ("1", "区应急局"): 1,
        ("1", "区建管委"): 1,
        ("2", "甲街道"): 1,
        ("进展报告", "区应急局"): 1,
        ("进展报告", "区建管委"): 1,
    }
    monthly = [ob for ob, ref, _ in rows if ref == "2"]
    open_months = [ob for ob in monthly if ob.status == "open"]
    first = open_months[0]
    assert first.occurrence == date(2024, 4, 26) and first.assign_at == ACTIVATED
    assert first.next_action_at == ACTIVATED  # the 交办 goes with the next tick
    # March (past at activation) waits on the confirm list, with no 交办.
    assert all(ob.assign_at is None for ob in monthly if ob.status == "to_confirm")
    for earlier, later in pairwise(monthly):
        assert earlier.lapses_on == later.occurrence and later.starts_on == earlier.occurrence
    assert monthly[-1].lapses_on is None
    one_off = next(ob for ob, ref, unit in rows if ref == "1" and unit == "区应急局")
    assert one_off.lapses_on is None and one_off.starts_on == date(2024, 4, 15)

    _add_street(session, "乙街道")
    created = materialise_active_plans(session=session, ctx=ctx, now=JOINED)
    session.commit()
    rows = _rows(session)
    joined = [ob for ob, ref, unit in rows if unit == "乙街道"]
    assert created == len(joined) and min(ob.occurrence for ob in joined) == date(2024, 7, 26)
    # The unit that joined later gets its own 交办; nobody else gets a second one.
    assert [ob.occurrence for ob in joined if ob.assign_at is not None] == [date(2024, 7, 26)]
    assert joined[0].starts_on == date(2024, 6, 26)
    again = Counter((ref, unit) for ob, ref, unit in rows if ob.assign_at is not None)
    assert again == assigned + Counter({("2", "乙街道"): 1})
    assert materialise_active_plans(session=session, ctx=ctx, now=JOINED) == 0

    # A plan edit ends the monthly report in October: October's occurrence no longer rolls over.
    monthly_ms = session.get(Milestone, monthly[0].milestone_id)
    assert monthly_ms is not None
    monthly_ms.until = date(2024, 10, 31)
    session.add(monthly_ms)
    materialise_active_plans(session=session, ctx=ctx, now=JOINED)
    session.commit()
    session.expire_all()
    october = [
        ob for ob, ref, _ in _rows(session) if ref == "2" and ob.occurrence == date(2024, 10, 26)
    ]
    assert october and all(ob.lapses_on is None for ob in october)
    september = [
        ob for ob, ref, _ in _rows(session) if ref == "2" and ob.occurrence == date(2024, 9, 26)
    ]
    assert all(ob.lapses_on == date(2024, 10, 26) for ob in september)


def _activate(session: Session, ctx: FlowContext, tmp_path: Path, plan_text: str) -> None:
    path = tmp_path / "示例区2024年安全生产重点任务清单.csv"
    path.write_text(plan_text, encoding="utf-8")
    for name in ("甲街道", "区应急局", "区建管委"):
        session.add(Unit(name=name, kind="department", created_at=ACTIVATED, updated_at=ACTIVATED))
    session.flush()
    group = UnitGroup(name="各街镇", created_at=ACTIVATED, updated_at=ACTIVATED)
    session.add(group)
    session.flush()
    street = session.exec(select(Unit).where(Unit.name == "甲街道")).one()
    session.add(GroupMember(group_id=group.id or 0, unit_id=street.id or 0))
    parsed = parse_path(path)
    stored = store_draft(
        session=session, parsed=parsed, source_name="计划.csv", sha256="x", now=ACTIVATED, actor="t"
    )
    activate_plan(session=session, ctx=ctx, plan_id=stored.plan_id, now=ACTIVATED, actor="t")
    session.commit()


def _with_progress(ctx: FlowContext, on: bool = True) -> FlowContext:
    from schedules.policy import Policy

    return FlowContext(
        engine=ctx.engine,
        send=ctx.send,
        calendar=ctx.calendar,
        policies=PolicySet(default=Policy(progress=on)),
    )


def test_progress_reports_follow_the_plans_own_cadence_once_per_unit(
    session: Session, ctx: FlowContext, tmp_path: Path
) -> None:
    _activate(session, _with_progress(ctx), tmp_path, PLAN)
    rows = _rows(session)
    progress = [(ob, unit) for ob, ref, unit in rows if ref == "进展报告"]
    # The plan reports monthly (每月26日前, 甲街道's duty): the units that do not owe that report
    # report their progress at the same cadence; 甲街道 reports through the plan's own report.
    assert {unit for _, unit in progress} == {"区应急局", "区建管委"}
    dues = sorted({ob.due_on for ob, unit in progress if unit == "区应急局"})
    assert dues[:2] == [date(2024, 4, 26), date(2024, 5, 26)] and dues[-1] == date(2024, 12, 26)
    # Listed once per unit in the 交办, beside its other duties: no duty counted twice.
    assigned = Counter((ref, unit) for ob, ref, unit in rows if ob.assign_at is not None)
    assert assigned == {
        ("1", "区应急局"): 1,
        ("1", "区建管委"): 1,
        ("2", "甲街道"): 1,
        ("进展报告", "区应急局"): 1,
        ("进展报告", "区建管委"): 1,
    }
    # Recurring: each missed one closes as 逾期未报 when the next is due.
    first = min((ob for ob, unit in progress if unit == "区应急局"), key=lambda ob: ob.due_on)
    assert first.lapses_on == date(2024, 5, 26)
    assert materialise_active_plans(session=session, ctx=_with_progress(ctx), now=JOINED) == 0


def test_progress_reports_default_to_quarterly_and_a_year_end_summary(
    session: Session, ctx: FlowContext, tmp_path: Path
) -> None:
    one_off = "序号,任务,时间节点,责任单位,配合单位,区领导\n1,开展安全生产大检查,2024年9月26日前,区应急局,区建管委,\n"
    _activate(session, _with_progress(ctx), tmp_path, one_off)
    rows = _rows(session)
    progress = [ob for ob, ref, unit in rows if ref == "进展报告" and unit == "区应急局"]
    assert sorted(ob.due_on for ob in progress) == [
        date(2024, 6, 30),
        date(2024, 9, 30),
        date(2024, 12, 20),
    ]
    assert sum(ob.assign_at is not None for ob in progress) == 1


def test_no_progress_reports_unless_the_policy_asks(
    session: Session, ctx: FlowContext, tmp_path: Path
) -> None:
    _activate(session, _with_progress(ctx, on=False), tmp_path, PLAN)
    assert not [ob for ob, ref, _ in _rows(session) if ref == "进展报告"]
    assert session.exec(select(Task).where(Task.ref == "进展报告")).first() is None


def test_it_links_the_quarterly_reports_and_the_year_end_summary_as_one_series(
    session: Session, ctx: FlowContext, tmp_path: Path
) -> None:
    # A plan with one dated duty and one undated duty (no time: tracked through the progress
    # report only): the shipped default (quarterly + 12-20) for both units.
    plan = (
        "序号,任务,时间节点,责任单位,配合单位,区领导\n"
        "1,开展安全生产大检查,2024年9月26日前,区应急局,,\n"
        "2,完善安全生产长效机制,,区建管委,,\n"
        "3,制定实施方案,2024年3月31日前,区房管局,,\n"
    )
    _activate(session, ctx, tmp_path, plan)
    rows = _rows(session)
    progress = {
        unit: sorted((ob for ob, ref, u in rows if ref == "进展报告" and u == unit),
                     key=lambda ob: ob.due_on)
        for unit in ("区应急局", "区建管委")
    }  # fmt: skip
    # A unit whose only duty was past at activation (to confirm, not chased) has nothing open.
    assert not [ob for ob, ref, u in rows if ref == "进展报告" and u == "区房管局"]
    assert [ob.status for ob, ref, u in rows if u == "区房管局"] == ["to_confirm"]
    # The unit whose only duty is undated reports its progress like the others.
    assert [ob.due_on for ob in progress["区建管委"]] == [ob.due_on for ob in progress["区应急局"]]
    series = progress["区应急局"]
    assert [ob.due_on for ob in series] == [
        date(2024, 6, 30),
        date(2024, 9, 30),
        date(2024, 12, 20),
    ]
    # One series: a missed September report closes when the December summary falls due.
    for earlier, later in pairwise(series):
        assert earlier.lapses_on == later.due_on and later.starts_on == earlier.due_on
    assert series[-1].lapses_on is None and series[0].starts_on == date(2024, 4, 15)
    assert sum(ob.assign_at is not None for ob in series) == 1
    # No 督办 of a missed progress report by default: its milestones carry office_at 0.
    stones = session.exec(
        select(Milestone).join(Task, col(Task.id) == col(Milestone.task_id))
        .where(Task.ref == "进展报告")
    ).all()  # fmt: skip
    assert {ms.key for ms in stones} == {"quarterly", "year_end"}
    assert all(ms.policy == {"office_at": 0} for ms in stones)
