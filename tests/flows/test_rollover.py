"""The tick's set-based roll-over closes missed occurrences exactly as its claim rounds would:
same rows, same audit records, the queue lines closed; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from flows.context import flow_context, reset_context
from flows.tick import run_tick
from intake import parse_path
from models.directory import GroupMember, Unit, UnitGroup
from models.repo.chase import _enqueue
from models.repo.obligations import activate_plan
from models.repo.plans import store_draft
from models.tables import AuditEvent, Obligation, QueueItem, Task
from schedules.clock import OFFICE_TZ

ACTIVATED = datetime(2024, 4, 15, 10, 0, tzinfo=OFFICE_TZ)
# May's report falls due: April's missed one closes (00:30, outside the office window: nothing
# else is sent, the other due rows are only rescheduled).
ROLL = datetime(2024, 5, 26, 0, 30, tzinfo=OFFICE_TZ)
PLAN = """序号,任务,时间节点,责任单位,配合单位,区领导
1,开展安全生产大检查,2024年9月26日前,区应急局,,
2,报送月度安全生产工作情况,每月26日前,各街镇,,
"""
STREETS = ("甲街道", "乙街道", "丙街道")


# One ladder counted: the shipped 进展报告 would lapse too (they are tested in test_progress_reports).
@pytest.fixture
def plans(cli_env: Path, no_progress: None) -> Iterator[tuple[int, int]]:
    reset_context()
    ctx = flow_context()
    with Session(ctx.engine, expire_on_commit=False) as s:
        group = UnitGroup(name="各街镇", created_at=ACTIVATED, updated_at=ACTIVATED)
        s.add(group)
        for name in (*STREETS, "区应急局"):
            s.add(Unit(name=name, kind="department", created_at=ACTIVATED, updated_at=ACTIVATED))
        s.flush()
        for unit in s.exec(select(Unit).where(col(Unit.name).in_(STREETS))).all():
            s.add(GroupMember(group_id=group.id or 0, unit_id=unit.id or 0))
        path = cli_env / "示例区2024年安全生产重点任务清单.csv"
        path.write_text(PLAN, encoding="utf-8")
        ids = []
        for sha in ("a", "b"):
            stored = store_draft(
                session=s, parsed=parse_path(path), source_name="计划.csv", sha256=sha,
                now=ACTIVATED, actor="t",
            )  # fmt: skip
            activate_plan(session=s, ctx=ctx, plan_id=stored.plan_id, now=ACTIVATED, actor="t")
            ids.append(stored.plan_id)
            # April's report of 甲街道 went to the office's queue (督办).
            ob = _april(s, stored.plan_id, "甲街道")
            _enqueue(s, ob, 2, ACTIVATED)
        s.commit()
    yield ids[0], ids[1]
    reset_context()


def _april(s: Session, plan_id: int, unit: str) -> Obligation:
    return s.exec(
        select(Obligation)
        .join(Task, col(Task.id) == col(Obligation.task_id))
        .join(Unit, col(Unit.id) == col(Obligation.unit_id))
        .where(Obligation.plan_id == plan_id, Task.ref == "2", Unit.name == unit)
        .where(Obligation.status == "open")
        .order_by(col(Obligation.occurrence))
    ).first()  # type: ignore[return-value]


def _hold(plan_id: int, until: datetime | None) -> None:
    """Lease (or release) every row of a plan, as a tick in progress elsewhere would."""
    ob = Obligation.__table__.c  # type: ignore[attr-defined]
    with Session(flow_context().engine) as s:
        s.connection().execute(
            update(Obligation.__table__)  # type: ignore[attr-defined]
            .where(ob.plan_id == plan_id)
            .values(lease_owner=None if until is None else "elsewhere", lease_until=until)
        )
        s.commit()


def _state(plan_id: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[str]]:
    """The plan's rows (id order, ids aside), its lapse audit records and its queue items' status."""
    ob = Obligation.__table__.c  # type: ignore[attr-defined]
    skip = {"id", "plan_id", "task_id", "milestone_id"}
    with Session(flow_context().engine) as s:
        table = Obligation.__table__  # type: ignore[attr-defined]
        rows = (
            s.connection().execute(select(table).where(ob.plan_id == plan_id).order_by(ob.id)).all()
        )
        ids = [r.id for r in rows]
        stored = [tuple(v for k, v in r._mapping.items() if k not in skip) for r in rows]
        audits = s.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == "obligation", AuditEvent.action == "lapse")
            .where(col(AuditEvent.entity_id).in_(ids))
            .order_by(col(AuditEvent.entity_id))
        ).all()
        trail = [
            (ids.index(a.entity_id), a.at, a.actor, a.from_status, a.to_status, a.reason, a.data)
            for a in audits
        ]
        queue = s.exec(select(QueueItem.status).where(col(QueueItem.obligation_id).in_(ids))).all()
    return stored, trail, list(queue)


def test_the_set_based_roll_over_equals_the_claim_rounds(plans: tuple[int, int]) -> None:
    by_rounds, by_set = plans
    # The set-based roll-over, on plan B alone (A's rows held: neither path touches them).
    _hold(by_rounds, ROLL + timedelta(hours=1))
    summary = run_tick(ROLL, deliver=lambda notices, now: {}, roll_over=True)
    assert summary.by_stage.get("lapse") == len(STREETS)
    _hold(by_rounds, None)
    # The claim rounds, on plan A (B's lapsed rows are not due any more).
    summary = run_tick(ROLL, deliver=lambda notices, now: {}, roll_over=False)
    assert summary.by_stage.get("lapse") == len(STREETS)
    rounds, by_set_state = _state(by_rounds), _state(by_set)
    assert rounds == by_set_state
    rows, trail, queue = by_set_state
    assert sum(1 for r in rows if "lapsed" in r) == len(STREETS) == len(trail)
    assert trail[0][6]["stage"] == "lapse" and trail[0][5] == "rolled_over"
    assert queue == ["resolved"]  # the 督办 line of a lapsed occurrence closes
    # Run again: nothing more rolls over.
    again = run_tick(ROLL, deliver=lambda notices, now: {}, roll_over=True)
    assert "lapse" not in again.by_stage
