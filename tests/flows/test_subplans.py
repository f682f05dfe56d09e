"""Sub-plans (子方案): a unit's own plan imported under a task of the parent plan shows in the
parent's roll-up (任务清单 进展 and the 通报), its own sub-plans included (city → district → town)."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from duban.ledger import ledger_rows
from models.tables import Obligation, Plan
from schedules.clock import OFFICE_TZ
from tests.flows.conftest import Office, days, run, tick_at

CHILD = """序号,任务,时间节点,责任单位,配合单位
1,制定安全生产大检查实施细则,2024年9月10日前,区应急局,
2,组织开展大检查专项行动,2024年9月20日前,甲街道,
"""
GRANDCHILD = """序号,任务,时间节点,责任单位,配合单位
1,街道专项行动动员部署,2024年9月13日前,甲街道,
"""


def _import(office: Office, name: str, text: str, parent: str) -> int:
    path = office.home / name
    path.write_text(text, encoding="utf-8")
    out = run("import", str(path), "--parent-task", parent)
    plan_id = int(out.split("草稿计划 ")[1].split("：")[0].split(":")[0].strip())
    run("plan", "activate", str(plan_id))
    return plan_id


def _counts(plan_ids: list[int]) -> tuple[int, int]:
    """(lead obligations due by 09-30, of them reported) straight from the table."""
    with Session(runtime.engine()) as s:
        rows = s.exec(
            select(Obligation).where(
                col(Obligation.plan_id).in_(plan_ids), Obligation.role == "lead"
            )
        ).all()
    due = [r for r in rows if r.due_on <= date(2024, 9, 30)]
    return len(due), sum(1 for r in due if r.submitted_at is not None)


def test_a_sub_plan_imported_under_a_task_shows_in_the_parents_rollup(
    no_progress: None, office: Office
) -> None:
    # Counted without 进展报告 (on by default, they would add the child plans' progress reports
    # to the 项次 rolled up): this test is about the roll-up itself.
    child = _import(office, "区应急局大检查实施方案.csv", CHILD, f"{office.plan_id}:1")
    grand = _import(office, "甲街道大检查工作方案.csv", GRANDCHILD, f"{child}:2")
    with Session(runtime.engine()) as s:
        plans = {p.id: p for p in s.exec(select(Plan))}
    assert plans[child].parent_task_id is not None and plans[grand].parent_task_id is not None

    for day in days(date(2024, 9, 2), date(2024, 9, 10)):
        tick_at(day)
    ob = office_ob(child, "1")
    run("obligation", "submit", str(ob), "--unit", "区应急局", "--note", "细则已印发")
    for day in days(date(2024, 9, 11), date(2024, 9, 30)):
        tick_at(day)

    as_of = datetime(2024, 10, 1, tzinfo=OFFICE_TZ)
    with Session(runtime.engine()) as s:
        rows = {r.ref: r for r in ledger_rows(s, plan_id=office.plan_id, as_of=as_of)}
        child_rows = {r.ref: r for r in ledger_rows(s, plan_id=child, as_of=as_of)}
    due, done = _counts([child, grand])
    assert (due, done) == (3, 1)
    text = rows["1"].progress
    assert f"子方案《{plans[child].title}》（计划 {child}，含下级 1 个）" in text
    assert f"已完成 {done}/{due} 项次" in text and f"逾期未完成 {due - done}" in text
    assert "子方案" not in rows["2"].progress  # only task 1 has a sub-plan
    # One level down, the child's own task 2 rolls up the town's plan alone.
    assert (
        f"子方案《{plans[grand].title}》（计划 {grand}）：已完成 0/1 项次"
        in child_rows["2"].progress
    )

    out = run("report", "draft", str(office.plan_id), "--month", "2024-09")
    doc = int(out.split("通报草稿 ")[1].split()[0])
    body = run("report", "show", str(doc))
    assert "子方案进展" in body and f"第 1 项任务 子方案《{plans[child].title}》" in body

    refused = CliRunner().invoke(
        app, ["plan", "link", str(office.plan_id), "--parent-task", f"{grand}:1"]
    )
    assert refused.exit_code != 0 and "下级" in refused.output + (refused.stderr or "")
    bad = CliRunner().invoke(app, ["import", str(office.home / "x.csv"), "--parent-task", "3"])
    assert bad.exit_code != 0


def office_ob(plan_id: int, ref: str) -> int:
    from models.tables import Task

    with Session(runtime.engine()) as s:
        found = s.exec(
            select(Obligation.id)
            .join(Task, col(Task.id) == col(Obligation.task_id))
            .where(Obligation.plan_id == plan_id, Task.ref == ref)
        ).first()
    assert found is not None
    return found
