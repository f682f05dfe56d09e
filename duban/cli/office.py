"""`duban obligation …` and `duban queue …`: what units and the office do with obligations.

Lists read through SQLAlchemy Core (duban/office_views.py) and start fast; each action is one
transaction: a refused argument leaves no state change and no audit row.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from duban import runtime
from duban.cli.common import (
    InputError,
    all_option,
    date_option,
    fail,
    format_duration,
    id_argument,
    id_option,
    json_option,
    limit_option,
    offset_option,
    page_footer,
    print_json,
)
from duban.cli.zh import DubanTyper

if TYPE_CHECKING:
    from sqlmodel import Session

    from models.repo.chase import OfficeAction
    from models.tables import Obligation

obligations = DubanTyper()
queue = DubanTyper()

STATUS_HELP = "状态，可写中文或英文，多个用逗号分隔：待办 已提醒 已逾期 已升级督办 已报送待验收 已销号 已退回重办 申请延期中 已免除 待办公室确认"


def _limit(limit: int, show_all: bool) -> int | None:
    return None if show_all else limit


@obligations.command("list")
def list_cmd(
    unit: str = typer.Option(None, "--unit", metavar="单位", help="只看该单位（名称或别名）的"),
    plan: int = id_option("--plan", help="只看该计划（编号）的"),
    status: str = typer.Option(None, "--status", metavar="状态", help=STATUS_HELP),
    due_from: date = date_option("--due-from", help="截止日不早于该日"),
    due_to: date = date_option("--due-to", help="截止日不晚于该日"),
    limit: int = limit_option(),
    offset: int = offset_option(),
    show_all: bool = all_option(),
    as_json: bool = json_option(),
) -> None:
    """列出义务（任务节点 × 单位），按截止日排序，分页显示并给出总数。"""
    from duban.office_views import list_obligations, parse_statuses

    statuses = parse_statuses(status) if status else None
    with runtime.fast_reading() as conn:
        page = list_obligations(
            conn,
            unit=unit,
            plan=plan,
            statuses=statuses,
            due_from=due_from,
            due_to=due_to,
            limit=_limit(limit, show_all),
            offset=offset,
        )
    if as_json:
        print_json(page.to_dict())
        return
    for r in page.items:
        level = f" {r['level_label']}" if r["level_label"] else ""
        typer.echo(
            f"#{r['id']}\t{r['due']}\t{r['unit']}（{r['role_label']}）\t{r['status_label']}{level}"
            f"\t{r['task_ref']} {r['task']}"
        )
    typer.echo(page_footer(len(page.items), page.total, offset))


def _check_new_due(ob: Obligation, new_due: date, today: date) -> None:
    if new_due <= ob.due_on:
        raise InputError(f"新的截止日 {new_due} 必须晚于原截止日 {ob.due_on}")
    if new_due < today:
        raise InputError(f"新的截止日 {new_due} 已经过去（今天是 {today}）")


def _act(ob_id: int, do: Any) -> None:
    """Run `do(session, ctx, ob, now)` in one transaction; print where the obligation went."""
    from flows.context import flow_context
    from models.repo.actions import ActionError, get_obligation
    from models.repo.evidence import EvidenceError
    from models.tables import Obligation, Task
    from schedules.machine import STATUS_LABEL
    from schedules.rules import Status

    ctx, now = flow_context(), runtime.current_time()
    try:
        with runtime.transaction() as s:
            if s.get(Obligation, ob_id) is None:
                fail(f"没有编号为 {ob_id} 的义务")
            ob = get_obligation(s, ob_id)
            do(s, ctx, ob, now)
            tk = s.get(Task, ob.task_id)
            assert tk is not None
            line = f"义务 #{ob_id}（{tk.ref} {tk.title} / 截止 {ob.due_on}）→ {STATUS_LABEL[Status(ob.status)]}"
    except (ActionError, EvidenceError) as exc:
        fail(f"义务 #{ob_id}: {exc}")
    typer.echo(line)


def _decide(ob_id: int, act: OfficeAction) -> None:
    from models.repo.actions import decide

    _act(ob_id, lambda s, ctx, ob, now: decide(session=s, ctx=ctx, ob=ob, act=act, now=now))


def _office(event: str, reason: str) -> OfficeAction:
    """The office's action `event`, by the current actor, from the CLI."""
    from models.repo.chase import OfficeAction
    from schedules.machine import Event

    return OfficeAction(Event(event), actor=runtime.actor(), reason=reason, via="cli")


def _check_unit(s: Session, ob: Obligation, unit: str) -> None:
    """A unit may act only on its own obligations."""
    from models.directory import Unit
    from models.repo.units import find_unit

    found = find_unit(session=s, name=unit.strip())
    if found is None:
        raise InputError(f"目录中没有名为“{unit}”的单位")
    if found.id != ob.unit_id:
        owner = s.get(Unit, ob.unit_id)
        raise InputError(
            f"单位“{unit}”不是义务 #{ob.id} 的责任单位（责任单位是“{owner.name if owner else '?'}”）"
        )


@obligations.command("submit")
def submit_cmd(
    ob_id: int = id_argument("义务编号"),
    unit: str = typer.Option(
        ..., "--unit", metavar="单位", help="报送单位（须是该义务的责任单位）"
    ),
    note: str = typer.Option("", "--note", metavar="说明", help="完成情况说明"),
    file: list[Path] = typer.Option(
        None, "--file", metavar="文件", help="佐证材料（普通文件，可多次给出）"
    ),
) -> None:
    """单位报送完成情况（可附佐证材料），等待办公室验收。"""
    from models.repo.actions import submit_done
    from models.repo.evidence import EvidenceError
    from models.tables import Obligation

    files = list(file or [])
    for f in files:
        if not f.exists() and not f.is_symlink():
            fail(f"无法读取佐证材料（文件不存在）: {f}")
        if f.is_symlink():
            fail(f"佐证材料是符号链接，只接受普通文件: {f}")
        if not f.is_file():
            fail(f"佐证材料只接受普通文件（不接受设备或管道）: {f}")
    with runtime.transaction() as s:
        ob = s.get(Obligation, ob_id)
        if ob is None:
            fail(f"没有编号为 {ob_id} 的义务")
        _check_unit(s, ob, unit)
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
    ob_id: int = id_argument("义务编号"),
    reason: str = typer.Option("", "--reason", metavar="说明", help="验收意见"),
) -> None:
    """办公室验收销号。"""
    _decide(ob_id, _office("accept", reason))


@obligations.command("reopen")
def reopen_cmd(
    ob_id: int = id_argument("义务编号"),
    reason: str = typer.Option(..., "--reason", metavar="原因", help="退回原因"),
) -> None:
    """退回重办：催办从现在起恢复。"""
    _decide(ob_id, _office("reopen", reason))


@obligations.command("extend")
def extend_cmd(
    ob_id: int = id_argument("义务编号"),
    to: date = date_option(
        "--to", help="新的截止日（须晚于原截止日，且不早于今天）", required=True
    ),
    reason: str = typer.Option(..., "--reason", metavar="原因", help="延期原因"),
) -> None:
    """批准延期到新的截止日（单位未申请时由办公室直接延期），提醒按新日期重新安排。"""
    from models.repo.actions import answer_extension
    from schedules.clock import OFFICE_TZ

    new_due, by = to, runtime.actor()

    def do(s: Session, ctx: Any, ob: Obligation, now: Any) -> None:
        _check_new_due(ob, new_due, now.astimezone(OFFICE_TZ).date())
        answer_extension(
            session=s,
            ctx=ctx,
            ob=ob,
            by=by,
            grant=True,
            reason=reason,
            now=now,
            via="cli",
            new_due=new_due,
        )

    _act(ob_id, do)


@obligations.command("request-extension")
def request_extension_cmd(
    ob_id: int = id_argument("义务编号"),
    unit: str = typer.Option(
        ..., "--unit", metavar="单位", help="申请单位（须是该义务的责任单位）"
    ),
    to: date = date_option("--to", help="希望延到的截止日", required=True),
    reason: str = typer.Option(..., "--reason", metavar="原因", help="申请理由"),
) -> None:
    """单位申请延期，等待办公室批准或驳回（期间照常提醒）。"""
    from models.repo.actions import request_extension
    from schedules.clock import OFFICE_TZ

    def do(s: Session, ctx: Any, ob: Obligation, now: Any) -> None:
        _check_unit(s, ob, unit)
        _check_new_due(ob, to, now.astimezone(OFFICE_TZ).date())
        request_extension(
            session=s, ctx=ctx, ob=ob, by=unit, new_due=to, reason=reason, now=now, via="cli"
        )

    _act(ob_id, do)


@obligations.command("refuse-extension")
def refuse_extension_cmd(
    ob_id: int = id_argument("义务编号"),
    reason: str = typer.Option(..., "--reason", metavar="原因", help="驳回原因"),
) -> None:
    """驳回延期申请，按原截止日继续催办。"""
    from models.repo.actions import answer_extension

    by = runtime.actor()
    _act(
        ob_id,
        lambda s, ctx, ob, now: answer_extension(
            session=s, ctx=ctx, ob=ob, by=by, grant=False, reason=reason, now=now, via="cli"
        ),
    )


@obligations.command("waive")
def waive_cmd(
    ob_id: int = id_argument("义务编号"),
    reason: str = typer.Option(..., "--reason", metavar="原因", help="免除原因"),
) -> None:
    """免除该义务（不再提醒）。"""
    _decide(ob_id, _office("waive", reason))


@obligations.command("confirm")
def confirm_cmd(
    ob_id: int = id_argument("义务编号"),
    reason: str = typer.Option("", "--reason", metavar="说明", help="说明"),
) -> None:
    """启用时已过期的节点：确认仍需办理，开始催办。（已完成的请用 accept，不再需要的用 waive）"""
    _decide(ob_id, _office("confirm_open", reason))


@obligations.command("chase")
def chase_cmd(
    ob_id: int = id_argument("义务编号"),
    reason: str = typer.Option("", "--reason", metavar="说明", help="再次催办的说明"),
) -> None:
    """再次催办：自动催办次数已用完时，由办公室决定再发一次催办（下一次运行时发出，记录审计）。"""
    _decide(ob_id, _office("request_chase", reason))
    typer.echo("已安排再次催办，将在办公时段内的下一次运行时发出")


@obligations.command("history")
def history_cmd(ob_id: int = id_argument("义务编号"), as_json: bool = json_option()) -> None:
    """义务的全部记录：谁、何时、做了什么、为什么。"""
    from duban import read_tables as t
    from duban.office_views import history

    with runtime.reading() as conn:
        found = conn.execute(t.obligation.select().where(t.obligation.c.id == ob_id)).first()
        if found is None:
            fail(f"没有编号为 {ob_id} 的义务")
        rows = history(conn, ob_id)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        change = f"：{r['from_label']} → {r['to_label']}" if r["from"] or r["to"] else ""
        what = r["entity_label"] + (f" Q{r['entity_id']}" if r["entity"] == "queue_item" else "")
        why = f"\t{r['reason_label']}" if r["reason"] else ""
        typer.echo(
            f"{r['at'][:16].replace('T', ' ')}\t{r['actor']}\t{what} {r['action_label']}{change}{why}"
        )
    typer.echo(f"共 {len(rows)} 条记录")


@queue.command("list")
def queue_list_cmd(
    level: str = typer.Option(None, "--level", metavar="级别", help="只看 2（督办）或 3（通报）"),
    unit: str = typer.Option(None, "--unit", metavar="单位", help="只看该单位（名称或别名）的"),
    plan: int = id_option("--plan", help="只看该计划（编号）的"),
    status: str = typer.Option(
        "open",
        "--status",
        metavar="状态",
        help="未办结（open，默认）、已认领（acked）、已办结（resolved）、全部（all）",
    ),
    limit: int = limit_option(),
    offset: int = offset_option(),
    show_all: bool = all_option(),
    as_json: bool = json_option(),
    sheets: bool = typer.Option(
        False, "--sheet", help="按督办单列出（每个单位每个级别每天一张，下列各项义务）"
    ),
) -> None:
    """办公室督办队列（默认只列未办结的），通报在前、早进队列的在前。"""
    from duban.office_views import list_queue, list_sheets, parse_queue_level, parse_queue_status
    from schedules.clock import parse_aware

    levels = parse_queue_level(level) if level else None
    statuses = parse_queue_status(status)
    now = runtime.current_time()
    # The sheets are read through SQLAlchemy; the items also through the plain DB-API at head.
    read, lister = (runtime.reading, list_sheets) if sheets else (runtime.fast_reading, list_queue)
    with read() as conn:
        page = lister(
            conn,  # type: ignore[arg-type]
            level=levels,
            unit=unit,
            plan=plan,
            statuses=statuses,
            limit=_limit(limit, show_all),
            offset=offset,
        )
    if as_json:
        print_json(page.to_dict())
        return
    if sheets:
        for r in page.items:
            who = f"\t认领: {r['acked_by']}" if r["acked_by"] else ""
            waited = format_duration((now - parse_aware(r["queued_at"])).total_seconds())
            typer.echo(
                f"督办单 S{r['sheet_id']}\t{r['queue_label']}\t{r['queue_status_label']}"
                f"\t{r['office_day']}\t{r['unit']}\t未办结 {r['open_lines']}/{len(r['lines'])} 项"
                f"\t已在队列 {waited}{who}"
            )
            for line in r["lines"]:
                typer.echo(
                    f"    Q{line['queue_id']}\t{line['queue_status_label']}\t截止 {line['due']}"
                    f"\t义务#{line['id']} {line['task_ref']} {line['task']}"
                )
        typer.echo(page_footer(len(page.items), page.total, offset, "张"))
        return
    for r in page.items:
        who = f"\t认领: {r['acked_by']}" if r["acked_by"] else ""
        waited = format_duration((now - parse_aware(r["queued_at"])).total_seconds())
        typer.echo(
            f"Q{r['queue_id']}\t{r['queue_label']}\t{r['queue_status_label']}\t截止 {r['due']}"
            f"\t{r['unit']}\t义务#{r['id']} {r['task_ref']} {r['task']}\t已在队列 {waited}{who}"
        )
    typer.echo(page_footer(len(page.items), page.total, offset, "项"))


def _queue_op(op_name: str, sheet: bool, **kw: Any) -> None:
    from models.labels import QUEUE_STATUS_LABEL
    from models.repo import queue as repo

    if sheet:
        kw["sheet_id"] = kw.pop("item_id")
        op_name = op_name.replace("_item", "_sheet")
    with runtime.transaction() as s:
        done = getattr(repo, op_name)(session=s, now=runtime.current_time(), **kw)
        label = f"督办单 S{done.id}" if sheet else f"督办事项 Q{done.id}"
        typer.echo(f"{label} → {QUEUE_STATUS_LABEL.get(done.status, done.status)}")


def _sheet_option() -> Any:
    return typer.Option(False, "--sheet", help="编号是督办单（S 后面的数字），对整张督办单操作")


@queue.command("ack")
def queue_ack_cmd(
    item_id: int = id_argument("督办事项编号（Q 后面的数字；加 --sheet 时为督办单编号）"),
    by: str = typer.Option(..., "--by", metavar="姓名", help="认领人"),
    sheet: bool = _sheet_option(),
) -> None:
    """认领督办事项（或整张督办单及其未办结的各项）。"""
    _queue_op("ack_item", sheet, item_id=item_id, by=by)


@queue.command("note")
def queue_note_cmd(
    item_id: int = id_argument("督办事项编号（Q 后面的数字；加 --sheet 时为督办单编号）"),
    text: str = typer.Argument(..., metavar="备注", help="备注内容（如电话催办记录）"),
    sheet: bool = _sheet_option(),
) -> None:
    """给督办事项（或督办单）加备注（电话催办记录等）。"""
    _queue_op("note_item", sheet, item_id=item_id, by=runtime.actor(), text=text)


@queue.command("resolve")
def queue_resolve_cmd(
    item_id: int = id_argument("督办事项编号（Q 后面的数字；加 --sheet 时为督办单编号）"),
    reason: str = typer.Option("", "--reason", metavar="说明", help="办结说明"),
    sheet: bool = _sheet_option(),
) -> None:
    """办结督办事项（或整张督办单及其未办结的各项）。"""
    _queue_op("resolve_item", sheet, item_id=item_id, by=runtime.actor(), reason=reason)


@queue.command("chase")
def queue_chase_cmd(
    item_id: int = id_argument("督办事项编号"),
    reason: str = typer.Option("", "--reason", metavar="说明", help="再次催办的说明"),
) -> None:
    """对督办事项再次催办：给责任单位再发一次催办（记录审计，并在事项备注中留痕）。"""
    from models.repo.actions import decide
    from models.repo.chase import OfficeAction
    from models.repo.queue import note_item
    from models.tables import QueueItem
    from schedules.machine import Event

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
