"""The office is a real recipient: its own directory unit gets the digest, and the CLI says truly
whether it was delivered (`duban digest`, `duban digest --preview`)."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from flows.context import reset_context
from flows.delivery import reset_pipeline
from tests.flows.conftest import UNITS, Office, office, run

__all__ = ["office"]
MONDAY = "2024-09-23T09:00:00+08:00"  # tasks due 2024-09-26 fall in this week's digest
OFFICE_UNIT = """
  - name: 示例区安委办
    kind: 办公室
    contacts: [{name: 值班员, role: 联络员, email: duty@example.gov.cn}]
    channels: [{type: 邮件}]
"""


@pytest.fixture
def no_office_email(office: Office, monkeypatch: pytest.MonkeyPatch) -> Office:
    monkeypatch.delenv("DUBAN_OFFICE_EMAIL")
    monkeypatch.setenv("DUBAN_NOW", MONDAY)
    runtime.reset()
    reset_context()
    reset_pipeline()
    return office


def _received(office: Office, address: str) -> list[str]:
    return [m["Subject"] for _, rcpt, m in office.smtp.sink.received if rcpt == [address]]


def test_it_says_the_digest_reached_nobody_when_the_office_has_no_address(
    no_office_email: Office,
) -> None:
    preview = run("digest", "--preview")
    assert "无人可收" in preview and "DUBAN_OFFICE_EMAIL" in preview
    result = CliRunner().invoke(app, ["digest"])
    assert result.exit_code == 1 and "办公室日报未送达" in result.stderr


def test_it_sends_the_digest_to_the_office_unit_of_the_directory(no_office_email: Office) -> None:
    units = no_office_email.home / "units.yaml"
    directory = units.read_text(encoding="utf-8").replace(
        "groups:", OFFICE_UNIT.lstrip("\n") + "groups:"
    )
    assert "示例区安委办" in directory and UNITS.strip().splitlines()[0] in directory
    units.write_text(directory, encoding="utf-8")
    run("units", "import", str(units))
    preview = run("digest", "--preview")
    assert preview.startswith("收件人: duty@example.gov.cn") and "区应急局" in preview
    assert _received(no_office_email, "duty@example.gov.cn") == []  # a preview sends nothing
    out = run("digest")
    assert "办公室日报已送达" in out
    [subject] = _received(no_office_email, "duty@example.gov.cn")
    assert "每日汇总" in subject
    assert "已送达" in run("digest") and len(_received(no_office_email, "duty@example.gov.cn")) == 1
    assert os.environ["DUBAN_NOW"] == MONDAY


def _at(when: str) -> None:
    os.environ["DUBAN_NOW"] = when
    runtime.reset()


def _digests(office: Office) -> list[str]:
    return [s for s in _received(office, "office@example.gov.cn") if "每日汇总" in s]


def test_it_sends_the_09_00_digest_once_from_duban_tick(office: Office) -> None:
    _at("2024-09-23T08:55:00+08:00")
    assert "办公室日报" not in run("tick")  # before 09:00: not yet
    assert _received(office, "office@example.gov.cn") == []
    _at("2024-09-23T09:06:00+08:00")
    assert "办公室日报" not in run("tick", "--no-periodic")  # asked to skip the periodic jobs
    assert _digests(office) == []
    out = run("tick")
    assert "办公室日报：送达 1/1 份" in out and "领导每周简报" in out
    _at("2024-09-23T09:30:00+08:00")
    assert "办公室日报" not in run("tick")  # once a day
    assert "办公室日报" not in run("tick")  # twice-run: still once
    assert len(_digests(office)) == 1
    status = run("status")
    assert "办公室日报：下次 2024-09-24 09:00；上次 2024-09-23 09:06：送达 1/1 份" in status


def test_it_catches_up_once_after_downtime(office: Office) -> None:
    _at("2024-09-23T09:06:00+08:00")
    run("tick")
    _at("2024-09-26T10:00:00+08:00")  # nothing ran on Tuesday or Wednesday
    out = run("tick")
    assert "办公室日报：送达 1/1 份（补跑，停机期间错过 2 次）" in out
    assert "办公室日报" not in run("tick")
    assert len(_digests(office)) == 2
    _at("2024-09-27T12:00:00+08:00")  # Friday: on time again; doctor is content
    assert "办公室日报：送达 1/1 份" in run("tick")
    assert "[通过] 定期任务" in run("doctor")


def test_doctor_names_a_periodic_job_that_is_late(office: Office) -> None:
    _at("2024-09-23T09:06:00+08:00")
    run("tick")
    _at("2024-09-26T10:00:00+08:00")
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "[问题] 定期任务" in result.stdout and "已过时未运行" in result.stdout


def test_it_prints_the_month_roll_call(office: Office) -> None:
    before = run("rollcall", "--month", "2024-09")
    # Sorted by code point, as the audit row; the units that do not owe the plan's monthly report
    # owe their progress report at its cadence (进展报告, on by default) and are called too.
    assert "未报送：乙街道、区应急局、区建管委、区房管局、甲街道" in before
    rows = json.loads(run("obligation", "list", "--unit", "甲街道", "--json", "--all"))["items"]
    [september] = [r for r in rows if r["task_ref"] == "5" and r["due"] == "2024-09-26"]
    run("obligation", "submit", str(september["id"]), "--unit", "甲街道")
    after = run("rollcall", "--month", "2024年9月", "--json")
    assert '"reported": [\n    "甲街道"\n  ]' in after and "乙街道" in after
    assert "没有到期的月报" in run("rollcall", "--month", "2023-01")
    result = CliRunner().invoke(app, ["rollcall", "--month", "2024-13"])
    assert result.exit_code == 2 and "--month 应为年月" in result.stderr


LATE_LEADER_PLAN = """序号,任务,时间节点,责任单位,配合单位,区领导
1,完成危化品企业专项检查,2024年9月26日前,区房管局,,李副区长
"""
LEADER_UNIT = """
  - name: 李副区长
    kind: 领导
    contacts: [{name: 李副区长, role: 负责人, email: li.leader@example.gov.cn}]
    channels: [{type: 邮件}]
"""


def test_a_pending_leader_is_warned_listed_and_served_once_added(office: Office) -> None:
    from tests.flows.conftest import days, tick_at

    plan = office.home / "危化品专项.csv"
    plan.write_text(LATE_LEADER_PLAN, encoding="utf-8")
    out = run("import", str(plan))
    plan_id = out.split("草稿计划 ")[1].split("：")[0].split(":")[0].strip()
    activated = CliRunner().invoke(app, ["plan", "activate", plan_id])
    assert activated.exit_code == 0
    assert "警告: 领导 李副区长 在单位目录中待补充" in activated.stderr
    assert "李副区长" in run("plan", "pending", plan_id)
    from datetime import date

    for day in days(date(2024, 9, 26), date(2024, 10, 9)):
        tick_at(day)
    assert _received(office, "li.leader@example.gov.cn") == []
    units = office.home / "units.yaml"
    units.write_text(
        units.read_text(encoding="utf-8").replace("groups:", LEADER_UNIT.lstrip("\n") + "groups:"),
        encoding="utf-8",
    )
    joined = run("units", "import", str(units))
    assert "已补充领导 李副区长：补发待报领导的督办事项 1 项，送达 1/1 份" in joined
    [subject] = _received(office, "li.leader@example.gov.cn")
    assert "督办" in subject or "汇总" in subject
    assert "李副区长" not in run("plan", "pending", plan_id)
    again = run("units", "import", str(units))  # already in the directory: nothing more
    assert "已补充领导" not in again and len(_received(office, "li.leader@example.gov.cn")) == 1


def test_doctor_fails_when_no_one_receives_the_office_digest(no_office_email: Office) -> None:
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    [line] = [x for x in result.stdout.splitlines() if "办公室收件人" in x]
    assert line.startswith("[问题] 办公室收件人: ") and "DUBAN_OFFICE_EMAIL" in line
    units = no_office_email.home / "units.yaml"
    units.write_text(
        units.read_text(encoding="utf-8").replace("groups:", OFFICE_UNIT.lstrip("\n") + "groups:"),
        encoding="utf-8",
    )
    run("units", "import", str(units))
    after = CliRunner().invoke(app, ["doctor"]).stdout
    assert (
        "[通过] 办公室收件人: 日报与点名发往单位目录中的办公室 示例区安委办（duty@example.gov.cn）"
        in after
    )
