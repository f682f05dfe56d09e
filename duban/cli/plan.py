"""`duban import …` and `duban plan …`: import a plan as a draft, review it in a spreadsheet, list and show plans."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from duban import runtime
from duban.cli.common import fail, id_argument, json_option, print_json
from duban.cli.zh import DubanTyper

if TYPE_CHECKING:
    from sqlmodel import Session

    from models.repo.plan_parties import PendingParties
    from models.repo.plans import PlanChanges

app = DubanTyper()

STATUS_NAMES = {"draft": "草稿", "active": "执行中", "archived": "已归档"}


def import_cmd(
    path: Path = typer.Argument(
        ..., metavar="文件", help="计划文件：.txt / .md / .docx / .xlsx / .csv / .pdf / .html"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="只解析并显示结果，不写入数据库"),
    as_json: bool = json_option(),
    force: bool = typer.Option(
        False, "--force", help="同一文件（SHA-256 相同）已导入过时仍再导入一份"
    ),
    parent_task: str = typer.Option(
        "",
        "--parent-task",
        metavar="计划:任务",
        help="作为上级计划某项任务的子方案导入（如 3:5 即计划 3 第 5 项任务）",
    ),
) -> None:
    """导入计划文件，保存为草稿计划（启用前不催办）。"""
    from flows.import_plan import import_plan_flow  # Prefect loads in about a second: only here
    from intake.errors import IntakeError
    from models.repo.plan_rows import PlanError
    from models.repo.subplans import SubPlanError

    try:
        result = import_plan_flow.fn(
            str(path),
            dry_run=dry_run,
            force=force,
            parent_task=parent_task,
            now=runtime.current_time(),
            actor=runtime.actor(),
        )
    except (IntakeError, PlanError, SubPlanError) as exc:
        fail(str(exc))
    if dry_run:
        if as_json:
            print_json(result["parsed"])
        else:
            _print_preview(result["parsed"])
            _print_unowned(result["unowned"])
        return
    if as_json:
        print_json(result)
    elif not result["stored"]:
        typer.echo(
            f"警告: 该文件已导入过，即计划 {result['duplicate_of']}（{result['title']}），本次未保存；"
            "如确需再导入一份，请加 --force",
            err=True,
        )
    else:
        _print_stored(result)


def _print_preview(parsed: dict[str, Any]) -> None:
    from intake.review_format import join_units

    meta, tasks = parsed["plan"], parsed["tasks"]
    typer.echo(f"（预览，未写入）{meta['title']}  年度 {meta['year']}  {meta['doc_no']}".rstrip())
    for t in tasks:
        stones = "；".join(m.get("due") or m.get("rrule") or "" for m in t["milestones"])
        typer.echo(f"  [{t['ref']}] {t['title'][:40]}  {join_units(t['lead_units'])}  {stones}")
    stones_total = sum(len(t["milestones"]) for t in tasks)
    typer.echo(f"任务 {len(tasks)} 个，里程碑 {stones_total} 个，警告 {len(parsed['warnings'])} 条")
    _print_warnings(parsed["warnings"])


def _print_unowned(items: list[dict[str, Any]]) -> None:
    from duban.cli.plan_views import unowned_lines

    for line in unowned_lines(items):
        typer.echo(f"  {line}")


def _print_stored(result: dict[str, Any]) -> None:
    from models.repo.plan_parties import PendingParties

    plan_id = result["plan_id"]
    if result["duplicate_of"] is not None:
        typer.echo(
            f"注意: 同一文件已导入为计划 {result['duplicate_of']}（--force：再存一份）", err=True
        )
    typer.echo(f"已保存为草稿计划 {plan_id}：{result['title']}")
    typer.echo(
        f"  任务 {result['tasks']} 个，单位 {result['units']} 个，里程碑 {result['milestones']} 个，"
        f"警告 {result['warnings']} 条"
    )
    _print_pending(PendingParties(**result["pending"]), heading="目录中没有、已按待补充添加")
    _print_unowned(result["unowned"])
    _print_warnings(result["warning_list"])
    typer.echo(
        f"下一步: duban plan export {plan_id} --xlsx 计划{plan_id}.xlsx 审核后 duban plan apply，再启用"
    )


def _print_warnings(warnings: list[dict[str, Any]]) -> None:
    for w in warnings:
        where = f" 第 {w['line']} 行" if w["line"] else ""
        quoted = f"（{w['text'][:40]}）" if w["text"] else ""
        typer.echo(f"  警告{where}：{w['message']}{quoted}")


def _print_pending(pending: PendingParties, *, heading: str) -> None:
    for label, names in (
        ("单位", pending.units),
        ("分组", pending.groups),
        ("领导", pending.leaders),
    ):
        if names:
            typer.echo(f"  {heading}的{label}（{len(names)}）：{'、'.join(names)}")


@app.command("list")
def list_cmd(as_json: bool = json_option()) -> None:
    """列出所有计划（编号、状态、年度、任务数、标题）。"""
    from sqlmodel import col, func, select

    from duban.cli.plan_views import plan_dict
    from models.tables import Plan, Task

    with runtime.transaction() as session:
        counts = dict(
            session.exec(select(Task.plan_id, func.count()).group_by(col(Task.plan_id))).all()
        )
        rows = [
            {**plan_dict(p), "tasks": counts.get(p.id or 0, 0)}
            for p in session.exec(select(Plan).order_by(col(Plan.id))).all()
        ]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        years = f"{r['year']}" + (
            f"-{r['until_year']}" if r["until_year"] not in (None, r["year"]) else ""
        )
        typer.echo(
            f"{r['id']}\t{STATUS_NAMES.get(r['status'], r['status'])}\t{years}\t任务 {r['tasks']}\t{r['title']}"
        )
    typer.echo(f"共 {len(rows)} 个计划")


@app.command("show")
def show_cmd(plan_id: int = id_argument("计划编号"), as_json: bool = json_option()) -> None:
    """查看一个计划：任务、责任单位和里程碑；列出目录中还没有的单位。"""
    from duban.cli.plan_views import describe_plan
    from models.repo.plan_parties import PendingParties
    from models.repo.plans import PlanError

    with runtime.transaction() as session:
        try:
            info = describe_plan(session, plan_id)
        except PlanError as exc:
            fail(str(exc))
    if as_json:
        print_json(info)
        return
    p = info["plan"]
    typer.echo(f"计划 {p['id']}（{STATUS_NAMES.get(p['status'], p['status'])}）{p['title']}")
    typer.echo(f"  {p['issuer']} {p['doc_no']} 年度 {p['year']}".rstrip())
    for t in info["tasks"]:
        typer.echo(f"[{t['ref']}] {t['title']}")
        for key, label in (
            ("lead_units", "责任单位"),
            ("support_units", "配合单位"),
            ("leaders", "区领导"),
        ):
            if t[key]:
                typer.echo(f"    {label}：{'、'.join(_mark(n, info) for n in t[key])}")
        if not any(t[k] for k in ("lead_units", "support_units", "leaders")):
            typer.echo("    责任单位：（无，启用后无人被催办）")
        for m in t["milestones"]:
            typer.echo(f"    {m['key']} {m['text']}")
    _print_pending(PendingParties(**info["pending"]), heading="待补充")
    _print_unowned(info["unowned"])


def _mark(name: str, info: dict[str, Any]) -> str:
    pending = info["pending"]
    return f"{name}*" if any(name in pending[k] for k in pending) else name


@app.command("export")
def export_cmd(
    plan_id: int = id_argument("计划编号"),
    xlsx: Path = typer.Option(..., "--xlsx", metavar="文件", help="写入的审核表 .xlsx"),
) -> None:
    """导出计划的审核表（可在 Excel/WPS 中修改后用 plan apply 读回）。"""
    from intake.review_xlsx import export_review
    from models.repo.plans import PlanError, load_parsed

    with runtime.transaction() as session:
        try:
            parsed = load_parsed(session=session, plan_id=plan_id)
        except PlanError as exc:
            fail(str(exc))
    try:
        export_review(parsed, xlsx, plan_id=plan_id)
    except OSError as exc:
        fail(f"{xlsx}：无法写入（{exc.strerror or exc}）")
    typer.echo(f"已导出计划 {plan_id} 的审核表：{xlsx}（任务 {len(parsed.tasks)} 行）")


@app.command("apply")
def apply_cmd(
    plan_id: int = id_argument("计划编号"),
    file: Path = typer.Argument(..., metavar="文件", help="修改后的审核表 .xlsx"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只列出将要做的修改，不写入"),
    as_json: bool = json_option(),
) -> None:
    """读回修改后的审核表：只改动有变化的地方，逐项列出（没有修改时显示“无变化”）。"""
    from intake.errors import IntakeError
    from intake.review_xlsx import read_review, read_review_plan_id
    from models.repo.plans import PlanError

    try:
        edited = read_review(file)
        sheet_plan = read_review_plan_id(file)
    except IntakeError as exc:
        fail(str(exc))
    if sheet_plan is not None and sheet_plan != plan_id:
        fail(f"{file}：这是计划 {sheet_plan} 的审核表，不是计划 {plan_id} 的")
    with runtime.transaction() as session:
        try:
            changes = _apply(session, plan_id, edited, dry_run=dry_run)
        except PlanError as exc:
            fail(str(exc))
    _print_changes(changes, dry_run=dry_run, as_json=as_json)


def _apply(session: Session, plan_id: int, edited: Any, *, dry_run: bool) -> PlanChanges:
    from models.repo.plans import apply_plan_edits, diff_plan, get_plan

    if dry_run:
        return diff_plan(session=session, plan_id=plan_id, edited=edited)
    # --- active plans: obligations follow the edit (models/repo/reconcile.py) ---
    if get_plan(session=session, plan_id=plan_id).status == "active":
        from flows.context import flow_context
        from models.repo.reconcile import revise_plan

        changes, report = revise_plan(
            session=session,
            ctx=flow_context(),
            plan_id=plan_id,
            edited=edited,
            now=runtime.current_time(),
            actor=runtime.actor(),
        )
        for line in report.describe():
            typer.echo(line, err=True)  # stderr: --json keeps one document on stdout
        return changes
    # --- end active plans ---
    return apply_plan_edits(
        session=session,
        plan_id=plan_id,
        edited=edited,
        now=runtime.current_time(),
        actor=runtime.actor(),
    )


def _print_changes(changes: PlanChanges, *, dry_run: bool, as_json: bool) -> None:
    if as_json:
        print_json(changes.to_dict())
        return
    if changes.empty:
        typer.echo("无变化")
        return
    for line in changes.describe():
        typer.echo(line)
    verb = "将修改" if dry_run else "已修改"
    typer.echo(f"{verb} {len(changes.changes)} 处" + ("（预览，未写入）" if dry_run else ""))
    _print_pending(changes.pending, heading="目录中没有、已按待补充添加")


@app.command("pending")
def pending_cmd(plan_id: int = id_argument("计划编号"), as_json: bool = json_option()) -> None:
    """列出计划中目录还不认识的单位、分组和领导（待补充）。"""
    from duban.cli.plan_views import unowned_lines
    from intake.model import unowned_items
    from models.repo.plan_parties import list_pending, unit_status
    from models.repo.plans import PlanError, get_plan, load_parsed

    with runtime.transaction() as session:
        try:
            get_plan(session=session, plan_id=plan_id)
        except PlanError as exc:
            fail(str(exc))
        pending = list_pending(session=session, plan_id=plan_id)
        statuses = {
            n: unit_status(session, n) for n in pending.units + pending.groups + pending.leaders
        }
        unowned = unowned_items(load_parsed(session=session, plan_id=plan_id).unowned())
    if as_json:
        doc = {"plan_id": plan_id, **pending.to_dict(), "directory": statuses}
        print_json(doc | {"unowned": unowned})
        return
    for line in unowned_lines(unowned):
        typer.echo(line)
    if not pending.count:
        typer.echo(f"计划 {plan_id} 中的单位、分组和领导都已在目录中")
        return
    for label, names in (
        ("单位", pending.units),
        ("分组", pending.groups),
        ("领导", pending.leaders),
    ):
        for name in names:
            note = "目录中没有" if statuses[name] == "unknown" else "待补充"
            typer.echo(f"{label}\t{name}\t{note}")
    typer.echo(f"共 {pending.count} 个待补充（在单位目录中补充后重新导入目录即可）")


@app.command("link")
def link_cmd(
    plan_id: int = typer.Argument(..., metavar="计划编号", help="作为子方案的计划"),
    parent_task: str = typer.Option(
        ...,
        "--parent-task",
        metavar="计划:任务",
        help="上级计划的任务（如 3:5 即计划 3 第 5 项任务）",
    ),
) -> None:
    """把已导入的计划挂到上级计划某项任务下，作为该任务的子方案（上级的通报、任务清单汇总其进展）。"""
    from models.repo.subplans import SubPlanError, link_subplan, parse_parent

    try:
        parent, ref = parse_parent(parent_task)
        with runtime.transaction() as s:
            link_subplan(
                session=s,
                plan_id=plan_id,
                parent_plan=parent,
                task_ref=ref,
                now=runtime.current_time(),
                by=runtime.actor(),
            )
    except SubPlanError as exc:
        fail(str(exc))
    typer.echo(f"计划 {plan_id} 已作为计划 {parent} 第 {ref} 项任务的子方案")
