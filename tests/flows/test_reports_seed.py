"""Seed 001 run through 2024 on the real engine: each month's 通报 figures, the 任务清单 export and the
考核 ranking agree with counts computed here, independently, from the obligation rows.

The year is lived day by day: `duban tick` every morning (outbox delivery), units reporting at 14:00
on the day a seeded RNG drew for them (rate 0.7, -3..+3 days around the due date), the office
granting a few extensions, and the monthly cycle on the first day of each month. Nothing is
written to the obligation table except through the CLI and the flows.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from flows.context import reset_context
from flows.delivery import reset_pipeline
from flows.monthly import monthly_cycle_flow
from flows.runner import run_flow
from models.directory import Unit
from models.tables import ExtensionRequest, Obligation, QueueItem
from schedules.clock import OFFICE_TZ
from schedules.report import month_as_of, next_month, previous_month
from tests.conftest import EXAMPLES

runner = CliRunner()
ACTIVATED = date(2024, 4, 15)
YEAR_END = date(2024, 12, 31)
MONTHS = [date(2024, m, 1) for m in range(4, 13)]
OPEN = {"open", "reminded", "overdue", "escalated", "reopened"}


def run(*args: str, ok: bool = True) -> Any:
    result = runner.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, f"duban {' '.join(args)}\n{result.output}{result.stderr}"
    return result


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=OFFICE_TZ)


def set_now(moment: datetime) -> None:
    os.environ["DUBAN_NOW"] = moment.isoformat()


@dataclass
class Year:
    """The database after 2024, and the plan's id."""

    plan_id: int
    home: Path


def _rows(plan_id: int) -> list[Obligation]:
    with Session(runtime.engine()) as s:
        return list(s.exec(select(Obligation).where(Obligation.plan_id == plan_id)).all())


def _live_year(tmp: Path, seeds: Path) -> int:
    run("units", "import", str(EXAMPLES / "units.yaml"))
    plan_file = next(seeds.glob("001_*.txt"))
    out = run("import", str(plan_file)).stdout
    plan_id = int(out.split("草稿计划 ")[1].split("：")[0].split(":")[0].strip())
    set_now(at(ACTIVATED, 9, 0))
    run("plan", "activate", str(plan_id), "--allow-unowned")
    rng = random.Random(20240415)
    submit_on: dict[date, list[tuple[int, str]]] = defaultdict(list)
    extend_on: dict[date, list[int]] = defaultdict(list)
    with Session(runtime.engine()) as s:
        names = {u.id: u.name for u in s.exec(select(Unit)).all()}
    for ob in sorted(_rows(plan_id), key=lambda o: o.id or 0):
        if ob.due_on > YEAR_END:
            continue
        if rng.random() < 0.7:
            day = max(
                ob.due_on + timedelta(days=rng.choice((-3, -2, -1, 0, 0, 0, 1, 2, 3, 9))), ACTIVATED
            )
            submit_on[day].append((ob.id or 0, names[ob.unit_id]))
        elif rng.random() < 0.08 and ob.due_on > ACTIVATED + timedelta(days=7):
            extend_on[ob.due_on - timedelta(days=3)].append(ob.id or 0)
    ack_on: dict[date, list[int]] = defaultdict(list)
    acks = random.Random(17)
    for ob in sorted(_rows(plan_id), key=lambda o: o.id or 0):
        if ob.assign_at is not None and ob.role == "lead" and acks.random() < 0.6:
            when = ob.assign_at.astimezone(OFFICE_TZ).date() + timedelta(
                days=acks.choice((0, 1, 3, 5))
            )
            ack_on[when].append(ob.id or 0)
    day = ACTIVATED
    while day <= YEAR_END + timedelta(days=2):
        set_now(at(day, 8, 30))  # the service runs the monthly cycle daily
        run_flow(monthly_cycle_flow, now=at(day, 8, 30).isoformat())
        set_now(at(day, 9, 5))
        run("tick")
        if ack_on.get(day):  # 签收, as the portal's button does (the same repo action)
            from models.repo.actions import acknowledge

            with runtime.transaction() as s:
                for ob_id in ack_on[day]:
                    ob = s.get(Obligation, ob_id)
                    assert ob is not None
                    if ob.status not in ("accepted", "waived"):
                        acknowledge(
                            session=s, ob=ob, by=names[ob.unit_id], now=at(day, 10, 0), via="portal"
                        )
        set_now(at(day, 11, 0))
        for ob_id in extend_on.get(day, []):
            new_due = day + timedelta(days=20)
            run(
                "obligation",
                "extend",
                str(ob_id),
                "--to",
                new_due.isoformat(),
                "--reason",
                "汛期顺延",
                ok=False,
            )
        set_now(at(day, 14, 0))
        status = {o.id: o.status for o in _rows(plan_id)} if submit_on.get(day) else {}
        for ob_id, unit in submit_on.get(day, []):
            if status.get(ob_id) in OPEN | {"extension_requested"}:
                run("obligation", "submit", str(ob_id), "--unit", unit, "--note", "已完成")
        day += timedelta(days=1)
    return plan_id


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def year(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Year]:
    """One lived year per database kind, shared by this module's tests (about 15 s on SQLite)."""
    from tests.conftest import SEEDS

    if not SEEDS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have {SEEDS}")
        pytest.skip("../shared/seeds is not beside this clone")
    yield from _year_for(request.param, tmp_path_factory, SEEDS)


def _year_for(kind: str, factory: pytest.TempPathFactory, seeds: Path) -> Iterator[Year]:
    mp = pytest.MonkeyPatch()
    tmp = factory.mktemp(f"year-{kind}")
    from tests.conftest import _fresh_postgres, _pg_url

    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'duban.db'}"
    else:
        pg = _pg_url()
        if not pg:
            pytest.skip("PostgreSQL not available (set DUBAN_TEST_PG_URL)")
        _fresh_postgres(pg).dispose()
        url = pg
    for key, value in {
        "DUBAN_DATABASE_URL": url,
        "DUBAN_HOME": str(tmp / "home"),
        "DUBAN_DELIVERY": "outbox",
        "DUBAN_ACTOR": "办公室",
        "DUBAN_NOW": at(ACTIVATED, 9, 0).isoformat(),
    }.items():
        mp.setenv(key, value)
    mp.delenv("DUBAN_CONFIG", raising=False)
    mp.delenv("DUBAN_SMTP_HOST", raising=False)
    runtime.reset()
    reset_context()
    reset_pipeline()
    try:
        yield Year(_live_year(tmp, seeds), tmp)
    finally:
        reset_pipeline()
        reset_context()
        runtime.reset()
        mp.undo()


# -- the independent count: plain Python over the rows ------------------------------------------


def classify(ob: Obligation, as_of: datetime) -> str:
    """The row's class as of `as_of`, written from the definition, not from the SQL."""
    as_of_day = as_of.astimezone(OFFICE_TZ).date()
    done = (
        ob.status in ("submitted", "accepted")
        and ob.submitted_at is not None
        and ob.submitted_at < as_of
    )
    if done:
        assert ob.submitted_at is not None
        return "on_time" if ob.submitted_at <= ob.due_at else "late"
    if ob.status == "lapsed" and ob.lapses_on is not None and ob.lapses_on < as_of_day:
        return "lapsed"
    if ob.status in ("waived", "to_confirm"):
        return ob.status
    return "overdue" if ob.due_at < as_of else "pending"


def expected_month(plan_id: int, month: date) -> dict[str, dict[str, int]]:
    as_of = month_as_of(month)
    end = next_month(month)
    with Session(runtime.engine()) as s:
        names = {u.id: u.name for u in s.exec(select(Unit)).all()}
        granted = {
            e.obligation_id
            for e in s.exec(select(ExtensionRequest)).all()
            if e.status == "granted" and e.decided_at is not None and e.decided_at < as_of
        }
        escalated = {
            q.obligation_id
            for q in s.exec(select(QueueItem)).all()
            if q.level >= 2 and q.created_at < as_of
        }
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for ob in _rows(plan_id):
        if ob.role != "lead":
            continue
        cls = classify(ob, as_of)
        unit = out[names[ob.unit_id]]
        if month <= ob.due_on < end:
            unit["due"] += 1
            unit[cls] += 1
            unit["extended"] += ob.id in granted
            unit["escalated"] += ob.id in escalated
        if ob.due_on < end and cls == "overdue":
            unit["open_overdue"] += 1
    return {k: dict(v) for k, v in out.items()}


def _as_counts(row: dict[str, Any]) -> dict[str, int]:
    keys = ("due", "on_time", "late", "overdue", "lapsed", "pending", "waived", "to_confirm", "extended", "escalated", "open_overdue")  # fmt: skip
    return {k: row[k] for k in keys if row[k]}


def test_each_months_figures_agree_with_the_rows(year: Year) -> None:
    from models.repo.reports import month_report

    seen: dict[str, int] = defaultdict(int)
    for month in MONTHS:
        with runtime.engine().connect() as conn:
            rep = month_report(conn, plan_ids=[year.plan_id], month=month, scope="plan")
        got = {r.unit: _as_counts(r.as_dict()) for r in rep.units}
        want = {
            u: {k: v for k, v in c.items() if v}
            for u, c in expected_month(year.plan_id, month).items()
        }
        want = {u: c for u, c in want.items() if c}
        got = {u: c for u, c in got.items() if c}
        assert got == want, month
        assert rep.late_total == sum(c.get("open_overdue", 0) for c in want.values())
        prev = expected_month(year.plan_id, previous_month(month))
        assert rep.previous_totals.due == sum(c.get("due", 0) for c in prev.values())
        for c in want.values():
            for k, v in c.items():
                seen[k] += v
    # The year is not trivial: every kind of outcome happened.
    for kind in ("on_time", "late", "overdue", "lapsed", "escalated", "extended"):
        assert seen[kind] > 0, (kind, dict(seen))


def test_the_monthly_cycle_drafted_each_months_bulletin_once(year: Year) -> None:
    from models.documents import ReportDocument
    from models.repo.reports import month_report

    with Session(runtime.engine()) as s:
        docs = s.exec(
            select(ReportDocument).where(ReportDocument.scope == f"plan:{year.plan_id}")
        ).all()
    periods = [d.period for d in docs]
    assert len(periods) == len(set(periods))  # once per month, though the cycle ran daily
    assert {m.strftime("%Y-%m") for m in MONTHS} <= set(periods)
    for d in docs:
        assert d.status == "draft" and d.number is None and "（未编号草稿）" in d.body
        month = date.fromisoformat(d.period + "-01")
        if month not in MONTHS:
            continue
        # Drafted on the first working day after the month, the figures are the month's as of its
        # close: the same as counted from the rows now, and as the report computes them now.
        want = expected_month(year.plan_id, month)
        got = {u["unit"]: _as_counts(u) for u in d.data["units"]}
        assert {k: v for k, v in got.items() if v} == {
            k: {a: b for a, b in v.items() if b} for k, v in want.items() if any(v.values())
        }, d.period
        with runtime.engine().connect() as conn:
            now = month_report(conn, plan_ids=[year.plan_id], month=month, scope=d.scope)
        assert d.data["totals"] == now.as_dict()["totals"]
        drafted = d.created_at.astimezone(OFFICE_TZ).date()
        assert drafted.month == next_month(month).month and drafted.day <= 8


def test_the_office_edits_and_approves_in_order_and_the_cli_shows_it(
    year: Year, tmp_path: Path
) -> None:
    from models.documents import ReportDocument
    from models.tables import AuditEvent

    with Session(runtime.engine()) as s:
        docs = {
            d.period: d.id
            for d in s.exec(
                select(ReportDocument).where(ReportDocument.scope == f"plan:{year.plan_id}")
            )
        }
    june, july = docs["2024-06"], docs["2024-07"]
    out = run("report", "show", str(june)).stdout
    assert "工作任务落实情况通报" in out and "一、各单位完成情况" in out
    edited = tmp_path / "通报.txt"
    edited.write_text(
        out.replace("一、各单位完成情况", "一、各单位完成情况（经办公室核对）"), encoding="utf-8"
    )
    set_now(at(date(2025, 1, 6), 10, 0))
    assert (
        "已修改（共修改 1 次）"
        in run("report", "edit", str(june), "--file", str(edited), "--reason", "核对").stdout
    )
    assert "已审定：〔2024〕第1期" in run("report", "approve", str(july)).stdout
    assert "已审定：〔2024〕第2期" in run("report", "approve", str(june)).stdout
    again = run("report", "approve", str(june), ok=False)
    assert again.exit_code != 0 and "已审定" in again.output
    refused = run("report", "edit", str(june), "--file", str(edited), ok=False)
    assert refused.exit_code != 0 and "不能再修改" in refused.output
    body = run("report", "show", str(june)).stdout
    assert "〔2024〕第2期" in body and "经办公室核对" in body
    with Session(runtime.engine()) as s:
        events = s.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == "report_document", AuditEvent.entity_id == june)
            .order_by(col(AuditEvent.id))
        ).all()
    actions = [e.action for e in events]
    assert actions == ["drafted", "edited", "approved"]
    assert (
        "经办公室核对" not in events[1].data["before"] and "经办公室核对" in events[1].data["after"]
    )
    listed = run("report", "list", "--year", "2024").stdout
    assert "〔2024〕第1期" in listed and "〔2024〕第2期" in listed


def test_the_cli_month_report_is_the_same_figures(year: Year) -> None:
    import json

    from models.repo.reports import month_report

    data = json.loads(
        run("report", "month", str(year.plan_id), "--month", "2024年9月", "--json").stdout
    )
    with runtime.engine().connect() as conn:
        rep = month_report(
            conn, plan_ids=[year.plan_id], month=date(2024, 9, 1), scope=str(year.plan_id)
        )
    assert data == json.loads(json.dumps(rep.as_dict(), ensure_ascii=False))
    text = run("report", "month", str(year.plan_id), "--month", "2024-09").stdout
    assert f"2024年9月到期任务共 {rep.totals.due} 项次" in text
    bad = run("report", "month", str(year.plan_id), "--month", "2024-13", ok=False)
    assert bad.exit_code != 0 and "月份应为" in bad.output


def expected_tasks(
    plan_id: int, as_of: datetime, unit: str | None = None
) -> dict[int, dict[str, int]]:
    with Session(runtime.engine()) as s:
        names = {u.id: u.name for u in s.exec(select(Unit)).all()}
        escalated = {
            q.obligation_id
            for q in s.exec(select(QueueItem)).all()
            if q.level >= 2 and q.created_at < as_of
        }
        granted = {
            e.obligation_id
            for e in s.exec(select(ExtensionRequest)).all()
            if e.status == "granted" and e.decided_at is not None and e.decided_at < as_of
        }
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for ob in _rows(plan_id):
        if ob.role != "lead" or (unit is not None and names[ob.unit_id] != unit):
            continue
        task = out[ob.task_id]
        task["due"] += 1
        task[classify(ob, as_of)] += 1
        task["escalated"] += ob.id in escalated
        task["extended"] += ob.id in granted
    return {k: dict(v) for k, v in out.items()}


def _colour(c: dict[str, int]) -> str:
    if c.get("overdue") or c.get("lapsed") or c.get("escalated"):
        return "红"
    return "黄" if c.get("late") or c.get("extended") else "绿"


@pytest.mark.parametrize("unit", [None, "镇应急办"])
def test_the_ledger_export_has_the_plans_columns_fills_and_the_same_counts(
    year: Year, tmp_path: Path, unit: str | None
) -> None:
    from openpyxl import load_workbook

    from models.tables import Task

    as_of = at(date(2025, 1, 3), 0, 0)
    set_now(as_of)
    out = tmp_path / "任务清单.xlsx"
    args = ["report", "ledger", str(year.plan_id), "--out", str(out)]
    with Session(runtime.engine()) as s:
        units = {u.name for u in s.exec(select(Unit)).all()}
        refs = {t.id: t.ref for t in s.exec(select(Task).where(Task.plan_id == year.plan_id))}
    if unit is not None:
        if unit not in units:  # the example directory's name for the town's emergency office
            unit = sorted(n for n in units if "应急" in n)[0]
        args += ["--unit", unit]
    assert "任务清单已导出" in run(*args).stdout
    want = expected_tasks(year.plan_id, as_of, unit)
    wb = load_workbook(out)
    assert wb.sheetnames == ["任务清单", "说明"]
    ws = wb["任务清单"]
    assert [c.value for c in ws[2]] == [
        "序号",
        "任务",
        "时间节点",
        "责任单位",
        "配合单位",
        "完成情况",
        "进展",
        "佐证链接",
        "状态",
    ]
    assert ws.freeze_panes == "C3" and ws.print_title_rows == "$1:$2"
    assert ws.page_setup.orientation == "landscape"
    fills = {"红": "F4B6B6", "黄": "FCE8A6", "绿": "C6E7C1"}
    by_ref = {row[0].value: row for row in ws.iter_rows(min_row=3)}
    with_rows = {refs[t] for t in want}
    if unit is not None:
        assert set(by_ref) == with_rows  # only the unit's tasks
    seen = set()
    for task_id, c in want.items():
        row = by_ref[refs[task_id]]
        done = c.get("on_time", 0) + c.get("late", 0)
        past = c["due"] - c.get("pending", 0) - c.get("waived", 0) - c.get("to_confirm", 0)
        assert (
            f"已完成 {done}/{past} 项次（按时 {c.get('on_time', 0)}，逾期完成 {c.get('late', 0)}）"
            in row[5].value
        )
        if c.get("lapsed"):
            assert f"逾期未报 {c['lapsed']}" in row[5].value
        assert row[8].value == _colour(c)
        assert row[8].fill.fgColor.rgb.endswith(fills[_colour(c)])
        seen.add(row[8].value)
    if unit is None:
        assert {"红", "绿"} <= seen or {"红", "黄"} <= seen


def test_the_assessment_ranks_units_from_the_policy_weights(year: Year, tmp_path: Path) -> None:
    import json

    from openpyxl import load_workbook

    from models.people import Receipt
    from schedules.policy_io import read_default_policy

    w = read_default_policy().assessment
    as_of = at(date(2025, 1, 1), 0, 0)
    with Session(runtime.engine()) as s:
        names = {u.id: u.name for u in s.exec(select(Unit)).all()}
        receipts = {r.obligation_id: r.at for r in s.exec(select(Receipt)).all()}
    # The year's counts, summed over the months (each month's figures as of that month's close
    # differ from the year's as of its close only for rows done after their month: recount).
    want: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    escalated = set()
    granted = set()
    with Session(runtime.engine()) as s:
        escalated = {
            q.obligation_id
            for q in s.exec(select(QueueItem)).all()
            if q.level >= 2 and q.created_at < as_of
        }
        granted = {
            e.obligation_id for e in s.exec(select(ExtensionRequest)).all() if e.status == "granted"
        }
    for ob in _rows(year.plan_id):
        if ob.role != "lead":
            continue
        u = want[names[ob.unit_id]]
        if date(2024, 1, 1) <= ob.due_on < date(2025, 1, 1):
            u["due"] += 1
            cls = classify(ob, as_of)
            u[cls] += 1
            u["escalated"] += ob.id in escalated
            u["extended"] += ob.id in granted
        if ob.assign_at is not None and ob.assign_at < as_of and ob.assign_at.year == 2024:
            got = receipts.get(ob.id or 0)
            if got is None:
                u["unconfirmed"] += 1
            elif (got - ob.assign_at).total_seconds() > w.receipt_days * 86400:
                u["receipt_late"] += 1
    expected = {}
    for unit, c in want.items():
        if not c.get("due"):
            continue
        points = sum(
            c.get(k, 0) * getattr(w, k)
            for k in (
                "late",
                "overdue",
                "lapsed",
                "extended",
                "escalated",
                "unconfirmed",
                "receipt_late",
            )
        )
        expected[unit] = max(0.0, round(w.base - points, 2))
    out = tmp_path / "考核.xlsx"
    data = json.loads(
        run(
            "report", "assess", str(year.plan_id), "--year", "2024", "--out", str(out), "--json"
        ).stdout
    )
    got = {x["unit"]: x["score"] for x in data["scores"]}
    assert got == pytest.approx(expected)
    assert sum(1 for c in want.values() if c.get("unconfirmed")) and sum(
        1 for c in want.values() if c.get("receipt_late")
    )
    ranks = [x["rank"] for x in data["scores"]]
    scores = [x["score"] for x in data["scores"]]
    assert scores == sorted(scores, reverse=True) and ranks[0] == 1
    assert len(set(scores)) > 3  # the year separates the units
    ws = load_workbook(out)["考核排名"]
    assert [c.value for c in ws[2]][:3] == ["排名", "单位", "得分"]
    assert [(r[1].value, r[2].value) for r in ws.iter_rows(min_row=3)] == [
        (x["unit"], x["score"]) for x in data["scores"]
    ]
    text = run("report", "assess", str(year.plan_id), "--year", "2024").stdout
    top = data["scores"][0]
    assert f"1. {top['unit']}  {top['score']:g} 分" in text
    bad = run("report", "assess", str(year.plan_id), ok=False)
    assert bad.exit_code != 0 and "--year" in bad.output


def test_the_pdfs_carry_the_chinese_text_and_the_charts(year: Year, tmp_path: Path) -> None:
    import pdfplumber

    from models.documents import ReportDocument

    with Session(runtime.engine()) as s:
        doc = s.exec(
            select(ReportDocument).where(
                ReportDocument.scope == f"plan:{year.plan_id}", ReportDocument.period == "2024-10"
            )
        ).one()
        doc_id, body = doc.id, doc.body
    out = tmp_path / "通报.pdf"
    assert "通报 PDF 已导出" in run("report", "pdf", str(doc_id), "--out", str(out)).stdout
    with pdfplumber.open(out) as pdf:
        text = (
            "".join((p.extract_text() or "") for p in pdf.pages).replace(" ", "").replace("\n", "")
        )
        shapes = sum(len(p.rects) for p in pdf.pages)
    assert "工作任务落实情况通报" in text and "各单位完成情况" in text and "逾期未完成事项" in text
    for line in body.splitlines()[3:30]:  # the body's units and numbers come back out
        if " | " in line:
            assert line.split(" | ")[0].replace(" ", "") in text
    assert "附图一各单位逐月按时完成率" in text and "10月" in text
    assert shapes > 20  # the heatmap's cells and the bars are drawn
    ledger = tmp_path / "任务清单.pdf"
    set_now(at(date(2025, 1, 3), 0, 0))
    run("report", "ledger", str(year.plan_id), "--out", str(ledger))
    with pdfplumber.open(ledger) as pdf:
        text = (
            "".join((p.extract_text() or "") for p in pdf.pages).replace(" ", "").replace("\n", "")
        )
    for header in ("序号", "责任单位", "完成情况", "佐证链接", "状态"):
        assert header in text
    assert "已完成" in text and "按时率" in text
