"""The demo's closing figures: the volume of what was recorded as sent, from the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.cli.volume_report import measure_sent
from models.directory import Unit
from models.repo.audit import record_event
from models.tables import Milestone, Obligation, Plan, Task


def test_it_measures_what_was_sent_from_the_audit_log(engine: Engine) -> None:
    t0 = datetime(2024, 9, 27, 1, 0, tzinfo=UTC)  # 09:00 Shanghai
    with Session(engine) as s:
        obs = _obligations(s, t0, date(2024, 9, 26), 2)
        for ob in obs:  # the same pass: one message for both obligations
            for stage in ("chase", "office"):
                at = t0 if stage == "chase" else datetime(2024, 10, 2, 1, 0, tzinfo=UTC)
                action = "chase_sent" if stage == "chase" else "escalated"
                record_event(
                    session=s, at=at, actor="duban", entity="obligation", entity_id=ob.id,
                    action=action, data={"stage": stage, "seq": f"{stage}@x"},
                )  # fmt: skip
        s.commit()
        volume = measure_sent(s)
    unit_volume = volume.units["区应急局"]
    # 09-27: one chase message; 10-02: the 督办 to the contacts and to the head.
    assert (unit_volume.messages, unit_volume.chase_max) == (3, 1)
    # Two obligations of one unit reach 督办 the same day: one 督办单 with two lines.
    assert (volume.queue_day_max, volume.queue_day_units, volume.queue_items) == (1, 1, 1)
    assert (volume.queue_day_lines, volume.queue_lines) == (2, 2)


def test_it_counts_a_resend_as_a_message_of_its_own(engine: Engine) -> None:
    """再次交办 goes out as its own notice beside the pass's reminder: one more message to the
    contacts (and, for a re-sent 督办, to the head); no 催办 and no 督办单."""
    t0 = datetime(2024, 9, 27, 1, 0, tzinfo=UTC)  # 09:00 Shanghai
    with Session(engine) as s:
        (ob,) = _obligations(s, t0, date(2024, 10, 31), 1)
        events = [
            ("remind_sent", {"stage": "remind", "seq": "remind-5@2024-10-31"}),
            ("receipt_resent", {"kind": "assign", "seq": "receipt-assign@2024-10-31"}),
        ]
        for action, data in events:  # the same pass (one tick instant)
            record_event(
                session=s, at=t0, actor="duban", entity="obligation", entity_id=ob.id,
                action=action, data=data,
            )  # fmt: skip
        later = datetime(2024, 10, 8, 1, 0, tzinfo=UTC)
        record_event(
            session=s, at=later, actor="duban", entity="obligation", entity_id=ob.id,
            action="receipt_resent", data={"kind": "office", "seq": "receipt-office@2024-10-31"},
        )  # fmt: skip
        s.commit()
        volume = measure_sent(s)
    unit_volume = volume.units["区应急局"]
    # 09-27: the reminder and the 再次交办 (2); 10-08: the re-sent 督办 to contacts and head (2).
    assert (unit_volume.messages, unit_volume.chase_max) == (4, 0)
    assert volume.messages == 4 and (volume.queue_items, volume.queue_lines) == (0, 0)


def _obligations(s: Session, t0: datetime, due: date, n: int) -> list[Obligation]:
    """`n` obligations of one unit (区应急局) for one milestone due `due`, occurrences a day apart."""
    plan = Plan(title="计划", created_at=t0)
    unit = Unit(name="区应急局", created_at=t0, updated_at=t0)
    s.add_all([plan, unit])
    s.flush()
    task = Task(plan_id=plan.id or 0, ref="1")
    s.add(task)
    s.flush()
    ms = Milestone(task_id=task.id or 0, key="m1", due=due)
    s.add(ms)
    s.flush()
    obs = []
    for i in range(n):
        ob = Obligation(
            plan_id=plan.id or 0, task_id=task.id or 0, milestone_id=ms.id or 0,
            unit_id=unit.id or 0, occurrence=due - timedelta(days=i), due_on=due,
            due_at=t0, created_at=t0, updated_at=t0,
        )  # fmt: skip
        s.add(ob)
        s.flush()
        obs.append(ob)
    return obs
