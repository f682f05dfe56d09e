"""The office's commands on real state: queue ack/note/resolve, accept, extend, waive, confirm, status, doctor."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from schedules.clock import OFFICE_TZ
from tests.flows.conftest import Office, days, run, tick_at


def _obligation(ob_id: int) -> dict:  # type: ignore[type-arg]
    rows = json.loads(run("obligation", "list", "--json", "--all"))["items"]
    return next(r for r in rows if r["id"] == ob_id)


def test_it_works_the_queue_and_closes_items_on_acceptance(office: Office) -> None:
    for day in days(date(2024, 9, 19), date(2024, 10, 1)):
        tick_at(day)
    queue = json.loads(
        run("queue", "list", "--level", "2", "--unit", "区应急局", "--json", "--all")
    )["items"]
    assert [q["task_ref"] for q in queue] == ["1"]
    qid = str(queue[0]["queue_id"])
    run("queue", "ack", qid, "--by", "王科长")
    run("queue", "note", qid, "已电话催办，承诺10月8日前报送")
    item = json.loads(run("queue", "list", "--json", "--all"))["items"]
    mine = next(q for q in item if q["queue_id"] == int(qid))
    assert mine["queue_status"] == "acked" and mine["acked_by"] == "王科长"
    assert mine["notes"][0]["text"].startswith("已电话催办")
    ob = queue[0]["id"]
    run("obligation", "submit", str(ob), "--unit", "区应急局", "--note", "已完成")
    run("obligation", "accept", str(ob))
    assert _obligation(ob)["status"] == "accepted"
    assert all(
        q["queue_id"] != int(qid)
        for q in json.loads(run("queue", "list", "--json", "--all"))["items"]
    )
    resolved = json.loads(run("queue", "list", "--status", "resolved", "--json", "--all"))["items"]
    assert any(q["queue_id"] == int(qid) for q in resolved)
    wrong = CliRunner().invoke(app, ["queue", "ack", qid, "--by", "x"])
    assert wrong.exit_code != 0 and "已办结" in wrong.stderr


def test_it_replans_the_chase_on_extension_and_stops_on_waive(office: Office) -> None:
    for day in days(date(2024, 9, 19), date(2024, 9, 27)):
        tick_at(day)
    ob = office.ob_id("1", "区应急局")
    run("obligation", "extend", str(ob), "--to", "2024-10-18", "--reason", "汛期任务冲突")
    row = _obligation(ob)
    assert row["due"] == "2024-10-18" and row["level"] == 0 and row["status"] == "open"
    for day in days(date(2024, 9, 28), date(2024, 10, 18)):
        tick_at(day)
    stages = [(d.stage, d.seq) for d in office.deliveries(ob)]
    assert ("remind", "remind-5@2024-10-18") in stages and (
        "remind",
        "remind-0@2024-10-18",
    ) in stages
    old = [d for d in office.deliveries(ob) if d.seq.endswith("@2024-09-26")]
    assert max(d.created_at for d in old).astimezone(OFFICE_TZ).date() == date(
        2024, 9, 27
    )  # none after
    waived = office.ob_id("1", "区建管委")
    run("obligation", "waive", str(waived), "--reason", "配合单位无需单独报送")
    assert _obligation(waived)["status"] == "waived"
    bad = CliRunner().invoke(app, ["obligation", "accept", str(waived)])
    assert bad.exit_code != 0 and "不允许" in bad.stderr


def test_it_reports_status_and_doctor(office: Office) -> None:
    tick_at(date(2024, 9, 19))
    status = json.loads(run("status", "--json"))
    assert status["last_tick"].startswith("2024-09-19T09:05") and status["due_now"] == 0
    assert 2024 in status["calendar_years"]
    result = CliRunner().invoke(app, ["doctor", "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["数据库与迁移"]["ok"] and checks["消息模板"]["ok"] and checks["工作日日历"]["ok"]
    assert checks["督办策略"]["ok"]
    assert "内置默认策略（schedules/default_policy.yaml）" in checks["督办策略"]["detail"]
    assert "催办最多 2 次" in checks["督办策略"]["detail"]


def test_doctor_names_the_policy_file_in_force(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = Path(__file__).parents[2] / "bench" / "policies" / "legacy.yaml"
    monkeypatch.setenv("DUBAN_POLICY_FILE", str(legacy))
    runtime.reset()
    result = CliRunner().invoke(app, ["doctor"])
    line = next(x for x in result.stdout.splitlines() if "督办策略" in x)
    assert line.startswith("[通过]") and f"DUBAN_POLICY_FILE 指定的 {legacy}" in line
    assert "催办不限次数" in line
    broken = office.home / "broken.yaml"
    broken.write_text("default: {chase_max: -1}\n", encoding="utf-8")
    monkeypatch.setenv("DUBAN_POLICY_FILE", str(broken))
    runtime.reset()
    result = CliRunner().invoke(app, ["doctor"])
    line = next(x for x in result.stdout.splitlines() if "督办策略" in x)
    assert result.exit_code != 0 and line.startswith("[问题]") and str(broken) in line


def test_it_puts_a_units_escalations_of_one_day_on_one_sheet_worked_as_a_whole(
    office: Office,
) -> None:
    for day in days(date(2024, 9, 19), date(2024, 10, 1)):
        tick_at(day)
    sheets = json.loads(run("queue", "list", "--sheet", "--level", "2", "--json", "--all"))
    by_unit = {s["unit"]: s for s in sheets["items"]}
    # 甲街道's three duties of 09-26 (tasks 2, 4 and September's report) reach 督办 together.
    street = by_unit["甲街道"]
    assert sorted(line["task_ref"] for line in street["lines"]) == ["2", "4", "5"]
    assert street["open_lines"] == 3 and street["office_day"] == "2024-09-30"
    assert sheets["total"] == len(by_unit) == 3  # 区应急局, 甲街道, 乙街道: one sheet each
    lines = json.loads(run("queue", "list", "--unit", "甲街道", "--json", "--all"))["items"]
    assert {q["sheet_id"] for q in lines} == {street["sheet_id"]} and len(lines) == 3
    sid = str(street["sheet_id"])
    out = run("queue", "ack", sid, "--sheet", "--by", "王科长")
    assert f"督办单 S{sid} → 已认领" in out
    lines = json.loads(run("queue", "list", "--unit", "甲街道", "--json", "--all"))["items"]
    assert {(q["queue_status"], q["acked_by"]) for q in lines} == {("acked", "王科长")}
    run("queue", "note", sid, "--sheet", "已电话联系街道，三项一并督办")
    run("queue", "resolve", sid, "--sheet", "--reason", "已现场督办")
    left = json.loads(run("queue", "list", "--unit", "甲街道", "--json", "--all"))["items"]
    assert left == []
    done = json.loads(run("queue", "list", "--sheet", "--status", "resolved", "--json", "--all"))
    closed = next(s for s in done["items"] if s["sheet_id"] == int(sid))
    assert closed["notes"][0]["text"] == "已电话联系街道，三项一并督办"
    again = CliRunner().invoke(app, ["queue", "resolve", sid, "--sheet"])
    assert again.exit_code != 0 and "已办结" in again.stderr
    # A sheet closes by itself when its last line does (the obligation accepted).
    lead = by_unit["区应急局"]
    ob = lead["lines"][0]["id"]
    run("obligation", "submit", str(ob), "--unit", "区应急局", "--note", "已完成")
    run("obligation", "accept", str(ob))
    still = json.loads(run("queue", "list", "--sheet", "--json", "--all"))["items"]
    assert lead["sheet_id"] not in {s["sheet_id"] for s in still}
    history = run("obligation", "history", str(street["lines"][0]["id"]))
    assert "办结" in history
