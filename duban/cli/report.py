"""`duban report …`: the month's 通报 (figures, draft, edit, approve) and the 任务清单 export.

Each command imports the ORM when it runs (`duban --help` stays light). Writes are one transaction:
a refused edit or approval changes nothing and writes no audit row.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from duban import runtime
from duban.cli.common import fail, id_argument, json_option, print_json
from duban.cli.zh import DubanTyper

if TYPE_CHECKING:
    from datetime import date

report = DubanTyper()

ALL = ("全部", "all", "office")


def _plan_arg() -> Any:
    """The plan: its id or 「全部」 (Any, like duban/cli/common.py's helpers: a parameter default)."""
    return typer.Argument(
        ..., metavar="计划", help="计划编号；「全部」为所有执行中的计划（办公室通报）"
    )


def _month_opt() -> Any:
    """--month, required."""
    return typer.Option(..., "--month", metavar="年月", help="月份，如 2024-03 或 2024年3月")


def _month(text: str) -> date:
    from schedules.report import PeriodError, parse_month

    try:
        return parse_month(text)
    except PeriodError as exc:
        fail(f"--month：{exc}")


def _plan_id(text: str) -> int | None:
    if text.strip() in ALL:
        return None
    if not text.strip().isdigit():
        fail(f"计划应为计划编号或「全部」，收到 {text!r}")
    return int(text)


@report.command("month")
def month_cmd(
    plan: str = _plan_arg(),
    month: str = _month_opt(),
    as_json: bool = json_option(),
) -> None:
    """某月通报的数据与草稿正文（只读，不保存）：各单位完成情况、逾期事项、督办事项、与上月比较。"""
    from models.repo.reports import active_plan_ids, month_report
    from models.tables import Plan
    from schedules.bulletin import render_bulletin

    first, plan_id = _month(month), _plan_id(plan)
    with runtime.transaction() as s:
        if plan_id is not None:
            row = s.get(Plan, plan_id)
            if row is None:
                fail(f"没有编号为 {plan_id} 的计划")
            title, ids = row.title or f"计划 {plan_id}", [plan_id]
        else:
            title, ids = "安委会各项计划", active_plan_ids(s.connection())
        rep = month_report(s.connection(), plan_ids=ids, month=first, scope=plan)
    if as_json:
        print_json(rep.as_dict())
        return
    typer.echo(render_bulletin(rep, title=title, number=None), nl=False)


@report.command("draft")
def draft_cmd(plan: str = _plan_arg(), month: str = _month_opt()) -> None:
    """生成某月通报草稿并保存（已有草稿时不覆盖），待办公室修改、审定。"""
    from models.repo.documents import DocumentError, draft_bulletin

    first, plan_id = _month(month), _plan_id(plan)
    try:
        with runtime.transaction() as s:
            doc, created = draft_bulletin(
                session=s,
                plan_id=plan_id,
                month=first,
                now=runtime.current_time(),
                by=runtime.actor(),
            )
            doc_id = doc.id
    except DocumentError as exc:
        fail(str(exc))
    word = "已生成" if created else "已存在（未覆盖）"
    typer.echo(
        f"通报草稿 {doc_id} {word}：{first.year}年{first.month}月（duban report show {doc_id}）"
    )


@report.command("list")
def list_cmd(
    year: int | None = typer.Option(None, "--year", metavar="年份", help="只列该年的通报"),
    as_json: bool = json_option(),
) -> None:
    """列出通报：编号、期号、范围、月份、状态、修改次数。"""
    from models.repo.documents import list_documents
    from schedules.bulletin import issue_number

    with runtime.transaction() as s:
        docs = [
            {
                "id": d.id,
                "number": issue_number(d.year, d.number) if d.number else "",
                "scope": d.scope,
                "period": d.period,
                "status": d.status,
                "edits": d.edits,
                "title": d.title,
            }
            for d in list_documents(s, year=year)
        ]
    if as_json:
        print_json(docs)
        return
    if not docs:
        typer.echo("还没有通报（每月第一个工作日自动生成上月草稿，或用 duban report draft）")
    names = {"draft": "草稿", "approved": "已审定", "sent": "已印发"}
    for d in docs:
        typer.echo(
            f"{d['id']:>4}  {d['number'] or '（未编号）'}  {d['period']}  {names.get(str(d['status']), d['status'])}"
            f"  修改 {d['edits']} 次  {d['title']}"
        )


@report.command("show")
def show_cmd(doc_id: int = id_argument("通报编号"), as_json: bool = json_option()) -> None:
    """显示一份通报的正文（--json 另含生成时的数据）。"""
    from duban.bulletin_send import bulletin_deliveries
    from models.repo.documents import DocumentError, get_document

    try:
        with runtime.transaction() as s:
            d = get_document(s, doc_id)
            out = {
                "id": d.id,
                "status": d.status,
                "number": d.number,
                "year": d.year,
                "period": d.period,
                "scope": d.scope,
                "body": d.body,
                "data": d.data,
                "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                "deliveries": bulletin_deliveries(s, doc_id),
            }
    except DocumentError as exc:
        fail(str(exc))
    if as_json:
        print_json(out)
        return
    typer.echo(str(out["body"]), nl=False)
    sent: list[dict[str, Any]] = out["deliveries"]  # type: ignore[assignment]
    if sent:
        typer.echo(f"\n印发情况（{len(sent)} 条）：")
        for r in sent:
            status = STATUS_ZH.get(r["status"], r["status"])
            typer.echo(f"  {r['unit'] or '安委办'} · {r['channel']} · {r['recipient']} · {status}")


STATUS_ZH = {"sent": "已送达", "sending": "发送中", "failed": "失败", "superseded": "已作废"}


@report.command("send")
def send_cmd(doc_id: int = id_argument("通报编号"), as_json: bool = json_option()) -> None:
    """印发已审定的通报：PDF 随邮件、机器人发摘要与链接，送各成员单位与计划的领导；可重复执行，已送达的不再发送。"""
    from duban.bulletin_send import send_bulletin
    from duban.pdf import PdfError
    from models.repo.documents import DocumentError

    try:
        out = send_bulletin(doc_id, now=runtime.current_time(), by=runtime.actor())
    except (DocumentError, PdfError) as exc:
        fail(str(exc))
    if as_json:
        print_json(out.as_dict())
        return
    typer.echo(
        f"通报 {doc_id} 已印发：收件对象 {out.recipients} 个，发送 {out.sent} 条，"
        f"此前已送达 {out.skipped} 条，失败 {out.failed} 条，待重试 {out.pending} 条"
    )
    for u in out.unreached:
        typer.echo(f"  无法送达：{u}")


@report.command("edit")
def edit_cmd(
    doc_id: int = id_argument("通报编号"),
    file: Path = typer.Option(..., "--file", metavar="文件", help="修改后的正文（UTF-8 文本文件）"),
    reason: str = typer.Option("", "--reason", metavar="说明", help="修改说明（记入审计日志）"),
) -> None:
    """用文本文件替换通报草稿正文（审定前可改；原文与修改记入审计日志）。"""
    from models.repo.documents import DocumentError, edit_document

    try:
        body = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"找不到正文文件：{file}")
    except UnicodeDecodeError:
        fail(f"正文文件不是 UTF-8 文本：{file}")
    try:
        with runtime.transaction() as s:
            doc = edit_document(
                session=s,
                doc_id=doc_id,
                body=body,
                by=runtime.actor(),
                now=runtime.current_time(),
                reason=reason,
            )
            edits = doc.edits
    except DocumentError as exc:
        fail(str(exc))
    typer.echo(f"通报 {doc_id} 已修改（共修改 {edits} 次）")


@report.command("approve")
def approve_cmd(doc_id: int = id_argument("通报编号")) -> None:
    """审定通报：按年度顺序编期号（如〔2024〕第3期），此后不能再修改。"""
    from models.repo.documents import DocumentError, approve_document
    from schedules.bulletin import issue_number

    try:
        with runtime.transaction() as s:
            doc = approve_document(
                session=s, doc_id=doc_id, by=runtime.actor(), now=runtime.current_time()
            )
            label = issue_number(doc.year, doc.number or 0)
    except DocumentError as exc:
        fail(str(exc))
    typer.echo(f"通报 {doc_id} 已审定：{label}")


@report.command("ledger")
def ledger_cmd(
    plan: int = id_argument("计划编号"),
    out: Path = typer.Option(
        ..., "--out", metavar="文件", help="导出的文件：.xlsx（Excel）或 .pdf"
    ),
    unit: str | None = typer.Option(None, "--unit", metavar="单位", help="只导出该单位承担的任务"),
) -> None:
    """导出任务清单（Excel 或 PDF）：序号/任务/时间节点/责任单位/配合单位/完成情况/进展/佐证链接/状态。"""
    from duban.ledger import ledger_rows, write_xlsx
    from models.repo.units import find_unit
    from models.tables import Plan

    if out.suffix.lower() not in (".xlsx", ".pdf"):
        fail(f"--out 应为 .xlsx 或 .pdf 文件，收到 {out}")
    if not out.parent.is_dir():
        fail(f"--out 所在文件夹不存在：{out.parent}")
    now = runtime.current_time()
    with runtime.transaction() as s:
        row = s.get(Plan, plan)
        if row is None:
            fail(f"没有编号为 {plan} 的计划")
        unit_ids = None
        if unit is not None:
            found = find_unit(session=s, name=unit)
            if found is None:
                fail(f"--unit：单位目录中没有「{unit}」")
            unit_ids, unit = [found.id or 0], found.name
        rows = ledger_rows(
            s, plan_id=plan, as_of=now, unit_ids=unit_ids, base_url=runtime.settings().portal_url
        )
        title = row.title or f"计划 {plan}"
    if out.suffix.lower() == ".pdf":
        from duban.pdf import PdfError, ledger_pdf

        try:
            data = ledger_pdf(rows, title=title, as_of=now, unit=unit)
        except PdfError as exc:
            fail(str(exc))
        _write_atomic(out, data)
    else:
        write_xlsx(rows, out, title=title, as_of=now, unit=unit)
    typer.echo(f"任务清单已导出：{out}（{len(rows)} 项任务）")


@report.command("assess")
def assess_cmd(
    plan: str = _plan_arg(),
    year: int | None = typer.Option(None, "--year", metavar="年份", help="考核年度（如 2024）"),
    date_from: str | None = typer.Option(None, "--from", metavar="日期", help="考核期起始日（含）"),
    date_to: str | None = typer.Option(None, "--to", metavar="日期", help="考核期结束日（含）"),
    out: Path | None = typer.Option(
        None, "--out", metavar="文件", help="另导出 Excel 排名（.xlsx）"
    ),
    as_json: bool = json_option(),
) -> None:
    """考核：各单位在考核期内的得分（按策略文件 assessment 的权重扣分）、扣分明细与排名。"""
    from datetime import date, timedelta

    from duban.cli.common import parse_date
    from duban.ledger import write_assessment_xlsx
    from flows.context import flow_context
    from models.repo.reports import active_plan_ids, assessment
    from models.tables import Plan

    if year is not None and (date_from or date_to):
        fail("--year 与 --from/--to 只能选一种")
    if year is not None:
        start, end = date(year, 1, 1), date(year + 1, 1, 1)
    elif date_from and date_to:
        start, end = parse_date(date_from, "--from"), parse_date(date_to, "--to") + timedelta(1)
        if end <= start:
            fail("--to 应不早于 --from")
    else:
        fail("请给出 --year，或同时给出 --from 与 --to")
    if out is not None and out.suffix.lower() != ".xlsx":
        fail(f"--out 应为 .xlsx 文件，收到 {out}")
    plan_id = _plan_id(plan)
    weights = flow_context().policies.assessment
    with runtime.transaction() as s:
        if plan_id is not None:
            row = s.get(Plan, plan_id)
            if row is None:
                fail(f"没有编号为 {plan_id} 的计划")
            title, ids = row.title or f"计划 {plan_id}", [plan_id]
        else:
            title, ids = "安委会各项计划", active_plan_ids(s.connection())
        scores = assessment(s.connection(), plan_ids=ids, start=start, end=end, weights=weights)
    period = f"{start.isoformat()} 至 {(end - timedelta(1)).isoformat()}"
    if out is not None:
        write_assessment_xlsx(scores, out, title=title, period=period)
    if as_json:
        print_json({"period": period, "scores": [x.as_dict() for x in scores]})
        return
    typer.echo(f"{title} 考核（{period}），基础分 {weights.base:g}")
    for x in scores:
        typer.echo(f"{x.rank:>3}. {x.unit}  {x.score:g} 分  （{x.explanation}）")
    if out is not None:
        typer.echo(f"考核排名已导出：{out}")


@report.command("pdf")
def pdf_cmd(
    doc_id: int = id_argument("通报编号"),
    out: Path = typer.Option(..., "--out", metavar="文件", help="导出的 PDF 文件"),
) -> None:
    """把通报导出为 PDF（正文、各单位完成情况表与三张图表；需要服务器上的中文字体）。"""
    from datetime import date

    from duban.charts import series
    from duban.pdf import PdfError, bulletin_pdf
    from models.repo.documents import DocumentError, get_document
    from models.repo.reports import active_plan_ids

    if out.suffix.lower() != ".pdf":
        fail(f"--out 应为 .pdf 文件，收到 {out}")
    try:
        with runtime.transaction() as s:
            d = get_document(s, doc_id)
            month = date.fromisoformat(d.period + "-01")
            ids = [d.plan_id] if d.plan_id is not None else active_plan_ids(s.connection())
            charts = series(s.connection(), plan_ids=ids, first=date(month.year, 1, 1), last=month)
            title, body = d.title, d.body
    except DocumentError as exc:
        fail(str(exc))
    try:
        data = bulletin_pdf(title=title, body=body, charts=charts)
    except PdfError as exc:
        fail(str(exc))
    _write_atomic(out, data)
    typer.echo(f"通报 PDF 已导出：{out}")


def _write_atomic(path: Path, data: bytes) -> None:
    if not path.parent.is_dir():
        fail(f"所在文件夹不存在：{path.parent}")
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
