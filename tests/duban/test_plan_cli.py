"""`duban import` and `duban plan …` on SQLite and PostgreSQL: drafts, pending units, the review round trip."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from intake import parse_path
from models import AuditEvent, Milestone, Plan, Task, TaskUnit, Unit, UnitGroup
from models.repo.plans import load_parsed
from tests.conftest import EXAMPLES

runner = CliRunner()
PLANS = EXAMPLES / "plans"
POINTS = PLANS / "2024_区安全生产工作要点.md"
SMALL = """示范区2024年安全生产测试计划

1. 开展专项检查。3月底前完成全区检查。（区应急局、区新设局）
2. 组织隐患排查。每月26日前报送排查情况。（责任单位：区新设局；配合单位：各有关企业、各街镇）

附件

序号\t重点任务\t区领导\t责任单位\t配合单位\t工作要求\t备注
1\t安全演练\t副区长丁\t区应急局\t/\t4月底前完成演练。\t
"""


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _counts() -> dict[str, int]:
    with Session(runtime.engine()) as s:
        return {
            m.__name__: s.exec(select(func.count()).select_from(m)).one()
            for m in (Plan, Task, TaskUnit, Milestone, Unit, UnitGroup, AuditEvent)
        }


def _with_units() -> None:
    code, _, err = _run("units", "import", str(EXAMPLES / "units.yaml"))
    assert code == 0, err


def _import(path: Path) -> dict[str, object]:
    code, out, err = _run("import", str(path), "--json")
    assert code == 0, err
    result: dict[str, object] = json.loads(out)
    return result


def _small(tmp: Path) -> Path:
    path = tmp / "small.txt"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_it_prints_the_parse_as_json_on_dry_run_and_writes_nothing(cli_env: Path) -> None:
    _with_units()
    before = _counts()
    for path in sorted(PLANS.glob("*.*")):
        code, out, err = _run("import", str(path), "--dry-run", "--json")
        assert code == 0, err
        assert json.loads(out) == json.loads(json.dumps(parse_path(path).to_dict()))
    code, out, _ = _run("import", str(POINTS), "--dry-run")
    assert code == 0 and "预览，未写入" in out and "任务 17 个" in out
    assert _counts() == before


def test_it_stores_a_draft_with_pending_units_groups_and_leaders(cli_env: Path) -> None:
    _with_units()
    before = _counts()
    result = _import(_small(cli_env))
    assert result["pending"] == {
        "units": ["区新设局"],
        "groups": ["各有关企业"],
        "leaders": ["副区长丁"],
    }
    assert (result["tasks"], result["milestones"], result["status"]) == (3, 3, "draft")
    after = _counts()
    assert after["Plan"] - before["Plan"] == 1 and after["Task"] - before["Task"] == 3
    assert after["Unit"] - before["Unit"] == 2 and after["UnitGroup"] - before["UnitGroup"] == 1
    with Session(runtime.engine()) as s:
        plan = s.get(Plan, result["plan_id"])
        assert plan is not None and plan.status == "draft" and plan.activated_at is None
        rows = s.exec(select(TaskUnit.role, TaskUnit.name).order_by(col(TaskUnit.id))).all()
        assert [tuple(r) for r in rows] == [
            ("lead", "区应急局"),
            ("lead", "区新设局"),
            ("lead", "区新设局"),
            ("support", "各有关企业"),
            ("support", "各街镇"),
            ("lead", "区应急局"),
            ("leader", "副区长丁"),
        ]
        units = {u.name: u for u in s.exec(select(Unit)).all()}
        assert units["区新设局"].status == "pending" and units["副区长丁"].kind == "leader"
        assert units["区应急局"].status == "active"  # known units are not pending
        groups = {g.name: g.status for g in s.exec(select(UnitGroup)).all()}
        assert groups["各有关企业"] == "pending" and groups["各街镇"] == "active"
        keys = s.exec(select(Milestone.key, Milestone.rrule).order_by(col(Milestone.id))).all()
        assert [tuple(k) for k in keys] == [
            ("m1", None),
            ("m1", "FREQ=MONTHLY;BYMONTHDAY=26"),
            ("m1", None),
        ]
    code, out, _ = _run("plan", "pending", str(result["plan_id"]))
    assert code == 0 and "区新设局" in out and "各有关企业" in out and "副区长丁" in out
    assert "各街镇" not in out and "区应急局" not in out


def test_it_adds_collective_names_as_groups_on_an_empty_directory(cli_env: Path) -> None:
    result = _import(POINTS)
    pending = result["pending"]
    assert isinstance(pending, dict)
    assert {
        "各街镇",
        "区安委会各成员单位",
        "区安委会有关成员单位",
        "区安委会各专委会（办）牵头部门",
    } <= set(pending["groups"])
    assert "区应急局" in pending["units"] and not set(pending["units"]) & set(pending["groups"])
    assert pending["leaders"] == ["区长甲", "副区长乙", "副区长丙"]


@pytest.mark.parametrize("path", sorted(PLANS.glob("*.*")), ids=lambda p: p.name)
def test_it_stores_each_example_plan_with_nothing_pending(cli_env: Path, path: Path) -> None:
    _with_units()
    parsed = parse_path(path)
    result = _import(path)
    assert result["tasks"] == len(parsed.tasks)
    assert result["milestones"] == sum(len(t.milestones) for t in parsed.tasks)
    assert result["pending"] == {"units": [], "groups": [], "leaders": []}
    code, out, _ = _run("plan", "show", str(result["plan_id"]), "--json")
    shown = json.loads(out)
    assert [t["ref"] for t in shown["tasks"]] == [t.ref for t in parsed.tasks]
    assert shown["tasks"][0]["milestones"][0]["key"] == "m1"
    code, out, _ = _run("plan", "list")
    assert code == 0 and parsed.meta.title in out and "草稿" in out


def test_it_warns_about_a_duplicate_import_unless_forced(cli_env: Path) -> None:
    first = _import(POINTS)
    before = _counts()
    code, out, err = _run("import", str(POINTS))
    assert code == 0 and f"即计划 {first['plan_id']}" in err and "--force" in err
    assert _counts() == before
    code, out, err = _run("import", str(POINTS), "--force")
    assert code == 0 and "已保存为草稿计划" in out and f"已导入为计划 {first['plan_id']}" in err
    assert _counts()["Plan"] == before["Plan"] + 1


def _export(plan_id: object, tmp: Path) -> Path:
    path = tmp / f"plan{plan_id}.xlsx"
    code, out, err = _run("plan", "export", str(plan_id), "--xlsx", str(path))
    assert code == 0 and "已导出" in out, err
    return path


def test_it_applies_an_unchanged_sheet_as_no_change(cli_env: Path, seeds_dir: Path) -> None:
    _with_units()
    for path in [POINTS, *sorted(seeds_dir.glob("*.txt"))]:
        plan_id = _import(path)["plan_id"]
        sheet = _export(plan_id, cli_env)
        before = _counts()
        with Session(runtime.engine()) as s:
            stored = load_parsed(session=s, plan_id=int(str(plan_id)))
        code, out, err = _run("plan", "apply", str(plan_id), str(sheet))
        assert (code, out.strip()) == (0, "无变化"), err
        assert _counts() == before
        with Session(runtime.engine()) as s:
            assert load_parsed(session=s, plan_id=int(str(plan_id))) == stored


def _edit_sheet(path: Path, edits: dict[tuple[str, str], object]) -> Path:
    """Change cells of sheet 任务 by (序号, column), as the office would in Excel."""
    wb = openpyxl.load_workbook(path)
    ws = wb["任务"]
    header = [c.value for c in ws[1]]
    rows = {ws.cell(row=r, column=1).value: r for r in range(2, ws.max_row + 1)}
    for (ref, column), value in edits.items():
        ws.cell(row=rows[ref], column=header.index(column) + 1).value = value
    wb.save(path)
    return path


def test_it_applies_exactly_an_edited_deadline_and_unit(cli_env: Path) -> None:
    _with_units()
    plan_id = _import(POINTS)["plan_id"]
    sheet = _edit_sheet(
        _export(plan_id, cli_env),
        {
            ("1", "里程碑"): "2024-04-30（3月底前）",
            ("7", "配合单位"): "区房管局、区民政局、区应急局",
        },
    )
    before = _counts()
    code, out, _ = _run("plan", "apply", str(plan_id), str(sheet), "--dry-run")
    lines = out.strip().splitlines()
    assert code == 0 and lines[-1] == "将修改 2 处（预览，未写入）" and _counts() == before
    code, out, err = _run("plan", "apply", str(plan_id), str(sheet), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert [c["text"] for c in result["changes"]] == [
        "任务 1 里程碑 m1 修改：2024-03-31（3月底前） → 2024-04-30（3月底前）",
        "任务 7 配合单位：区房管局、区民政局 → 区房管局、区民政局、区应急局",
    ]
    assert _counts() == {
        **before,
        "AuditEvent": before["AuditEvent"] + 2,
        "TaskUnit": before["TaskUnit"] + 1,
    }
    with Session(runtime.engine()) as s:
        task1 = s.exec(select(Task).where(Task.plan_id == plan_id, Task.ref == "1")).one()
        stone = s.exec(select(Milestone).where(Milestone.task_id == task1.id)).one()
        assert stone.due == date(2024, 4, 30) and result["moved_milestones"] == [stone.id]
        task7 = s.exec(select(Task).where(Task.plan_id == plan_id, Task.ref == "7")).one()
        names = s.exec(
            select(TaskUnit.name)
            .where(TaskUnit.task_id == task7.id, TaskUnit.role == "support")
            .order_by(col(TaskUnit.position))
        ).all()
        assert list(names) == ["区房管局", "区民政局", "区应急局"]
        assert result["units_changed_tasks"] == [task7.id]
    code, out, _ = _run("plan", "apply", str(plan_id), str(sheet))
    assert out.strip() == "无变化"


def test_it_adds_and_removes_tasks_and_milestones(cli_env: Path) -> None:
    plan_id = _import(POINTS)["plan_id"]
    sheet = _export(plan_id, cli_env)
    wb = openpyxl.load_workbook(sheet)
    ws = wb["任务"]
    ws.delete_rows(3)  # task 2
    ws.append(["14", "", "新增任务", "10月底前", "区新设局", "", "", "", "新增任务内容"])
    wb.save(sheet)
    _edit_sheet(sheet, {("1", "里程碑"): "2024-03-31（3月底前）\n2024-06-30（6月底前）"})
    code, out, err = _run("plan", "apply", str(plan_id), str(sheet))
    assert code == 0, err
    removed = parse_path(POINTS).tasks[1]
    assert removed.ref == "2"
    assert out.splitlines()[:3] == [
        f"删除任务 2：{removed.title}",
        "任务 1 里程碑 m2 新增：（空） → 2024-06-30（6月底前）",
        "新增任务 14：新增任务",
    ]
    assert "已修改 3 处" in out and "区新设局" in out  # the new unit is listed as pending
    with Session(runtime.engine()) as s:
        refs = s.exec(select(Task.ref).where(Task.plan_id == plan_id)).all()
        assert "2" not in refs and "14" in refs
        assert s.exec(select(Unit).where(Unit.name == "区新设局")).one().status == "pending"


def test_it_refuses_a_broken_review_sheet_and_changes_nothing(cli_env: Path) -> None:
    plan_id = _import(POINTS)["plan_id"]
    sheet = _edit_sheet(
        _export(plan_id, cli_env), {("1", "责任单位"): "区房管局", ("3", "里程碑"): "下个月再说"}
    )
    before = _counts()
    code, _, err = _run("plan", "apply", str(plan_id), str(sheet))
    assert code != 0 and str(sheet) in err and "工作表“任务” 第 4 行 “里程碑”列" in err
    assert _counts() == before


def test_it_refuses_to_apply_to_an_archived_or_other_plan(cli_env: Path) -> None:
    plan_id = _import(POINTS)["plan_id"]
    other = _import(PLANS / "2024_区治本攻坚任务清单.txt")["plan_id"]
    sheet = _export(plan_id, cli_env)
    code, _, err = _run("plan", "apply", str(other), str(sheet))
    assert code != 0 and f"这是计划 {plan_id} 的审核表" in err
    with Session(runtime.engine()) as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        plan.status = "archived"
        s.add(plan)
        s.commit()
    code, _, err = _run("plan", "apply", str(plan_id), str(sheet))
    assert code != 0 and "已归档" in err


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.txt", b"", "文件为空"),
        ("blank.md", b"  \n\n", "文件为空"),
        ("binary.txt", b"\x00\x01\x02PK\x03\x04" * 20, "不是文本文件"),
        ("plan.pdf", b"%PDF-1.4", "无法打开 PDF 文件"),
        (
            "notasks.txt",
            "示范区2024年安全生产工作要点\n\n今年要继续做好安全生产工作。\n".encode(),
            "没有找到任何任务",
        ),
        ("broken.xlsx", b"PK\x03\x04 broken", ""),
    ],
)
def test_it_refuses_bad_input_naming_the_file_and_stores_nothing(
    cli_env: Path, name: str, content: bytes, words: str
) -> None:
    _with_units()
    path = cli_env / name
    path.write_bytes(content)
    before = _counts()
    for extra in ([], ["--dry-run", "--json"]):
        code, out, err = _run("import", str(path), *extra)
        assert code != 0 and str(path) in err and words in err
        assert out == ""
    assert _counts() == before
    code, _, err = _run("import", str(cli_env / "missing.txt"))
    assert code != 0 and "missing.txt" in err and "文件不存在" in err


def test_it_runs_the_import_flow_body(cli_env: Path) -> None:
    from flows.import_plan import import_plan_flow

    preview = import_plan_flow.fn(str(POINTS), dry_run=True)
    assert preview == {"dry_run": True, "parsed": parse_path(POINTS).to_dict(), "unowned": []}
    stored = import_plan_flow.fn(str(POINTS))
    again = import_plan_flow.fn(str(POINTS))
    assert stored["stored"] and again == {
        "stored": False,
        "duplicate_of": stored["plan_id"],
        "title": "示范区2024年安全生产工作要点",
    }


UNOWNED = """示范区2024年安全生产测试计划

1. 开展专项检查。3月底前完成全区检查。（区应急局）
2. 完善工作机制。6月底前出台隐患排查工作制度。
3. 加强宣传教育。持续开展安全宣传。
"""


def test_it_tells_the_office_which_tasks_have_no_owner(cli_env: Path) -> None:
    path = cli_env / "unowned.txt"
    path.write_text(UNOWNED, encoding="utf-8")
    code, out, _ = _run("import", str(path), "--dry-run")
    assert code == 0 and "没有责任单位的任务 2 项" in out and "[2] 完善工作机制" in out
    assert "[3] 加强宣传教育（无时限）" in out
    code, out, err = _run("import", str(path))
    assert code == 0, err
    assert "没有责任单位的任务 2 项（启用后无人被催办" in out
    plan_id = out.split("草稿计划 ")[1].split("：")[0]
    code, out, _ = _run("plan", "pending", plan_id)
    assert "[2] 完善工作机制" in out
    code, out, _ = _run("plan", "pending", plan_id, "--json")
    assert [t["ref"] for t in json.loads(out)["unowned"]] == ["2", "3"]
    code, out, _ = _run("plan", "show", plan_id)
    assert "责任单位：（无，启用后无人被催办）" in out


def test_it_refuses_to_activate_a_dated_duty_with_no_owner_unless_allowed(cli_env: Path) -> None:
    path = cli_env / "unowned.txt"
    path.write_text(UNOWNED, encoding="utf-8")
    plan_id = str(_import(path)["plan_id"])
    code, _, err = _run("plan", "activate", plan_id)
    assert code != 0 and "未启用" in err and "[2] 完善工作机制" in err and "--allow-unowned" in err
    assert "[3]" not in err  # no time: tracked through the progress report, not a refusal
    with Session(runtime.engine()) as s:
        plan = s.get(Plan, int(plan_id))
        assert plan is not None and plan.status == "draft"
    code, out, err = _run("plan", "activate", plan_id, "--allow-unowned")
    assert code == 0, err
    assert "没有责任单位的任务 2 项" in out
    with Session(runtime.engine()) as s:
        actions = s.exec(select(AuditEvent.action).where(AuditEvent.entity == "plan")).all()
    assert "activated_unowned" in actions
