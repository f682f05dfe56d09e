"""再次交办 end to end: the tick re-sends, once, a 交办 not 签收 within receipt_days (real SMTP)."""

from __future__ import annotations

import json
from datetime import date, datetime, time

import pytest
from sqlmodel import Session, col, select

from duban import runtime
from flows.context import reset_context
from flows.delivery import reset_pipeline
from models.directory import Unit
from models.repo.actions import acknowledge
from models.tables import AuditEvent, Obligation
from schedules.clock import OFFICE_TZ
from tests.flows.conftest import Office, run, tick_at


def _resends(office: Office) -> dict[str, list]:  # type: ignore[type-arg]
    out: dict[str, list] = {}  # type: ignore[type-arg]
    for _, rcpt, m in office.smtp.sink.received:
        if "【再次交办】" in str(m["Subject"]):
            for r in rcpt:
                out.setdefault(r, []).append(m)
    return out


def _text(m) -> str:  # type: ignore[no-untyped-def]
    body = m.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _unit_obligations(s: Session, name: str) -> list[Obligation]:
    return list(
        s.exec(
            select(Obligation)
            .join(Unit, col(Unit.id) == col(Obligation.unit_id))
            .where(Unit.name == name, col(Obligation.assign_at).is_not(None))
        ).all()
    )


def test_a_unit_that_did_not_sign_gets_one_resend_after_receipt_days_and_only_one(
    no_progress: None, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUBAN_PORTAL_URL", "http://portal.example")
    monkeypatch.setenv("DUBAN_SECRET_KEY", "s" * 40)
    runtime.reset()
    reset_context()
    reset_pipeline()
    first = json.loads(tick_at(date(2024, 9, 2)))  # the 交办, one message per unit
    assert first["by_stage"].get("assign") and first["resent"] == 0
    signed_at = datetime(2024, 9, 3, 10, 0, tzinfo=OFFICE_TZ)
    with Session(runtime.engine()) as s:
        for ob in _unit_obligations(s, "区建管委"):  # 区建管委 signs for everything
            acknowledge(session=s, ob=ob, by="区建管委", now=signed_at, via="portal")
        s.commit()
    ob3 = office.ob_id("3", "区房管局")
    run("obligation", "submit", str(ob3), "--unit", "区房管局", "--note", "已完成整改")

    # 2 days after the 交办 (09-04 09:05) is not yet past receipt_days: nothing.
    early = json.loads(tick_at(date(2024, 9, 4), time(9, 0)))
    assert early["resent"] == 0 and not _resends(office)

    later = json.loads(tick_at(date(2024, 9, 5)))
    got = _resends(office)
    with Session(runtime.engine()) as s:
        unsigned = [
            ob
            for name in ("区应急局", "甲街道", "乙街道")
            for ob in _unit_obligations(s, name)
            if ob.status not in ("submitted", "accepted", "waived")
        ]
        audited = s.exec(select(AuditEvent).where(AuditEvent.action == "receipt_resent")).all()
    assert later["resent"] == len(unsigned) == len(audited) > 3
    assert {a.entity_id for a in audited} == {ob.id for ob in unsigned}
    assert "wangwu@example.gov.cn" not in got  # signed: no re-send
    assert "zhaoliu@example.gov.cn" not in got  # reported done: no re-send
    # One message per unit, grouping all its unconfirmed duties, never one per obligation.
    assert len(got["zhangsan@example.gov.cn"]) == 1
    assert len(got["qianqi@example.gov.cn"]) == 1
    street = _text(got["qianqi@example.gov.cn"][0])
    assert "尚未签收" in street and "再次交办" in street
    assert "http://portal.example/u/" in street
    assert "排查整治燃气隐患" in street and "报送重点场所检查台账" in street
    assert "lisi@example.gov.cn" not in got  # a 交办's re-send goes to the contacts, as the 交办

    # A second tick the same day, and the next working days: never a second re-send.
    again = json.loads(tick_at(date(2024, 9, 5), time(10, 0)))
    tick_at(date(2024, 9, 6))
    tick_at(date(2024, 9, 9))
    assert again["resent"] == 0
    assert {r: len(ms) for r, ms in _resends(office).items()} == {
        r: len(ms) for r, ms in got.items()
    }
