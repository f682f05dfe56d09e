"""`duban simulate` on SQLite and PostgreSQL: file and stored plans, the JSON timeline checked against the policy."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from flows.context import reset_context
from models import AuditEvent, Milestone, Obligation, Plan, Task, TaskUnit, Unit, UnitGroup
from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.policy import Policy
from schedules.rules import ObligationState, plan_actions
from tests.conftest import EXAMPLES

runner = CliRunner()
CAL = load_calendar()
POLICY = Policy()
SMALL = """示范区{year}年安全生产模拟测试计划

1. 开展专项检查。9月26日前完成全区检查。（责任单位：区应急局；配合单位：区消防救援支队）
2. 组织隐患排查。每月26日前报送排查情况。（责任单位：区市场监管局、各街镇、区新设局）
"""
TOWNS = ("长征镇", "甘泉路街道")  # members of 各街镇 in examples/units.yaml


@pytest.fixture
def sim_env(cli_env: Path) -> Iterator[Path]:
    """The CLI on a fresh database with the example directory; the flow context rebuilt for it."""
    reset_context()
    code, _, err = _run("units", "import", str(EXAMPLES / "units.yaml"))
    assert code == 0, err
    yield cli_env
    reset_context()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _simulate(*args: str) -> dict[str, Any]:
    code, out, err = _run("simulate", *args, "--json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def _small(tmp: Path, year: int = 2024) -> Path:
    path = tmp / f"small{year}.txt"
    path.write_text(SMALL.format(year=year), encoding="utf-8")
    return path


def _counts() -> dict[str, int]:
    with Session(runtime.engine()) as s:
        return {
            m.__name__: s.exec(select(func.count()).select_from(m)).one()
            for m in (Plan, Task, TaskUnit, Milestone, Obligation, Unit, UnitGroup, AuditEvent)
        }


def _local(action: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(action["at"]).astimezone(OFFICE_TZ)


def _stages(data: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """Stages seen per (unit, task_ref)."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for a in data["actions"]:
        out[(a["unit"], a["task_ref"])].add(a["stage"])
    return out


def _assert_on_policy(data: dict[str, Any], policy: Policy = POLICY) -> None:
    """Every send on a working day, at the send time, inside the office window."""
    assert data["actions"], "no actions at all"
    for a in data["actions"]:
        if a["stage"] == "lapse":  # 逾期未报: a state change at 00:00, no message
            assert _local(a).time() == time(0, 0) and a["level"] == 0
            continue
        at = _local(a)
        assert CAL.is_workday(at.date()), a
        if a["stage"] != "assign":  # the 交办 goes at activation, or at the window's opening
            assert at.time() == policy.send_time, a
        assert policy.window_start <= at.time() <= policy.window_end, a
        levels = {"assign": 0, "remind": 0, "chase": 1, "office": 2, "leader": 3}
        assert a["level"] == levels[a["stage"]]


def test_it_simulates_a_file_plan_without_storing_anything(sim_env: Path) -> None:
    path = _small(sim_env)
    before = _counts()
    data = _simulate(str(path), "--submit-rate", "0.7", "--seed", "3")
    assert _counts() == before
    assert set(data) >= {"actions", "totals", "warnings"} and data["warnings"] == []
    first = data["actions"][0]
    assert set(first) >= {"at", "stage", "level", "unit", "task_ref", "due"}
    assert data["simulation"]["from"] == "2024-01-01" and data["simulation"]["to"] == "2024-12-31"
    _assert_on_policy(data)
    units = set(data["totals"]["per_unit"])
    # 各街镇 expands through the directory; the unknown 区新设局 is one recipient under its own name.
    assert {"区应急局", "区消防救援支队", "区市场监管局", "区新设局", *TOWNS} <= units
    assert "各街镇" not in units and data["unexpanded"] == ["区新设局"]
    totals = data["totals"]
    assert (
        totals["actions"]
        == len(data["actions"])
        == sum(sum(per.values()) for per in totals["per_unit"].values())
    )
    assert totals["remind"] == sum(a["stage"] == "remind" for a in data["actions"])
    assert _simulate(str(path), "--submit-rate", "0.7", "--seed", "3") == data


def test_it_escalates_lead_units_and_never_supporting_ones_when_nobody_reports(
    sim_env: Path,
) -> None:
    data = _simulate(str(_small(sim_env)), "--submit-rate", "0")
    stages = _stages(data)
    assert stages[("区应急局", "1")] == {"assign", "remind", "chase", "office"}
    assert stages[("区消防救援支队", "1")] == {"assign", "remind"}  # 配合单位: no escalation
    # The monthly report: each missed month closes as 逾期未报 when the next falls due.
    assert {"assign", "office", "lapse"} <= stages[("长征镇", "2")]
    assert data["totals"]["submitted"] == 0 and data["totals"]["max_level"] == 2
    assert data["totals"]["leader"] == 0 and data["totals"]["lapsed"] > 0
    volume = data["volume"]
    assert volume["chase_max"] == 2 and volume["assigned_units"] == len(data["totals"]["per_unit"])
    for a in data["actions"]:  # nothing for a missed month once the next one is due
        if a["task_ref"] == "2" and a["stage"] != "lapse":
            assert _local(a).date() <= date.fromisoformat(a["due"]) + timedelta(days=31)
    _assert_on_policy(data)


def test_it_sends_exactly_the_planned_days_for_one_obligation(sim_env: Path) -> None:
    data = _simulate(str(_small(sim_env)), "--submit-rate", "0", "--to", "2024-11-15")
    mine = [a for a in data["actions"] if a["unit"] == "区应急局" and a["task_ref"] == "1"]
    # 交办 on the first working day of the period (01-01 is a holiday), then the planned ladder.
    assert (mine[0]["stage"], _local(mine[0])) == (
        "assign",
        datetime(2024, 1, 2, 9, 0, tzinfo=OFFICE_TZ),
    )
    state = ObligationState(due=date(2024, 9, 26), is_lead=True, starts_on=date(2024, 1, 1))
    planned = plan_actions(state, POLICY, CAL, until=date(2024, 11, 15))
    assert [_local(a) for a in mine[1:]] == [p.at.astimezone(OFFICE_TZ) for p in planned]
    assert [a["stage"] for a in mine[1:]] == [p.stage.value for p in planned]
    # 2024-10-01..07 is the National Day holiday: no action inside it.
    assert not [a for a in mine if date(2024, 10, 1) <= _local(a).date() <= date(2024, 10, 7)]
    # 269 days of lead time: the early reminder 30 days before, then 5 and 2 working days before.
    assert [_local(a).date().isoformat() for a in mine if a["stage"] == "remind"] == [
        "2024-08-27", "2024-09-19", "2024-09-24", "2024-09-26",
    ]  # fmt: skip
    assert [_local(a).date().isoformat() for a in mine if a["stage"] != "remind"][1:] == [
        "2024-09-27", "2024-09-29", "2024-09-30",
    ]  # fmt: skip


def test_it_simulates_a_stored_draft_with_its_policy_overrides(sim_env: Path) -> None:
    code, out, err = _run("import", str(_small(sim_env)), "--json")
    assert code == 0, err
    plan_id = json.loads(out)["plan_id"]
    with Session(runtime.engine()) as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        plan.policy = {"send_time": "10:00"}
        s.add(plan)
        s.commit()
    before = _counts()
    data = _simulate(str(plan_id), "--from", "2024-06-01", "--to", "2024-10-31")
    assert _counts() == before
    assert "草稿" in data["simulation"]["plan"]
    _assert_on_policy(data, Policy(send_time=time(10, 0)))
    assert min(_local(a).date() for a in data["actions"]) >= date(2024, 6, 1)
    assert max(_local(a).date() for a in data["actions"]) <= date(2024, 10, 31)
    code, out, err = _run("simulate", str(plan_id), "--to", "2024-10-31")
    assert code == 0, err
    assert "2024-09-19（周四）" in out and "10:00 提醒(L0) 区应急局 任务 1 截止 2024-09-26" in out
    assert "按单位：" in out and "合计：" in out and err == ""


def test_it_warns_when_the_period_has_no_calendar_data(sim_env: Path) -> None:
    path = _small(sim_env, 2027)
    data = _simulate(str(path))
    assert len(data["warnings"]) == 1 and "2027" in data["warnings"][0]
    assert "周一至周五" in data["warnings"][0]
    code, out, err = _run("simulate", str(path))
    assert code == 0 and "2027 年没有节假日数据" in err and "节假日数据" not in out
    assert _simulate(str(_small(sim_env)))["warnings"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("999",), "没有编号为 999 的计划"),
        (("no-such-plan.txt",), "既不是计划编号，也不是存在的计划文件"),
        (("{small}", "--from", "2024-13-01"), "--from 的值无效: 应为日期"),
        (("{small}", "--from", "2024-10-01", "--to", "2024-09-01"), "早于 --from"),
        (("{small}", "--submit-rate", "1.5"), "--submit-rate 应在 0 到 1 之间"),
    ],
)
def test_it_names_bad_input(sim_env: Path, args: tuple[str, ...], message: str) -> None:
    small = str(_small(sim_env))
    code, _, err = _run("simulate", *(a.format(small=small) for a in args))
    assert code != 0 and message in err


SEEDS = ("000", "001", "002", "003", "004")


@pytest.mark.parametrize("seed", SEEDS)
def test_it_simulates_each_seed_over_its_period(cli_env: Path, seeds_dir: Path, seed: str) -> None:
    reset_context()
    path = next(seeds_dir.glob(f"{seed}_*.txt"))
    expected = json.loads((seeds_dir / "expected" / f"{path.stem}.json").read_text("utf-8"))
    data = _simulate(str(path), "--submit-rate", "0")
    _assert_on_policy(data)
    plan = expected["plan"]
    first_day = date(plan["year"], 1, 1)
    last_day = date(plan.get("until_year") or plan["year"], 12, 31)
    assert all(first_day <= _local(a).date() <= last_day for a in data["actions"])
    assert data["totals"]["obligations"] >= 9 and data["totals"]["remind"] >= 9
    stages = _stages(data)
    # On an empty directory every name is one recipient: each unit the expected file names acts.
    for task in expected.get("tasks", []):
        for unit in task.get("lead_units", []):
            assert "remind" in stages[(unit, task["ref"])], (task["ref"], unit)
        for unit in set(task.get("support_units", [])) - set(task.get("lead_units", [])):
            assert stages[(unit, task["ref"])] == {"assign", "remind"}, (task["ref"], unit)
    assert data["volume"]["chase_max"] <= 2
    dues: dict[str, set[str]] = defaultdict(set)
    for a in data["actions"]:
        dues[a["task_ref"]].add(a["due"])
    milestones = expected.get("task_milestones", {})
    for ref, days in milestones.items():
        assert ref not in dues or set(days) <= dues[ref], ref
    assert not milestones or set(milestones) & set(dues)  # 001: task 10 (镇安委会相关成员单位)
    reset_context()


def test_it_simulates_one_progress_report_per_unit_and_period(
    sim_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(_small(sim_env))
    data = _simulate(path, "--submit-rate", "0")
    progress = [a for a in data["actions"] if a["task_ref"] == "进展报告"]
    # The plan reports monthly (每月26日前): the units that owe that report (区市场监管局, the
    # towns, 区新设局) report their progress there; the others report at the same cadence.
    assert {a["unit"] for a in progress} == {"区应急局", "区消防救援支队"}
    months = [date(2024, m, 26).isoformat() for m in range(1, 13)]
    for unit in ("区应急局", "区消防救援支队"):
        mine = [a for a in progress if a["unit"] == unit]
        assert sorted({a["due"] for a in mine}) == months  # one report per period
        assert [a["stage"] for a in mine].count("assign") == 1  # listed once in the 交办
        for due in months:
            stages = [a["stage"] for a in mine if a["due"] == due]
            assert stages.count("chase") <= 2 and "office" not in stages  # no 督办 by default
            # Each missed month closes as 逾期未报 when the next one falls due (not December's).
            assert stages.count("lapse") == (due != months[-1])
        assert {"remind", "chase"} <= {a["stage"] for a in mine}
    assert data["totals"]["lapsed"] >= 2 * 11
    _assert_on_policy(data)
    # Counted in the volume: the same plan with progress reports off sends fewer messages.
    off = sim_env / "off.yaml"
    off.write_text("default:\n  progress: false\n", encoding="utf-8")
    monkeypatch.setenv("DUBAN_POLICY_FILE", str(off))
    runtime.reset()
    reset_context()
    without = _simulate(path, "--submit-rate", "0")
    assert not [a for a in without["actions"] if a["task_ref"] == "进展报告"]
    extra = len({(a["unit"], a["at"]) for a in progress if a["stage"] != "lapse"})
    assert data["volume"]["messages"] > without["volume"]["messages"]
    assert data["volume"]["messages"] - without["volume"]["messages"] <= extra
    reset_context()


def test_it_simulates_the_quarterly_default_when_the_plan_has_no_report(sim_env: Path) -> None:
    path = sim_env / "one.txt"
    path.write_text(
        "示范区2024年安全生产模拟测试计划\n\n1. 开展专项检查。9月26日前完成全区检查。（责任单位：区应急局）\n",
        encoding="utf-8",
    )
    data = _simulate(str(path), "--submit-rate", "0", "--from", "2024-04-15")
    mine = [a for a in data["actions"] if a["task_ref"] == "进展报告"]
    assert {a["unit"] for a in mine} == {"区应急局"}
    assert sorted({a["due"] for a in mine}) == ["2024-06-30", "2024-09-30", "2024-12-20"]
    # One series: September's missed report closes when the December summary falls due.
    lapses = [(a["due"], _local(a).date().isoformat()) for a in mine if a["stage"] == "lapse"]
    assert lapses == [("2024-06-30", "2024-09-30"), ("2024-09-30", "2024-12-20")]
    # The 交办 on the activation day lists it with the unit's other duty: one message.
    assigns = [a for a in data["actions"] if a["stage"] == "assign"]
    assert {a["task_ref"] for a in assigns} == {"1", "进展报告"}
    assert {_local(a).date() for a in assigns} == {date(2024, 4, 15)}
    assert len({a["at"] for a in assigns}) == 1
