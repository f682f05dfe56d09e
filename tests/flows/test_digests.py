"""The office's daily digest, the leaders' weekly summary and the monthly report roll-call."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlmodel import Session, select

from duban import runtime
from flows.digests import daily_digest_flow, weekly_summary_flow
from flows.monthly import monthly_cycle_flow
from flows.runner import run_flow
from models.tables import AuditEvent
from schedules.clock import OFFICE_TZ
from tests.flows.conftest import Office, days, tick_at


def _at(d: date, h: int = 9, m: int = 0) -> str:
    return datetime.combine(d, time(h, m), tzinfo=OFFICE_TZ).isoformat()


def _to(office: Office, address: str) -> list:  # type: ignore[type-arg]
    return [m for _, rcpt, m in office.smtp.sink.received if rcpt == [address]]


def test_it_sends_the_office_one_digest_per_working_day(office: Office) -> None:
    for day in days(date(2024, 9, 19), date(2024, 9, 30)):
        tick_at(day)
    assert run_flow(daily_digest_flow, now=_at(date(2024, 9, 28)))["skipped"]  # Saturday
    out = run_flow(daily_digest_flow, now=_at(date(2024, 9, 30)))
    assert out["notices"] == 1
    run_flow(
        daily_digest_flow, now=_at(date(2024, 9, 30), 9, 30)
    )  # again the same day: nothing new
    digests = _to(office, "office@example.gov.cn")
    assert len(digests) == 1
    body = digests[0].get_body(("plain",)).get_content()
    assert "区应急局" in body and "开展安全生产大检查" in body and "甲街道" in body


def test_it_sends_leaders_a_weekly_summary_on_the_first_working_day(office: Office) -> None:
    for day in days(date(2024, 9, 19), date(2024, 10, 8)):
        tick_at(day)
    assert run_flow(weekly_summary_flow, now=_at(date(2024, 10, 9), 9, 5))["skipped"]  # Wednesday
    # National Day week: the first working day after the holiday is Tuesday 10-08.
    assert run_flow(weekly_summary_flow, now=_at(date(2024, 10, 8), 9, 5))["notices"] == 1
    summaries = [
        m
        for m in _to(office, "leader@example.gov.cn")
        if "开展安全生产大检查" in m.get_body(("plain",)).get_content()
    ]
    assert summaries


def test_it_closes_the_report_month_once_with_who_reported(office: Office) -> None:
    for day in days(date(2024, 9, 19), date(2024, 9, 26)):
        tick_at(day)
    first = run_flow(monthly_cycle_flow, now=_at(date(2024, 9, 27), 8, 30))
    # The towns owe the plan's monthly report; the other units with duties owe their 进展报告 on
    # the same 26th (progress reports, on by default): all are called.
    assert first["closed"]["month"] == "2024-09" and set(first["closed"]["missing"]) == {
        "甲街道",
        "乙街道",
        "区应急局",
        "区建管委",
        "区房管局",
    }
    assert run_flow(monthly_cycle_flow, now=_at(date(2024, 9, 28), 8, 30))["closed"] is None  # once
    with Session(runtime.engine()) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "month_closed")).all()
    assert len(events) == 1 and events[0].data["reported"] == []


def test_it_lists_only_escalated_items_in_the_leaders_summary(office: Office) -> None:
    for day in days(date(2024, 9, 2), date(2024, 9, 29)):
        tick_at(day)
    # Monday 09-30 before the tick: task 1 has had its two 催办 but no 督办 yet.
    assert run_flow(weekly_summary_flow, now=_at(date(2024, 9, 30), 8, 50))["notices"] == 0
    tick_at(date(2024, 9, 30))  # 督办 at 09:00
    assert run_flow(weekly_summary_flow, now=_at(date(2024, 9, 30), 9, 10))["notices"] == 1
    (summary,) = _to(office, "leader@example.gov.cn")
    assert "开展安全生产大检查" in summary.get_body(("plain",)).get_content()
