"""Periodic progress reports (进展报告, on by default) through the real tick: 交办, 提醒, 催办, 逾期未报."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from duban import runtime
from models.tables import AuditEvent, Obligation, Task
from schedules.clock import OFFICE_TZ
from tests.flows.conftest import Office, days, tick_at


def _progress_rows(office: Office) -> list[tuple[Obligation, str]]:
    from models.directory import Unit

    with Session(runtime.engine()) as s:
        return [
            (ob, name)
            for ob, name in s.exec(
                select(Obligation, Unit.name)
                .join(Task, col(Task.id) == col(Obligation.task_id))
                .join(Unit, col(Unit.id) == col(Obligation.unit_id))
                .where(Task.ref == "进展报告", Obligation.plan_id == office.plan_id)
                .order_by(col(Obligation.occurrence))
            ).all()
        ]


def test_it_lists_reminds_chases_and_rolls_over_the_progress_report(office: Office) -> None:
    rows = _progress_rows(office)
    # The plan reports monthly (每月26日前, the towns' duty): the towns report there; the other
    # units with duties report their progress on the 26th, one report each per month.
    assert {unit for _, unit in rows} == {"区应急局", "区建管委", "区房管局"}
    for unit in ("区应急局", "区建管委", "区房管局"):
        dues = [ob.due_on for ob, u in rows if u == unit]
        assert dues == [date(2024, m, 26) for m in (9, 10, 11, 12)], unit
    september = office.ob_id("进展报告", "区房管局")
    for day in days(date(2024, 9, 2), date(2024, 10, 28)):
        tick_at(day)
    stages = [d.stage for d in office.deliveries(september)]
    # Listed in the unit's 交办 (with its own task 3, one message), reminded, chased twice, no 督办.
    assert stages.count("assign") == 1 and stages.count("remind") >= 3
    assert stages.count("chase") == 2 and "office" not in stages
    subjects = [
        str(m["Subject"])
        for _, rcpt, m in office.smtp.sink.received
        if "zhaoliu@example.gov.cn" in rcpt
    ]
    first = [t for t in subjects if "交办" in t and "再次" not in t]
    assert len(first) == 1, subjects
    with Session(runtime.engine()) as s:
        row = s.get(Obligation, september)
        assert row is not None and row.status == "lapsed"  # closed when October's fell due
        lapsed = s.exec(
            select(AuditEvent).where(
                AuditEvent.entity == "obligation",
                AuditEvent.entity_id == september,
                AuditEvent.to_status == "lapsed",
            )
        ).all()
        # Closed by the first tick once October's report fell due (10-26), audited as 逾期未报.
        assert len(lapsed) == 1 and lapsed[0].reason == "rolled_over"
        assert lapsed[0].at.astimezone(OFFICE_TZ).date() == date(2024, 10, 26)
        october = s.exec(
            select(Obligation).where(
                Obligation.unit_id == row.unit_id,
                Obligation.task_id == row.task_id,
                Obligation.occurrence == date(2024, 10, 26),
            )
        ).one()
        assert october.status in ("overdue", "open") and october.escalation_level <= 1
