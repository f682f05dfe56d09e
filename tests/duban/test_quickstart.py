"""The README's main job: examples loaded and activated, the fast clock fills the outbox and the queue."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from flows.context import reset_context
from flows.delivery import reset_pipeline
from models.people import Receipt
from models.tables import Delivery, Obligation, Plan, QueueItem, Task


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_it_replays_the_example_plans_on_a_fast_clock(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DUBAN_NOW")
    monkeypatch.delenv("DUBAN_OFFICE_EMAIL", raising=False)  # the directory's office receives
    monkeypatch.setenv(
        "DUBAN_DELIVERY", "outbox"
    )  # quickstart sets it in-process; undone after the test
    reset_context()
    reset_pipeline()
    result = CliRunner().invoke(
        app, ["quickstart", "--demo", "--days", "45", "--seconds-per-day", "0"]
    )
    assert result.exit_code == 0, result.output + str(result.exception)
    assert "演示时钟" in result.stdout and "督办" in result.stdout
    # The first day: one 交办 per unit; the run ends with the volume of what it sent.
    first_day = next(line for line in result.stdout.splitlines() if line.startswith("2024-02-26"))
    assert "交办" in first_day
    overall = next(line for line in result.stdout.splitlines() if line.startswith("总体：消息"))
    assert "单项催办最多 2 次" in overall or "单项催办最多 1 次" in overall
    with Session(runtime.engine()) as s:
        assert (
            s.exec(select(func.count()).select_from(Plan).where(Plan.status == "active")).one() == 3
        )
        sent = s.exec(
            select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
        ).one()
        queued = s.exec(select(func.count()).select_from(QueueItem)).one()
        accepted = s.exec(
            select(func.count()).select_from(Obligation).where(Obligation.status == "accepted")
        ).one()
        # The demo's units 签收 (at 17:00, 60 % of those with unsigned items each day): most
        # 交办 are signed, and a 再次交办 only ever goes to an obligation not signed before it.
        signed = dict(s.exec(select(Receipt.obligation_id, Receipt.at)).all())
        assigned = s.exec(
            select(func.count(func.distinct(Delivery.obligation_id))).where(
                Delivery.stage == "assign", Delivery.status == "sent"
            )
        ).one()
        resent = s.exec(
            select(Delivery.obligation_id, Delivery.created_at).where(Delivery.stage == "receipt")
        ).all()
        # Periodic progress reports (on by default): listed in the 交办, then reminded.
        progress = dict(
            s.exec(
                select(Delivery.stage, func.count())
                .join(Obligation, col(Obligation.id) == col(Delivery.obligation_id))
                .join(Task, col(Task.id) == col(Obligation.task_id))
                .where(Task.ref == "进展报告", Delivery.status == "sent")
                .group_by(col(Delivery.stage))
            ).all()
        )
    outbox = list((cli_env / "home" / "outbox").rglob("*.*"))
    assert sent > 0 and len(outbox) >= 1 and queued > 0 and accepted > 0
    assert len(signed) > assigned / 2
    assert progress.get("assign", 0) > 0 and progress.get("remind", 0) > 0, progress
    assert resent and all(ob not in signed or signed[ob] >= at for ob, at in resent)
    assert any(p.suffix == ".eml" for p in outbox) and any(p.suffix == ".json" for p in outbox)
    # The closing line counts messages (one file each in the outbox), not the items inside them.
    said = re.search(r"已发送消息 (\d+) 条，含事项 (\d+) 项次", result.stdout)
    assert said is not None, result.stdout[-2000:]
    assert int(said[1]) == len(outbox) and int(said[2]) > int(said[1])
    # The office's digests really reach its own unit (区安委办, kind office): each working day's
    # digest is said delivered and is in the outbox, addressed to its contacts.
    days = [line for line in result.stdout.splitlines() if "办公室日报" in line]
    assert days and all("办公室日报已送达" in line for line in days)
    office_mail = [p for p in outbox if p.suffix == ".eml" and p.name.startswith("u037.")]
    subjects = [
        str(make_header(decode_header(message_from_bytes(p.read_bytes())["Subject"])))
        for p in office_mail
    ]
    assert sum("【每日汇总】" in s for s in subjects) >= len(days)
    # The month's roll-call reaches the office once per month (45 days from 02-26: February's and
    # March's), said so on the day it went, and is in the outbox.
    calls = [line for line in result.stdout.splitlines() if "月报送点名" in line]
    assert any("2024-03 月报送点名已送达办公室" in line for line in calls), calls
    assert all("未送达" not in line for line in calls)
    rollcalls = [s for s in subjects if s.startswith("【月度报送点名】2024年3月月报")]
    assert len(rollcalls) == 2  # the office unit's two contacts, one message each, once
    reset_pipeline()
    reset_context()
