"""End to end over a simulated month on real parts: SMTP and an HTTP receiver on 127.0.0.1.

The plan's task 1 (区应急局 leads, 区建管委 supports, due 2024-09-26) is the issue's worked example
under the default policy: 交办 09-02 (activation); reminders 09-19, 09-24, 09-26; 催办 09-27 and
09-29 (a make-up Sunday) and no more; 督办 09-30; then nothing until the office 催办 again.
"""

from __future__ import annotations

import json
from datetime import date, time

from schedules.clock import OFFICE_TZ
from tests.flows.conftest import Office, days, run, tick_at


def _by_stage(rows: list) -> dict[str, list[str]]:  # type: ignore[type-arg]
    """Send days per stage (an escalation goes to several recipients on the same day)."""
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r.stage, set()).add(r.created_at.astimezone(OFFICE_TZ).date().isoformat())
    return {k: sorted(v) for k, v in out.items()}


def test_it_runs_a_month_with_the_expected_messages_and_queue(office: Office) -> None:
    for day in days(date(2024, 9, 2), date(2024, 10, 16)):
        tick_at(day)
    lead = _by_stage(office.deliveries(office.ob_id("1", "区应急局")))
    assert lead == {
        "assign": ["2024-09-02"],
        "remind": ["2024-09-19", "2024-09-24", "2024-09-26"],
        "chase": ["2024-09-27", "2024-09-29"],  # make-up Sunday is a workday; two, no more
        "office": ["2024-09-30"],
        # 再次交办, nobody 签收: the 交办 two days on, the 督办 after the National Day break.
        "receipt": ["2024-09-05", "2024-10-08"],
    }
    support = _by_stage(office.deliveries(office.ob_id("1", "区建管委")))
    assert support == {
        "assign": ["2024-09-02"],
        "remind": ["2024-09-19", "2024-09-24", "2024-09-26"],
        "receipt": ["2024-09-05"],
    }

    received = office.smtp.sink.received
    street = [m for _, rcpt, m in received if rcpt == ["qianqi@example.gov.cn"]]
    assigned = [m for m in street if "【交办】" in str(m["Subject"])]
    assert len(assigned) == 1  # ONE 交办 listing the street's three duties
    body = assigned[0].get_body(("plain",)).get_content()
    assert all(
        t in body for t in ("排查整治燃气隐患", "报送重点场所检查台账", "报送月度安全生产工作情况")
    )
    first = [m for m in street if "提醒" in str(m["Subject"])]
    assert len(first) == 3  # three reminder passes, each ONE message with both tasks (grouping)
    body = first[0].get_body(("plain",)).get_content()
    assert "排查整治燃气隐患" in body and "报送重点场所检查台账" in body
    # No 通报 per item: the leader hears through the weekly summary, not from the tick.
    assert not [m for _, rcpt, m in received if rcpt == ["leader@example.gov.cn"]]
    head = [m for _, rcpt, m in received if rcpt == ["lisi@example.gov.cn"]]
    assert any("督办" in str(m["Subject"]) for m in head)

    hooks = [r for r, _ in office.hook.log]
    assert hooks and all(
        r.headers.get("Idempotency-Key") and r.headers.get("X-Duban-Signature") for r in hooks
    )
    assert len({r.headers["Idempotency-Key"] for r in hooks}) == len(
        hooks
    )  # never the same message twice

    queue = json.loads(run("queue", "list", "--status", "all", "--json", "--all"))["items"]
    levels = {(q["task_ref"], q["unit"], q["queue_level"]) for q in queue}
    assert {("1", "区应急局", 2), ("3", "区房管局", 2), ("2", "甲街道", 2)} <= levels
    assert ("1", "区建管委", 2) not in levels  # escalation follows the lead
    still_open = [q for q in queue if q["queue_status"] != "resolved"]
    assert len({q["id"] for q in still_open}) == len(still_open)  # one open item per obligation
    assert not [q for q in queue if q["queue_level"] == 3]  # no per-item 通报 by default

    before = len(received)
    assert (
        json.loads(tick_at(date(2024, 10, 16)))["actions"] == 0
    )  # same instant again: nothing new
    assert len(received) == before


def test_it_sends_one_more_chase_when_the_office_chases_again_from_the_queue(
    office: Office,
) -> None:
    for day in days(date(2024, 9, 2), date(2024, 10, 14)):
        tick_at(day)
    ob = office.ob_id("1", "区应急局")
    queue = json.loads(run("queue", "list", "--json", "--all"))["items"]
    item = next(q for q in queue if q["id"] == ob and q["queue_level"] == 2)
    out = run("queue", "chase", str(item["queue_id"]), "--reason", "电话无人接听")
    assert "再次催办" in out
    tick_at(date(2024, 10, 15), time(10, 0))
    tick_at(date(2024, 10, 16))
    rows = office.deliveries(ob)
    assert [r.stage for r in rows].count("chase") == 3
    assert (
        rows[-1].stage == "chase" and rows[-1].seq == "chase-m20241014T090500@2024-09-26"
    )  # asked at 10-14 09:05
    history = json.loads(run("obligation", "history", str(ob), "--json"))
    actions = [h["action"] for h in history if h["entity"] == "obligation"]
    assert actions[-2:] == ["request_chase", "chase_sent"]
    requested = next(h for h in history if h["action"] == "request_chase")
    assert requested["reason"] == "电话无人接听"
    noted = [h for h in history if h["entity"] == "queue_item" and h["action"] == "noted"]
    assert [h["reason"] for h in noted] == ["再次催办：电话无人接听"]


def test_it_catches_up_after_downtime_with_the_latest_stage_once(office: Office) -> None:
    for day in days(date(2024, 9, 2), date(2024, 9, 19)):
        tick_at(day)
    # Down from 09-20 to 09-26: the 09-24 and 09-26 reminders and nothing else fell due meanwhile.
    out = json.loads(tick_at(date(2024, 9, 27)))
    rows = office.deliveries(office.ob_id("1", "区应急局"))
    on_27 = [
        r.stage for r in rows if r.created_at.astimezone(OFFICE_TZ).date() == date(2024, 9, 27)
    ]
    assert on_27 == ["chase"]  # not the stale "2 days left" or due-day reminders
    assert out["by_stage"].get("remind", 0) == 0 or [r.stage for r in rows] == [
        "assign",
        "receipt",
        "remind",
        "chase",
    ]
    street = [m for _, rcpt, m in office.smtp.sink.received if rcpt == ["qianqi@example.gov.cn"]]
    assert len(street) == 4  # 09-02 交办, 09-05 再次交办, 09-19 reminder, one grouped 09-27 chase
    body = street[-1].get_body(("plain",)).get_content()
    assert "排查整治燃气隐患" in body and "报送重点场所检查台账" in body


def test_it_stops_chasing_once_submitted_and_resumes_on_reopen(office: Office) -> None:
    for day in days(date(2024, 9, 2), date(2024, 9, 27)):
        tick_at(day)
    ob = office.ob_id("1", "区应急局")
    run("obligation", "submit", str(ob), "--unit", "区应急局", "--note", "已完成检查")
    for day in days(date(2024, 9, 28), date(2024, 10, 9)):
        tick_at(day)
    assert all(
        r.created_at.astimezone(OFFICE_TZ).date() <= date(2024, 9, 27)
        for r in office.deliveries(ob)
    )
    run("obligation", "reopen", str(ob), "--reason", "材料不全")
    tick_at(date(2024, 10, 10))
    assert office.deliveries(ob)[-1].stage == "chase"
    history = json.loads(run("obligation", "history", str(ob), "--json"))
    actions = [h["action"] for h in history if h["entity"] == "obligation"]
    assert actions[-2:] == ["reopen", "chase_sent"] and "submit" in actions
