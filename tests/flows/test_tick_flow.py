"""The tick as a flow: `tick_flow` is async (Prefect would otherwise wait on its heartbeat thread),
and with no PREFECT_API_URL calling it runs the same body as the service does, in this process."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from duban import runtime
from flows.runner import run_flow
from flows.tick import tick_flow
from models.directory import Unit
from models.tables import Delivery, Obligation
from schedules.clock import OFFICE_TZ
from tests.flows.conftest import ACTIVATED, Office

REMINDER_DAY = datetime(2024, 9, 19, 9, 5, tzinfo=OFFICE_TZ)  # task 1's first reminder


def _due(at: datetime) -> int:
    with Session(runtime.engine()) as s:
        stmt = select(func.count()).where(col(Obligation.next_action_at) <= at)
        return int(s.exec(stmt).one())


def _sent() -> int:
    with Session(runtime.engine()) as s:
        return int(s.exec(select(func.count()).where(col(Delivery.status) == "sent")).one())


def test_the_embedded_tick_flow_runs_every_round_in_process_without_a_prefect_server(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    # The service's first tick after activation sends the 交办, one message per unit.
    assigned = run_flow(tick_flow, now=ACTIVATED.isoformat(), owner="test")
    assert assigned["actions"] > 0 and assigned["by_stage"] == {"assign": assigned["actions"]}
    assert assigned["notices"] == 5  # 区应急局, 区建管委, 区房管局 and the two streets of 各街镇
    due = _due(REMINDER_DAY)
    assert due > 2  # so that batch=2 takes several claim-decide → deliver → record rounds

    out = run_flow(tick_flow, now=REMINDER_DAY.isoformat(), batch=2, owner="test")

    assert out["claimed"] == due
    assert out["actions"] > 0 and out["by_stage"].get("remind", 0) == out["actions"]
    assert out["notices"] > 0 and _sent() >= out["notices"]
    mailed = {tuple(rcpt) for _, rcpt, _ in office.smtp.sink.received}
    assert ("zhangsan@example.gov.cn",) in mailed  # 区应急局's contact got task 1's reminder
    again = run_flow(tick_flow, now=REMINDER_DAY.isoformat(), batch=2, owner="test")
    assert again["claimed"] == 0 and again["actions"] == 0
    # No Prefect API configured: no ephemeral API server was started for the flow or its tasks.
    server = sys.modules.get("prefect.server.api.server")
    assert server is None or not server.SubprocessASGIServer._instances


def test_a_unit_gets_one_message_per_channel_per_tick_across_claim_rounds(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with Session(runtime.engine()) as s:
        street = s.exec(
            select(func.count())
            .select_from(Obligation)
            .join(Unit, col(Unit.id) == col(Obligation.unit_id))
            .where(Unit.name == "甲街道", col(Obligation.assign_at).is_not(None))
        ).one()
    assert street >= 3  # tasks 2, 4 and the monthly report: three duties in one 交办
    # A claim round of one row: before, each round sent 甲街道 a 交办 of its own.
    out = run_flow(tick_flow, now=ACTIVATED.isoformat(), batch=1, owner="test")
    assert out["by_stage"] == {"assign": out["actions"]} and out["notices"] == 5
    to_street = [m for _, rcpt, m in office.smtp.sink.received if "qianqi@example.gov.cn" in rcpt]
    assert len(to_street) == 1
    body = to_street[0].get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "排查整治燃气隐患" in text and "报送重点场所检查台账" in text
    per_unit = Counter(tuple(rcpt) for _, rcpt, _ in office.smtp.sink.received)
    assert max(per_unit.values()) == 1
