"""Migration 0004 on SQLite and PostgreSQL: active plans keep their history and get the new columns."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlmodel import Session, select

from models.db import make_engine
from models.migrate import downgrade, upgrade
from models.repo.chase import state_of
from models.tables import Obligation
from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.policy import Policy
from schedules.rules import Stage, decide

T0 = datetime(2024, 4, 15, 2, 0, tzinfo=UTC)
MONTHS = (date(2024, 9, 26), date(2024, 10, 26), date(2024, 11, 26))


def _seed_at_0003(conn: object) -> None:
    run = conn.execute  # type: ignore[attr-defined]
    now = {"t": T0}
    run(
        text(
            "INSERT INTO plan (id, title, issuer, doc_no, status, source_name, source_sha256,"
            " policy, created_at) VALUES (1, '计划', '', '', 'active', '', '', '{}', :t)"
        ),
        now,
    )
    run(
        text(
            "INSERT INTO unit (id, name, kind, status, note, created_at, updated_at)"
            " VALUES (1, '区应急局', 'department', 'active', '', :t, :t)"
        ),
        now,
    )
    run(
        text(
            "INSERT INTO task (id, plan_id, ref, position, section, title, text, policy)"
            " VALUES (1, 1, '1', 0, '[]', '月报', '', '{}')"
        )
    )
    for ms_id, rrule in ((1, "FREQ=MONTHLY;BYMONTHDAY=26"), (2, None)):
        run(
            text(
                "INSERT INTO milestone (id, task_id, key, label, rrule, dtstart, source_text,"
                " due_is_default, is_report, policy)"
                " VALUES (:id, 1, :key, '', :rrule, :start, '', false, false, '{}')"
            ),
            {"id": ms_id, "key": f"m{ms_id}", "rrule": rrule, "start": MONTHS[0]},
        )
    rows = [(1, d) for d in MONTHS] + [(2, date(2024, 12, 31))]
    for k, (ms_id, due) in enumerate(rows, start=1):
        run(
            text(
                "INSERT INTO obligation (id, plan_id, task_id, milestone_id, unit_id, occurrence,"
                " role, due_on, due_at, status, escalation_level, needs_confirmation, since,"
                " created_at, updated_at, version)"
                " VALUES (:id, 1, 1, :ms, 1, :due, 'lead', :due, :t, 'escalated', 2, false, :t,"
                " :t, :t, 3)"
            ),
            {"id": k, "ms": ms_id, "due": due, "t": T0},
        )


def test_it_keeps_history_and_links_recurring_occurrences(db_url: str) -> None:
    eng = make_engine(db_url)
    upgrade(eng, "0003")
    with eng.begin() as conn:
        _seed_at_0003(conn)
    upgrade(eng)
    with Session(eng) as s:
        obs = {ob.id: ob for ob in s.exec(select(Obligation)).all()}
        assert [obs[k].lapses_on for k in (1, 2, 3, 4)] == [MONTHS[1], MONTHS[2], None, None]
        assert [obs[k].starts_on for k in (1, 2, 3, 4)] == [None, MONTHS[0], MONTHS[1], None]
        assert all(ob.assign_at is None and ob.chase_requested_at is None for ob in obs.values())
        assert {(ob.status, ob.escalation_level, ob.version) for ob in obs.values()} == {
            ("escalated", 2, 3)
        }
        # The new policy applies from the next decision: September closes when October is due,
        # and the first occurrence's lead time runs from activation (since).
        september = state_of(obs[1])
        assert september.starts_on == T0.astimezone(OFFICE_TZ).date()
        at = datetime(2024, 10, 26, 9, tzinfo=OFFICE_TZ)
        decision = decide(september, Policy(), load_calendar(), at)
        assert decision.action is not None and decision.action.stage is Stage.LAPSE
    downgrade(eng, "0003")
    upgrade(eng)
    eng.dispose()
