"""`duban obligation …` and `duban queue …`: what units and the office do with obligations."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import typer
from sqlmodel import Session

from duban import runtime
from duban.cli_common import fail, print_json
from duban.office_views import history, list_obligations, list_queue
from models.repo.chase import OfficeAction, apply_decision
from models.repo.queue import QueueError, ack_item, note_item, resolve_item
from models.repo.units import find_unit
from models.tables import Milestone, Obligation, Plan, QueueItem, Submission, Task
from schedules.machine import STATUS_LABEL, Event, TransitionError

obligations = typer.Typer(no_args_is_help=True)
queue = typer.Typer(no_args_is_help=True)


def _print_rows(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_json(rows)
        return
    for r in rows:
        level = f" L{r['level']}" if r["level"] else ""
        typer.echo(
            f"#{r['id']}\t{r['due']}\t{r['unit']}\t{r['status_label']}{level}\t{r['task_ref']} {r['task']}"
        )
    typer.echo(f"共 {len(rows)} 条")


@obligations.command("list")
def list_cmd(
    unit: str = typer.Option(None, "--unit"),
    plan: int = typer.Option(None, "--plan"),
    status: str = typer.Option(None, "--status"),
    due_from: str = typer.Option(None, "--due-from"),
    due_to: str = typer.Option(None, "--due-to"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """列出义务（任务节点 × 单位）。--status 可为 open/reminded/overdue/escalated/submitted/accepted/to_confirm 等。"""
    with runtime.transaction() as s:
        rows = list_obligations(
            s,
            unit=unit,
            plan=plan,
            status=status,
            due_from=_date(due_from, "--due-from"),
            due_to=_date(due_to, "--due-to"),
        )
    _print_rows(rows, as_json)


def _date(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{name} 应为日期 YYYY-MM-DD，收到 {text!r}")


def _decide(ob_id: int, act: OfficeAction, extra: Any = None) -> None:
    from flows.context import flow_context

    ctx, now = flow_context(), runtime.current_time()
    with runtime.transaction() as s:
        ob = s.get(Obligation, ob_id)
        if ob is None:
            fail(f"没有编号为 {ob_id} 的义务")
        ms, tk, plan = (
            s.get(Milestone, ob.milestone_id),
            s.get(Task, ob.task_id),
            s.get(Plan, ob.plan_id),
        )
        assert ms is not None and tk is not None and plan is not None
        try:
            new = apply_decision(
                session=s,
                ob=ob,
                act=act,
                policy=ctx.policy_for(plan, tk, ms),
                cal=ctx.calendar,
                now=now,
            )
        except TransitionError as exc:
            fail(f"义务 #{ob_id}: {exc}")
        if extra is not None:
            extra(s, ob)
    typer.echo(f"义务 #{ob_id}（{tk.ref} {tk.title} / 截止 {new.due}）→ {STATUS_LABEL[new.status]}")


def _evidence(s: Session, ob: Obligation, unit: str, note: str, file: Path | None) -> None:
    digest = path = None
    if file is not None:
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        target = runtime.settings().home / "evidence" / f"{digest[:16]}_{file.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, target)
        path = str(target)
    s.add(
        Submission(
            obligation_id=ob.id or 0,
            by=unit,
            note=note,
            file_name=file.name if file else None,
            file_sha256=digest,
            file_path=path,
            at=runtime.current_time(),
        )
    )


@obligations.command("submit")
def submit_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"),
    unit: str = typer.Option(..., "--unit", help="报送单位"),
    note: str = typer.Option("", "--note"),
    file: Path = typer.Option(None, "--file", help="佐证材料"),
) -> None:
    """单位报送完成情况（可附佐证材料），等待办公室验收。"""
    if file is not None and not file.is_file():
        fail(f"佐证材料文件不存在或不可读: {file}")
    with runtime.transaction() as s:
        ob, u = s.get(Obligation, ob_id), find_unit(session=s, name=unit)
        if ob is not None and (u is None or u.id != ob.unit_id):
            fail(f"单位“{unit}”不是义务 #{ob_id} 的责任单位")
    _decide(
        ob_id,
        OfficeAction(Event.SUBMIT, actor=unit, reason=note),
        extra=lambda s, ob: _evidence(s, ob, unit, note, file),
    )


@obligations.command("accept")
def accept_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"), reason: str = typer.Option("", "--reason")
) -> None:
    """办公室验收销号。"""
    _decide(ob_id, OfficeAction(Event.ACCEPT, actor=runtime.actor(), reason=reason))


@obligations.command("reopen")
def reopen_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"), reason: str = typer.Option(..., "--reason")
) -> None:
    """退回重办：催办从现在起恢复。"""
    _decide(ob_id, OfficeAction(Event.REOPEN, actor=runtime.actor(), reason=reason))


@obligations.command("extend")
def extend_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"),
    to: str = typer.Option(..., "--to"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """批准延期到新的截止日（单位未申请时由办公室直接延期），提醒按新日期重新安排。"""
    new_due = _date(to, "--to")
    with runtime.transaction() as s:
        ob = s.get(Obligation, ob_id)
        requested = ob is not None and ob.status == "extension_requested"
    if not requested:
        _decide(
            ob_id,
            OfficeAction(
                Event.REQUEST_EXTENSION, actor=runtime.actor(), reason=reason, new_due=new_due
            ),
        )
    _decide(
        ob_id,
        OfficeAction(Event.GRANT_EXTENSION, actor=runtime.actor(), reason=reason, new_due=new_due),
    )


@obligations.command("request-extension")
def request_extension_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"),
    unit: str = typer.Option(..., "--unit"),
    to: str = typer.Option(..., "--to"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """单位申请延期，等待办公室批准或驳回（期间照常提醒）。"""
    _decide(
        ob_id,
        OfficeAction(Event.REQUEST_EXTENSION, actor=unit, reason=reason, new_due=_date(to, "--to")),
    )


@obligations.command("refuse-extension")
def refuse_extension_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"), reason: str = typer.Option(..., "--reason")
) -> None:
    """驳回延期申请，按原截止日继续催办。"""
    _decide(ob_id, OfficeAction(Event.REFUSE_EXTENSION, actor=runtime.actor(), reason=reason))


@obligations.command("waive")
def waive_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"), reason: str = typer.Option(..., "--reason")
) -> None:
    """免除该义务（不再提醒）。"""
    _decide(ob_id, OfficeAction(Event.WAIVE, actor=runtime.actor(), reason=reason))


@obligations.command("confirm")
def confirm_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"), reason: str = typer.Option("", "--reason")
) -> None:
    """启用时已过期的节点：确认仍需办理，开始催办。（已完成的请用 accept，不再需要的用 waive）"""
    _decide(ob_id, OfficeAction(Event.CONFIRM_OPEN, actor=runtime.actor(), reason=reason))


@obligations.command("chase")
def chase_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"), reason: str = typer.Option("", "--reason")
) -> None:
    """再次催办：自动催办次数已用完时，由办公室决定再发一次催办（下一次运行时发出，记录审计）。"""
    _decide(ob_id, OfficeAction(Event.REQUEST_CHASE, actor=runtime.actor(), reason=reason))
    typer.echo("已安排再次催办，将在办公时段内的下一次运行时发出")


@obligations.command("history")
def history_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"), as_json: bool = typer.Option(False, "--json")
) -> None:
    """义务的全部记录：谁、何时、做了什么、为什么。"""
    with runtime.transaction() as s:
        if s.get(Obligation, ob_id) is None:
            fail(f"没有编号为 {ob_id} 的义务")
        rows = history(s, ob_id)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        change = f" {r['from']}→{r['to']}" if r["from"] or r["to"] else ""
        typer.echo(f"{r['at']}\t{r['actor']}\t{r['entity']} {r['action']}{change}\t{r['reason']}")


@queue.command("list")
def queue_list_cmd(
    level: int = typer.Option(None, "--level"),
    unit: str = typer.Option(None, "--unit"),
    plan: int = typer.Option(None, "--plan"),
    status: str = typer.Option("open", "--status", help="open|resolved|all"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """办公室督办队列（默认只列未办结的）。"""
    with runtime.transaction() as s:
        rows = list_queue(s, level=level, unit=unit, plan=plan, status=status)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        who = f" 认领:{r['acked_by']}" if r["acked_by"] else ""
        typer.echo(
            f"Q{r['queue_id']}\t{r['queue_label']}\t{r['due']}\t{r['unit']}\t义务#{r['id']} {r['task_ref']} "
            f"{r['task']}{who}"
        )
    typer.echo(f"共 {len(rows)} 项")


def _queue_op(op: Any, **kw: Any) -> None:
    try:
        with runtime.transaction() as s:
            item = op(session=s, now=runtime.current_time(), **kw)
            typer.echo(f"Q{item.id} → {item.status}")
    except QueueError as exc:
        fail(str(exc))


@queue.command("ack")
def queue_ack_cmd(
    item_id: int = typer.Argument(..., metavar="ID"), by: str = typer.Option(..., "--by")
) -> None:
    """认领督办事项。"""
    _queue_op(ack_item, item_id=item_id, by=by)


@queue.command("note")
def queue_note_cmd(
    item_id: int = typer.Argument(..., metavar="ID"), text: str = typer.Argument(...)
) -> None:
    """给督办事项加备注（电话催办记录等）。"""
    _queue_op(note_item, item_id=item_id, by=runtime.actor(), text=text)


@queue.command("resolve")
def queue_resolve_cmd(
    item_id: int = typer.Argument(..., metavar="ID"), reason: str = typer.Option("", "--reason")
) -> None:
    """办结督办事项。"""
    _queue_op(resolve_item, item_id=item_id, by=runtime.actor(), reason=reason)


@queue.command("chase")
def queue_chase_cmd(
    item_id: int = typer.Argument(..., metavar="ID"), reason: str = typer.Option("", "--reason")
) -> None:
    """对督办事项再次催办：给责任单位再发一次催办（记录审计，并在事项备注中留痕）。"""
    with runtime.transaction() as s:
        item = s.get(QueueItem, item_id)
        if item is None:
            fail(f"督办队列中没有编号为 {item_id} 的事项")
        if item.status == "resolved":
            fail(f"事项 Q{item_id} 已办结，不能再次催办")
        ob_id = item.obligation_id

    def _note(s: Session, ob: Obligation) -> None:
        text = "再次催办" + (f"：{reason}" if reason else "")
        note_item(
            session=s, item_id=item_id, by=runtime.actor(), text=text, now=runtime.current_time()
        )

    act = OfficeAction(
        Event.REQUEST_CHASE, actor=runtime.actor(), reason=reason or "办公室再次催办"
    )
    _decide(ob_id, act, _note)
    typer.echo("已安排再次催办，将在办公时段内的下一次运行时发出")
