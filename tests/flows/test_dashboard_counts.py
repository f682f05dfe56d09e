"""The dashboard's counts (`obligation_count`, kept by triggers) through every path that writes an
obligation: activation, ticks (reminders, 催办, 督办 escalation, roll-over of a recurrence), the
unit's and the office's actions, plan archive and re-activation, and deleting a plan; on SQLite
and PostgreSQL. After each step `board` must answer as the old GROUP BY over every obligation."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from duban import runtime
from models.tables import Obligation, Plan
from schedules.clock import OFFICE_TZ
from tests.flows.conftest import Office, days, run, tick_at
from tests.models.counts_reference import assert_counts_match, counted, recount


def _check() -> None:
    with Session(runtime.engine()) as s:
        assert_counts_match(s)


def _levels() -> dict[int, int]:
    with Session(runtime.engine()) as s:
        return {r[0] or 0: r[1] for r in s.exec(select(Obligation.id, Obligation.escalation_level))}


def _statuses() -> set[str]:
    with Session(runtime.engine()) as s:
        return set(s.exec(select(Obligation.status)).all())


def test_the_counts_follow_every_write_of_a_plans_year(office: Office) -> None:
    _check()  # activation (PostgreSQL: the set-based INSERT … SELECT)
    for day in days(date(2024, 9, 19), date(2024, 10, 1)):
        tick_at(day)
    assert max(_levels().values()) >= 2  # 督办 reached: the escalated flag changed
    _check()
    ob = office.ob_id("1", "区应急局")
    run("obligation", "submit", str(ob), "--unit", "区应急局", "--note", "已完成")
    assert "submitted" in _statuses()
    _check()
    run("obligation", "accept", str(ob))
    _check()
    late = office.ob_id("3", "区房管局")
    run("obligation", "extend", str(late), "--to", "2024-11-18", "--reason", "汛期任务冲突")
    _check()
    waived = office.ob_id("1", "区建管委")
    run("obligation", "waive", str(waived), "--reason", "配合单位无需单独报送")
    _check()
    # October's monthly report falls due: September's missed one rolls over (逾期未报).
    tick_at(date(2024, 10, 27))
    assert "lapsed" in _statuses()
    _check()


def test_the_counts_follow_the_units_requests_and_the_offices_answers(office: Office) -> None:
    from flows.context import flow_context
    from models.repo.actions import answer_extension, get_obligation, request_extension

    ob = office.ob_id("2", "甲街道")
    now = datetime(2024, 9, 20, 10, 0, tzinfo=OFFICE_TZ)
    ctx = flow_context()
    with Session(runtime.engine()) as s:
        row = get_obligation(s, ob)
        request_extension(
            session=s, ctx=ctx, ob=row, by="甲街道", new_due=date(2024, 10, 30),
            reason="设备到货延迟", now=now, via="test",
        )  # fmt: skip
        s.commit()
    assert "extension_requested" in _statuses()
    _check()
    with Session(runtime.engine()) as s:
        row = get_obligation(s, ob)
        answer_extension(
            session=s, ctx=ctx, ob=row, by="王科长", grant=True, reason="同意", now=now,
            via="test",
        )  # fmt: skip
        s.commit()
    with Session(runtime.engine()) as s:
        assert get_obligation(s, ob).due_on == date(2024, 10, 30)
    _check()


def test_archived_and_deleted_plans_leave_the_board(office: Office) -> None:
    with Session(runtime.engine()) as s:
        s.connection().execute(
            text("UPDATE plan SET status = 'archived' WHERE id = :p"), {"p": office.plan_id}
        )
        s.commit()
    with Session(runtime.engine()) as s:
        from models.repo.overview import board

        assert board(s, date(2024, 9, 30), by="plan") == []
        assert_counts_match(s)
        plan = s.get(Plan, office.plan_id)
        assert plan is not None
        plan.status = "active"
        s.add(plan)
        s.commit()
    _check()
    with Session(runtime.engine()) as s:  # the delete cascades to the obligations
        s.connection().execute(text("DELETE FROM plan WHERE id = :p"), {"p": office.plan_id})
        s.commit()
        assert counted(s.connection()) == [] == recount(s.connection())


def test_raw_statements_keep_the_counts(office: Office) -> None:
    """Set-based UPDATE / INSERT … SELECT / DELETE (and TRUNCATE on PostgreSQL) as a bulk path
    or an operator's SQL would write them."""
    engine = runtime.engine()
    with engine.begin() as conn:
        conn.execute(text("UPDATE obligation SET status = 'submitted' WHERE id % 3 = 0"))
        conn.execute(text("UPDATE obligation SET escalation_level = 3 WHERE id % 4 = 1"))
        conn.execute(text("UPDATE obligation SET next_action_at = NULL"))  # no counted column
        later = (
            "occurrence + 1000"
            if engine.dialect.name == "postgresql"
            else ("date(occurrence, '+1000 days')")
        )
        conn.execute(
            text(
                "INSERT INTO obligation (plan_id, task_id, milestone_id, unit_id, occurrence, role,"
                " due_on, due_at, status, escalation_level, needs_confirmation, created_at,"
                f" updated_at, version) SELECT plan_id, task_id, milestone_id, unit_id, {later},"
                " role, due_on, due_at, status, escalation_level, needs_confirmation, created_at,"
                " updated_at, version FROM obligation WHERE id % 2 = 0"
            )
        )
        conn.execute(text("DELETE FROM obligation WHERE id % 5 = 0"))
    _check()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO unit (name, kind, status, note, created_at, updated_at) SELECT"
                " '新单位', kind, status, note, created_at, updated_at FROM unit WHERE id ="
                " (SELECT min(id) FROM unit)"
            )
        )
        conn.execute(
            text(
                "UPDATE obligation SET unit_id = (SELECT max(id) FROM unit)"
                " WHERE id = (SELECT min(id) FROM obligation)"
            )
        )
        conn.execute(text("UPDATE obligation SET due_on = occurrence WHERE id % 2 = 1"))
    _check()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE obligation CASCADE"))
            assert counted(conn) == []


@pytest.mark.parametrize("verb", ["update", "delete"])
def test_the_check_fails_when_a_trigger_is_missing(office: Office, verb: str) -> None:
    """What the tests above rely on: a write the counts miss is seen."""
    engine = runtime.engine()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"DROP TRIGGER obligation_count_{verb} ON obligation"))
        else:
            conn.execute(text(f"DROP TRIGGER obligation_count_{verb}"))
        if verb == "update":
            conn.execute(text("UPDATE obligation SET status = 'accepted' WHERE id % 2 = 0"))
        else:
            conn.execute(text("DELETE FROM obligation WHERE id % 2 = 0"))
    with Session(engine) as s, pytest.raises(AssertionError):
        assert_counts_match(s)
