"""`duban obligation …` and `duban queue …`: what units and the office do with obligations."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer
from sqlmodel import Session

from duban import runtime
from duban.cli_common import fail, print_json
from duban.office_views import history, list_obligations, list_queue
from models.repo.actions import (
    ActionError,
    answer_extension,
    decide,
    get_obligation,
    request_extension,
    submit_done,
)
from models.repo.chase import OfficeAction
from models.repo.evidence import EvidenceError
from models.repo.queue import QueueError, ack_item, note_item, resolve_item
from models.repo.units import find_unit
from models.tables import Obligation, QueueItem, Task
from schedules.machine import STATUS_LABEL, Event
from schedules.rules import Status

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


def _act(ob_id: int, do: Any) -> None:
    """Run `do(session, ctx, ob, now)` in one transaction; print where the obligation went."""
    from flows.context import flow_context

    ctx, now = flow_context(), runtime.current_time()
    try:
        with runtime.transaction() as s:
            ob = get_obligation(s, ob_id)
            do(s, ctx, ob, now)
            tk = s.get(Task, ob.task_id)
            assert tk is not None
            line = f"义务 #{ob_id}（{tk.ref} {tk.title} / 截止 {ob.due_on}）→ {STATUS_LABEL[Status(ob.status)]}"
    except (ActionError, EvidenceError) as exc:
        fail(f"义务 #{ob_id}: {exc}")
    typer.echo(line)


def _decide(ob_id: int, act: OfficeAction) -> None:
    _act(ob_id, lambda s, ctx, ob, now: decide(session=s, ctx=ctx, ob=ob, act=act, now=now))


@obligations.command("submit")
def submit_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"),
    unit: str = typer.Option(..., "--unit", help="报送单位"),
    note: str = typer.Option("", "--note"),
    file: list[Path] = typer.Option(None, "--file", help="佐证材料（可多次给出）"),
) -> None:
    """单位报送完成情况（可附佐证材料），等待办公室验收。"""
    files = list(file or [])
    for f in files:
        if not f.is_file():
            fail(f"佐证材料文件不存在或不可读: {f}")
    with runtime.transaction() as s:
        ob, u = s.get(Obligation, ob_id), find_unit(session=s, name=unit)
        if ob is not None and (u is None or u.id != ob.unit_id):
            fail(f"单位“{unit}”不是义务 #{ob_id} 的责任单位")
    store = runtime.evidence_store()
    staged = []
    try:
        for f in files:
            staged.append(store.stage_path(f))
            store.check(staged[-1])
    except EvidenceError as exc:
        for st in staged:
            st.discard()
        fail(str(exc))

    def do(s: Session, ctx: Any, ob: Obligation, now: Any) -> None:
        submit_done(
            session=s,
            ctx=ctx,
            ob=ob,
            by=unit,
            note=note,
            files=staged,
            store=store,
            now=now,
            via="cli",
        )

    try:
        _act(ob_id, do)
    finally:
        for st in staged:  # refused: nothing left behind (kept files were moved away)
            st.discard()


@obligations.command("accept")
def accept_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"), reason: str = typer.Option("", "--reason")
) -> None:
    """办公室验收销号。"""
    _decide(ob_id, OfficeAction(Event.ACCEPT, actor=runtime.actor(), reason=reason, via="cli"))


@obligations.command("reopen")
def reopen_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"), reason: str = typer.Option(..., "--reason")
) -> None:
    """退回重办：催办从现在起恢复。"""
    _decide(ob_id, OfficeAction(Event.REOPEN, actor=runtime.actor(), reason=reason, via="cli"))


@obligations.command("extend")
def extend_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"),
    to: str = typer.Option(..., "--to"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """批准延期到新的截止日（单位未申请时由办公室直接延期），提醒按新日期重新安排。"""
    new_due = _date(to, "--to")
    by = runtime.actor()
    _act(
        ob_id,
        lambda s, ctx, ob, now: answer_extension(
            session=s,
            ctx=ctx,
            ob=ob,
            by=by,
            grant=True,
            reason=reason,
            now=now,
            via="cli",
            new_due=new_due,
        ),
    )


@obligations.command("request-extension")
def request_extension_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"),
    unit: str = typer.Option(..., "--unit"),
    to: str = typer.Option(..., "--to"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """单位申请延期，等待办公室批准或驳回（期间照常提醒）。"""
    new_due = _date(to, "--to")
    assert new_due is not None
    _act(
        ob_id,
        lambda s, ctx, ob, now: request_extension(
            session=s, ctx=ctx, ob=ob, by=unit, new_due=new_due, reason=reason, now=now, via="cli"
        ),
    )


@obligations.command("refuse-extension")
def refuse_extension_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"), reason: str = typer.Option(..., "--reason")
) -> None:
    """驳回延期申请，按原截止日继续催办。"""
    by = runtime.actor()
    _act(
        ob_id,
        lambda s, ctx, ob, now: answer_extension(
            session=s, ctx=ctx, ob=ob, by=by, grant=False, reason=reason, now=now, via="cli"
        ),
    )


@obligations.command("waive")
def waive_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"), reason: str = typer.Option(..., "--reason")
) -> None:
    """免除该义务（不再提醒）。"""
    _decide(ob_id, OfficeAction(Event.WAIVE, actor=runtime.actor(), reason=reason, via="cli"))


@obligations.command("confirm")
def confirm_cmd(
    ob_id: int = typer.Argument(..., metavar="ID"), reason: str = typer.Option("", "--reason")
) -> None:
    """启用时已过期的节点：确认仍需办理，开始催办。（已完成的请用 accept，不再需要的用 waive）"""
    _decide(
        ob_id, OfficeAction(Event.CONFIRM_OPEN, actor=runtime.actor(), reason=reason, via="cli")
    )


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

    act = OfficeAction(
        Event.REQUEST_CHASE, actor=runtime.actor(), reason=reason or "办公室再次催办"
    )

    def _chase_and_note(s: Session, ctx: Any, ob: Obligation, now: Any) -> None:
        decide(session=s, ctx=ctx, ob=ob, act=act, now=now)
        text = "再次催办" + (f"：{reason}" if reason else "")
        note_item(session=s, item_id=item_id, by=runtime.actor(), text=text, now=now)

    _act(ob_id, _chase_and_note)
    typer.echo("已安排再次催办，将在办公时段内的下一次运行时发出")
