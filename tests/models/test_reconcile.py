"""Reconciling an active plan's obligations with an edit, on SQLite and PostgreSQL.

The example plan 2024_区安全生产工作要点 is activated on 2024-03-04; task 1 (due 2024-03-31,
led by 区委办、区委组织部、区应急局、各街镇) is escalated for 区应急局 and submitted by 区委办,
then on 2024-04-10 the office moves its deadline and changes one unit of task 5.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from duban.directory import load_directory
from flows.context import FlowContext, reset_context
from intake import parse_path
from intake.model import ParsedPlan
from models import AuditEvent, Obligation, Plan, Submission, Task, Unit
from models.repo.chase import OfficeAction, apply_decision, due_instant, record_action, state_of
from models.repo.obligations import activate_plan, materialise_plan
from models.repo.plan_rows import PlanError
from models.repo.plans import load_parsed, store_draft
from models.repo.reconcile import (
    CANCELLED_REASON,
    REMOVED_REASON,
    REVISION_ACTOR,
    ReconcileReport,
    reconcile_obligations,
    revise_plan,
)
from models.repo.units import apply_directory
from models.tables import QueueItem
from notify.config import SendConfig
from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.machine import Event
from schedules.policy import Policy, PolicySet
from schedules.rules import decide, plan_actions
from tests.conftest import EXAMPLES

POINTS = EXAMPLES / "plans" / "2024_区安全生产工作要点.md"
ACTIVATED = datetime(2024, 3, 4, 9, 0, tzinfo=OFFICE_TZ)
ESCALATED = datetime(2024, 4, 3, 9, 0, tzinfo=OFFICE_TZ)  # 3 working days after 03-31
SUBMITTED = datetime(2024, 4, 2, 14, 0, tzinfo=OFFICE_TZ)
EDITED = datetime(2024, 4, 10, 9, 0, tzinfo=OFFICE_TZ)
NEW_DUE = date(2024, 5, 31)
CAL = load_calendar()
# Decided directly, without ticks: no 交办 first (the tick sends it; tests/flows cover that).
POLICY = Policy(assign=False)


@pytest.fixture
def ctx(engine: Engine) -> FlowContext:
    return FlowContext(engine=engine, send=SendConfig(), calendar=CAL, policies=PolicySet())


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        spec = load_directory(EXAMPLES / "units.yaml")
        apply_directory(session=s, spec=spec, now=ACTIVATED, actor="test")
        s.commit()
        yield s


def _activate(session: Session, ctx: FlowContext) -> int:
    parsed = parse_path(POINTS)
    stored = store_draft(
        session=session,
        parsed=parsed,
        source_name=POINTS.name,
        sha256="x",
        now=ACTIVATED,
        actor="t",
    )
    activate_plan(session=session, ctx=ctx, plan_id=stored.plan_id, now=ACTIVATED, actor="t")
    session.commit()
    return stored.plan_id


def _ob(session: Session, plan_id: int, ref: str, unit: str) -> Obligation:
    stmt = (
        select(Obligation)
        .join(Task, col(Task.id) == col(Obligation.task_id))
        .join(Unit, col(Unit.id) == col(Obligation.unit_id))
        .where(Obligation.plan_id == plan_id, Task.ref == ref, Unit.name == unit)
        .order_by(col(Obligation.occurrence))
    )
    return session.exec(stmt).first() or pytest.fail(f"no obligation {ref} {unit}")


def _task_obligations(session: Session, plan_id: int, ref: str) -> list[Obligation]:
    stmt = (
        select(Obligation)
        .join(Task, col(Task.id) == col(Obligation.task_id))
        .where(Obligation.plan_id == plan_id, Task.ref == ref)
    )
    return list(session.exec(stmt).all())


def _snapshot(session: Session) -> dict[int, tuple[Any, ...]]:
    session.expire_all()
    return {
        ob.id or 0: (ob.status, ob.due_on, ob.occurrence, ob.escalation_level, ob.role, ob.since)
        for ob in session.exec(select(Obligation)).all()
    }


def _history(session: Session) -> dict[int, tuple[Any, ...]]:
    events = session.exec(select(AuditEvent)).all()
    return {e.id or 0: (e.action, e.entity_id, e.actor, e.at) for e in events}


def _escalate_and_submit(session: Session, plan_id: int) -> tuple[Obligation, Obligation]:
    """区应急局 reaches 督办 on task 1 (history + queue item); 区委办 submits with evidence."""
    escalated = _ob(session, plan_id, "1", "区应急局")
    decision = decide(state_of(escalated), POLICY, CAL, ESCALATED)
    assert decision.action is not None and decision.action.stage.value == "office"
    record_action(
        session=session, ob=escalated, action=decision.action, policy=POLICY, cal=CAL, now=ESCALATED
    )
    submitted = _ob(session, plan_id, "1", "区委办")
    act = OfficeAction(Event.SUBMIT, actor="区委办", reason="已完成")
    apply_decision(session=session, ob=submitted, act=act, policy=POLICY, cal=CAL, now=SUBMITTED)
    session.add(
        Submission(obligation_id=submitted.id or 0, by="区委办", note="已完成", at=SUBMITTED)
    )
    session.commit()
    return escalated, submitted


def _edit(parsed: ParsedPlan, ref: str, **fields: Any) -> ParsedPlan:
    tasks = [dataclasses.replace(t, **fields) if t.ref == ref else t for t in parsed.tasks]
    return dataclasses.replace(parsed, tasks=tasks)


def _move_task1_and_swap_a_unit_of_task5(session: Session, plan_id: int) -> ParsedPlan:
    parsed = load_parsed(session=session, plan_id=plan_id)
    task1 = next(t for t in parsed.tasks if t.ref == "1")
    moved = [dataclasses.replace(task1.milestones[0], due=NEW_DUE)]
    parsed = _edit(parsed, "1", milestones=moved)
    task5 = next(t for t in parsed.tasks if t.ref == "5")
    assert task5.lead_units == ["区建管委", "区房管局", "各街镇"]
    return _edit(parsed, "5", lead_units=["区建管委", "区应急局", "各街镇"])


def test_it_moves_open_obligations_and_changes_only_those(
    session: Session, ctx: FlowContext
) -> None:
    plan_id = _activate(session, ctx)
    escalated, submitted = _escalate_and_submit(session, plan_id)
    before, history = _snapshot(session), _history(session)
    task1_open = {
        ob.id for ob in _task_obligations(session, plan_id, "1") if ob.status != "submitted"
    }
    removed = _ob(session, plan_id, "5", "区房管局")
    edited = _move_task1_and_swap_a_unit_of_task5(session, plan_id)
    changes, report = revise_plan(
        session=session, ctx=ctx, plan_id=plan_id, edited=edited, now=EDITED, actor="office"
    )
    session.commit()
    after = _snapshot(session)
    assert set(before) <= set(after)  # nothing deleted
    changed = {i for i in before if before[i] != after[i]}
    assert changed == task1_open | {submitted.id, removed.id}
    assert {c.obligation_id for c in report.moved} == task1_open
    assert [(c.obligation_id, c.reason) for c in report.waived] == [(removed.id, REMOVED_REASON)]
    assert (report.kept, report.created, len(changes.changes)) == (1, 1, 2)
    new_ids = set(after) - set(before)
    assert len(new_ids) == 1
    added = session.get(Obligation, new_ids.pop())
    assert added is not None and added.due_on == date(2024, 6, 30) and added.role == "lead"
    assert added.unit_id == _ob(session, plan_id, "1", "区应急局").unit_id
    assert added.task_id == removed.task_id and added.status == "open"
    # History is kept: every earlier event is still there, unchanged.
    assert {i: v for i, v in _history(session).items() if i in history} == history
    _check_moved(session, escalated)
    _check_untouched_submission(session, submitted, before[submitted.id or 0])
    session.refresh(removed)
    assert removed.status == "waived" and removed.due_on == date(2024, 6, 30)


def _check_moved(session: Session, ob: Obligation) -> None:
    session.refresh(ob)
    assert (ob.status, ob.escalation_level, ob.due_on, ob.occurrence) == (
        "open",
        0,
        NEW_DUE,
        NEW_DUE,
    )
    assert ob.due_at == due_instant(NEW_DUE, POLICY) and ob.since == EDITED
    first = plan_actions(state_of(ob), POLICY, CAL)[0]
    # 88 days from activation (03-04) to the new date: the early reminder, 30 days before (05-01
    # is a holiday: 04-30), comes first.
    assert ob.next_action_at == first.at and first.seq == f"remind-30d@{NEW_DUE}"
    assert ob.last_stage == "office"  # what was sent stays recorded
    item = session.exec(select(QueueItem).where(QueueItem.obligation_id == ob.id)).one()
    assert item.status == "resolved" and item.resolved_by == REVISION_ACTOR
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.entity == "obligation", AuditEvent.entity_id == ob.id)
        .order_by(col(AuditEvent.id))
    ).all()
    assert [e.action for e in events][-2:] == ["escalated", "deadline_moved"]
    moved = events[-1]
    assert moved.actor == REVISION_ACTOR and moved.data["applied_by"] == "office"
    assert (moved.from_status, moved.to_status) == ("escalated", "open")
    assert moved.data["due_before"] == "2024-03-31" and moved.data["due_after"] == "2024-05-31"
    assert (moved.data["level_before"], moved.data["level_after"]) == (2, 0)


def _check_untouched_submission(session: Session, ob: Obligation, before: tuple[Any, ...]) -> None:
    session.refresh(ob)
    assert (ob.status, ob.due_on, ob.escalation_level) == before[:2] + before[3:4]
    assert ob.status == "submitted" and ob.due_on == date(2024, 3, 31)
    assert ob.occurrence == NEW_DUE  # follows the milestone so materialisation stays idempotent
    subs = session.exec(select(Submission).where(Submission.obligation_id == ob.id)).all()
    assert [s.note for s in subs] == ["已完成"]


def test_it_is_idempotent_after_a_move(session: Session, ctx: FlowContext) -> None:
    plan_id = _activate(session, ctx)
    _escalate_and_submit(session, plan_id)
    edited = _move_task1_and_swap_a_unit_of_task5(session, plan_id)
    revise_plan(session=session, ctx=ctx, plan_id=plan_id, edited=edited, now=EDITED, actor="o")
    session.commit()
    snapshot = _snapshot(session)
    plan = session.get(Plan, plan_id)
    assert plan is not None
    assert materialise_plan(session=session, ctx=ctx, plan=plan, now=EDITED).created == 0
    changes, report = revise_plan(
        session=session, ctx=ctx, plan_id=plan_id, edited=edited, now=EDITED, actor="o"
    )
    assert changes.empty and report.describe() == [] and _snapshot(session) == snapshot


def test_it_waives_cancelled_occurrences_and_materialises_new_ones(
    session: Session, ctx: FlowContext
) -> None:
    plan_id = _activate(session, ctx)
    task4 = _task_obligations(session, plan_id, "4")
    march = next(ob for ob in task4 if ob.occurrence == date(2024, 3, 26))
    act = OfficeAction(Event.SUBMIT, actor="unit")
    apply_decision(session=session, ob=march, act=act, policy=POLICY, cal=CAL, now=EDITED)
    session.commit()
    before = _snapshot(session)
    parsed = load_parsed(session=session, plan_id=plan_id)
    stone = next(t for t in parsed.tasks if t.ref == "4").milestones[0]
    assert stone.rrule == "FREQ=MONTHLY;BYMONTHDAY=26"
    rule = dataclasses.replace(stone, rrule="FREQ=MONTHLY;BYMONTHDAY=20")
    edited = _edit(parsed, "4", milestones=[rule])
    _, report = revise_plan(
        session=session, ctx=ctx, plan_id=plan_id, edited=edited, now=EDITED, actor="o"
    )
    session.commit()
    after = _snapshot(session)
    assert set(before) <= set(after)
    units = len({ob.unit_id for ob in task4})
    assert len(report.waived) == len(task4) - 1 and report.kept == 0 and not report.moved
    assert {c.reason for c in report.waived} == {CANCELLED_REASON}
    assert after[march.id or 0] == before[march.id or 0]  # submitted: untouched
    new = [after[i] for i in set(after) - set(before)]
    # Apr 20 … Dec 20 (none before the edit day) for each unit.
    assert sorted({n[2] for n in new}) == [date(2024, m, 20) for m in range(4, 13)]
    assert len(new) == report.created == 9 * units


@pytest.mark.parametrize("what", ["task", "milestone"])
def test_it_refuses_to_delete_what_has_obligations(
    session: Session, ctx: FlowContext, what: str
) -> None:
    plan_id = _activate(session, ctx)
    parsed = load_parsed(session=session, plan_id=plan_id)
    if what == "task":
        edited = dataclasses.replace(parsed, tasks=[t for t in parsed.tasks if t.ref != "5"])
    else:
        task6 = next(t for t in parsed.tasks if t.ref == "6")
        edited = _edit(parsed, "6", milestones=task6.milestones[:1])
    before, history = _snapshot(session), _history(session)
    with pytest.raises(PlanError, match=r"已生成 \d+ 条义务，不能删除"):
        revise_plan(session=session, ctx=ctx, plan_id=plan_id, edited=edited, now=EDITED, actor="o")
    session.rollback()
    assert _snapshot(session) == before and _history(session) == history


def test_it_leaves_drafts_alone(session: Session, ctx: FlowContext) -> None:
    parsed = parse_path(POINTS)
    stored = store_draft(
        session=session, parsed=parsed, source_name="p", sha256="y", now=ACTIVATED, actor="t"
    )
    plan = stored.plan
    edited = _move_task1_and_swap_a_unit_of_task5(session, stored.plan_id)
    from models.repo.plans import apply_plan_edits

    changes = apply_plan_edits(
        session=session, plan_id=stored.plan_id, edited=edited, now=EDITED, actor="o"
    )
    report = reconcile_obligations(
        session=session, ctx=ctx, plan=plan, changes=changes, now=EDITED, actor="o"
    )
    assert report == ReconcileReport() and changes.moved_milestones
    assert session.exec(select(func.count()).select_from(Obligation)).one() == 0


# --- through the CLI: `duban plan apply` on an active plan, with the review sheet ---

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _edit_sheet(path: Path, edits: dict[tuple[str, str], object]) -> Path:
    wb = openpyxl.load_workbook(path)
    ws = wb["任务"]
    header = [c.value for c in ws[1]]
    rows = {ws.cell(row=r, column=1).value: r for r in range(2, ws.max_row + 1)}
    for (ref, column), value in edits.items():
        ws.cell(row=rows[ref], column=header.index(column) + 1).value = value
    wb.save(path)
    return path


def test_it_reconciles_when_the_office_applies_the_review_sheet(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reset_context()
    assert _run("units", "import", str(EXAMPLES / "units.yaml"))[0] == 0
    code, out, err = _run("import", str(POINTS), "--json")
    assert code == 0, err
    plan_id = json.loads(out)["plan_id"]
    assert _run("plan", "activate", str(plan_id))[0] == 0
    sheet = cli_env / "review.xlsx"
    assert _run("plan", "export", str(plan_id), "--xlsx", str(sheet))[0] == 0
    _edit_sheet(sheet, {("1", "里程碑"): "2024-05-31（5月底前）"})
    monkeypatch.setenv("DUBAN_NOW", EDITED.isoformat())
    code, out, err = _run("plan", "apply", str(plan_id), str(sheet), "--json")
    assert code == 0, err
    assert len(json.loads(out)["moved_milestones"]) == 1
    assert "截止日调整" in err and "2024-03-31 → 2024-05-31" in err
    with Session(runtime.engine()) as s:
        task1 = _task_obligations(s, plan_id, "1")
        assert task1 and {(ob.due_on, ob.status) for ob in task1} == {(NEW_DUE, "open")}
        moved = s.exec(select(func.count()).where(AuditEvent.action == "deadline_moved")).one()
        assert moved == len(task1)
    code, out, err = _run("plan", "apply", str(plan_id), str(sheet))
    assert code == 0 and out.strip() == "无变化" and err == ""
    reset_context()
