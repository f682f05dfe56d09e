"""Models on SQLite and PostgreSQL: migrations, aware round trips, constraints, the audit guard."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlmodel import Session, select

from models import AuditEvent, Delivery, Milestone, Obligation, Plan, Task, Unit
from models.db import make_engine
from models.migrate import current_revision, downgrade, head_revision, upgrade

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2024, 9, 26, 17, 30, tzinfo=SH)


def _obligation(session: Session) -> Obligation:
    plan = Plan(title="测试计划", created_at=T0)
    unit = Unit(name="区应急局", created_at=T0, updated_at=T0)
    session.add_all([plan, unit])
    session.flush()
    task = Task(plan_id=plan.id or 0, ref="1", title="任务")
    session.add(task)
    session.flush()
    ms = Milestone(task_id=task.id or 0, key="m1", due=date(2024, 9, 26))
    session.add(ms)
    session.flush()
    ob = Obligation(
        plan_id=plan.id or 0,
        task_id=task.id or 0,
        milestone_id=ms.id or 0,
        unit_id=unit.id or 0,
        occurrence=date(2024, 9, 26),
        due_on=date(2024, 9, 26),
        due_at=T0,
        next_action_at=T0 - timedelta(days=7),
        created_at=T0,
        updated_at=T0,
    )
    session.add(ob)
    session.flush()
    return ob


def test_it_migrates_from_empty_to_head_and_back(db_url: str) -> None:
    eng = make_engine(db_url)
    assert current_revision(eng) is None
    upgrade(eng)
    assert current_revision(eng) == head_revision(eng)
    tables = set(inspect(eng).get_table_names())
    assert {
        "plan",
        "task",
        "milestone",
        "obligation",
        "unit",
        "unit_alias",
        "unit_group",
        "group_member",
        "contact",
        "channel",
        "delivery",
        "queue_item",
        "audit_event",
        "service_lease",
    } <= tables
    downgrade(eng, "base")
    assert current_revision(eng) is None
    assert "obligation" not in set(inspect(eng).get_table_names())
    eng.dispose()


def test_it_round_trips_aware_datetimes(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        ob_id = _obligation(s).id
        s.commit()
    with Session(engine) as s:
        ob = s.get(Obligation, ob_id)
        assert ob is not None
        assert ob.due_at.tzinfo is not None and ob.due_at.utcoffset() == timedelta(0)
        assert ob.due_at == T0
        assert ob.due_at.astimezone(SH).hour == 17
        assert ob.next_action_at == datetime(2024, 9, 19, 9, 30, tzinfo=UTC)


def test_it_refuses_naive_datetimes(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        s.add(Unit(name="x", created_at=datetime(2024, 1, 1), updated_at=T0))
        with pytest.raises(StatementError, match="naive"):
            s.flush()


def test_it_orders_and_filters_by_next_action_at(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        _obligation(s)
        s.commit()
        due = s.exec(select(Obligation).where(Obligation.next_action_at <= T0)).all()
        assert len(due) == 1
        later = s.exec(select(Obligation).where(Obligation.next_action_at > T0)).all()
        assert later == []


def test_it_enforces_unique_obligation_and_delivery_key(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        ob = _obligation(s)
        s.commit()
        s.refresh(ob)
        s.add(Delivery(key="k1", batch="b", stage="remind", channel_type="email", created_at=T0))
        s.commit()
        s.add(Delivery(key="k1", batch="b2", stage="remind", channel_type="email", created_at=T0))
        with pytest.raises(IntegrityError):
            s.commit()
        s.rollback()
        s.add(
            Obligation(
                plan_id=ob.plan_id,
                task_id=ob.task_id,
                milestone_id=ob.milestone_id,
                unit_id=ob.unit_id,
                occurrence=ob.occurrence,
                due_on=ob.due_on,
                due_at=T0,
                created_at=T0,
                updated_at=T0,
            )
        )
        with pytest.raises(IntegrityError):
            s.commit()


def test_it_keeps_the_audit_log_append_only(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        s.add(AuditEvent(at=T0, actor="t", entity="unit", action="created"))
        s.commit()
    with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE audit_event SET actor = 'x'"))
    with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM audit_event"))
    with Session(engine) as s:
        assert [e.actor for e in s.exec(select(AuditEvent)).all()] == ["t"]


def test_it_turns_on_wal_and_foreign_keys_for_sqlite_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    eng = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with eng.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    eng.dispose()


def test_it_has_migrations_that_match_the_models(engine) -> None:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from models.db import DATA_VERSION_TABLES

    def ours(name: str | None, kind: str, _parents: object) -> bool:
        # the data version's tables are PostgreSQL's, made by migration 0024 alone
        return not (kind == "table" and name in DATA_VERSION_TABLES)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], f"models and migrations differ: write a migration for {diff}"
