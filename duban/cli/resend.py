"""`duban notify failed` and `duban notify resend`: see what failed for good, re-send it once fixed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

import typer

from duban import runtime
from duban.cli.common import date_option, fail, json_option, print_json
from duban.labels import CHANNEL_LABEL, describe_choices
from duban.labels import channel_type as parse_channel_type
from notify.mask import mask_url
from schedules.clock import OFFICE_TZ

if TYPE_CHECKING:
    from sqlmodel import Session

    from flows.resend import ResendReport
    from models.tables import Delivery

KIND_NAMES = {"permanent": "永久失败", "transient": "临时失败·自动重试中"}
OUTCOME_NAMES = {
    "would_resend": "将重发",
    "sent": "已重发",
    "replaced": "已改投",
    "covered": "已改投",
    "retry": "临时失败",
    "sending": "发送中",
    "failed": "再次失败",
    "refused": "无法重发",
    "taken": "未重发",
    "skipped": "跳过",
}


def failed_cmd(
    unit: str | None = typer.Option(
        None, "--unit", metavar="单位", help="只看发给该单位（名称或别名）的"
    ),
    channel_type: str | None = typer.Option(
        None,
        "--channel-type",
        metavar="渠道",
        help=f"只看该类渠道: {describe_choices(CHANNEL_LABEL)}",
    ),
    since: date | None = date_option("--since", help="只看该日以来的"),
    permanent_only: bool = typer.Option(
        False, "--permanent", help="只看永久失败的（不含临时失败、正在自动重试的）"
    ),
    as_json: bool = json_option(),
) -> None:
    """列出发送失败的消息（按消息分组）：永久失败的（需修复渠道后重发）和临时失败、正在自动重试的。"""
    from models.repo import resend as repo

    if channel_type is not None:
        channel_type = parse_channel_type(channel_type)
        if channel_type not in CHANNEL_LABEL:
            fail(f"--channel-type 应为 {describe_choices(CHANNEL_LABEL)}，实际为 {channel_type!r}")
    start = datetime.combine(since, time(0), tzinfo=OFFICE_TZ) if since else None
    with runtime.transaction() as session:
        unit_id = _unit_id(session, unit) if unit else None
        rows = repo.select_failed(
            session,
            unit_id=unit_id,
            channel_type=channel_type,
            since=start,
            pending=not permanent_only,
        )
        messages = _listing(session, rows)
    if as_json:
        print_json({"messages": messages, "deliveries": len(rows)})
        return
    if not messages:
        typer.echo("没有发送失败的消息。" if not permanent_only else "没有永久发送失败的消息。")
        return
    for m in messages:
        flag = "【渠道已标记为持续失败】" if m["channel_failing"] else ""
        channel = f"{m['channel_type']}#{m['channel_id']}" if m["channel_id"] else m["channel_type"]
        typer.echo(
            f"[{KIND_NAMES[m['kind']]}] {m['unit']}  {channel} → {m['recipient']}{flag}  "
            f"{m['when'][:16]}"
        )
        retry = f"，下次自动重试不早于 {m['retry_at'][:16]}" if m["retry_at"] else ""
        typer.echo(f"  尝试 {m['attempts']} 次{retry}，错误: {m['last_error']}")
        for d in m["deliveries"]:
            typer.echo(
                f"  投递 #{d['id']}  {d['stage_name']}  《{d['plan']}》任务{d['task_ref']} "
                f"{d['task_title']} · {d['milestone']}（义务 #{d['obligation_id']}）"
            )
    waiting = sum(1 for m in messages if m["kind"] == "transient")
    typer.echo(
        f"共 {len(messages)} 条消息（{len(rows)} 条投递）发送失败，其中 {waiting} 条临时失败、"
        "会自动重试。修复渠道后重发: "
        "duban notify resend --unit 单位 --by 姓名（或 --delivery 编号 / --channel 编号 / --all）"
    )


def resend_cmd(
    delivery: list[int] | None = typer.Option(
        None, "--delivery", metavar="编号", help="投递编号（可重复）"
    ),
    unit: str | None = typer.Option(
        None, "--unit", metavar="单位", help="重发该单位（名称或别名）的失败消息"
    ),
    channel: int | None = typer.Option(
        None, "--channel", metavar="编号", help="重发该渠道编号的失败消息"
    ),
    every: bool = typer.Option(False, "--all", help="重发全部失败消息"),
    by: str = typer.Option(..., "--by", metavar="姓名", help="谁要求重发（记入审计日志）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只显示将重发什么，不写入、不发送"),
    as_json: bool = json_option(),
) -> None:
    """修复渠道后，立即经正常发送流程重发失败的消息；已发送的绝不重复发送。"""
    from flows.context import flow_context
    from flows.resend import resend_deliveries
    from models.directory import Channel
    from models.repo import resend as repo
    from notify.pipeline import PipelineOptions, build_pipeline

    chosen = [bool(delivery), unit is not None, channel is not None, every]
    if sum(chosen) != 1:
        fail("请指定且只指定一种范围: --delivery 编号 … | --unit 单位 | --channel 编号 | --all")
    if not by.strip():
        fail("--by 不能为空：请写明谁要求重发（记入审计日志）")
    skipped: dict[int, str] = {}
    with runtime.transaction() as session:
        if delivery:
            rows, skipped = _named(session, delivery)
        elif unit is not None:
            rows = repo.select_failed(session, unit_id=_unit_id(session, unit))
        elif channel is not None:
            if session.get(Channel, channel) is None:
                fail(f"没有编号为 {channel} 的渠道（可用 duban notify failed 查看失败消息的渠道）")
            rows = repo.select_failed(session, channel_id=channel)
        else:
            rows = repo.select_failed(session)
    settings, now, engine = runtime.settings(), runtime.current_time(), runtime.migrated_engine()
    deliver = None
    if not dry_run:
        options = PipelineOptions(office_email=settings.office_email, actor=by.strip())
        pipeline = build_pipeline(settings.send_config(), engine, options=options)
        deliver = lambda notices, at: pipeline.deliver(notices, now=at)  # noqa: E731
    report = resend_deliveries(
        engine=engine,
        ctx=flow_context(),
        rows=rows,
        skipped=skipped,
        deliver=deliver,
        office_email=settings.office_email,
        by=by.strip(),
        now=now,
    )
    _print_report(report, by.strip(), now, as_json)
    if not dry_run and not report.ok:
        raise typer.Exit(1)


def _unit_id(session: Session, name: str) -> int:
    from models.repo.units import find_unit

    found = find_unit(session=session, name=name.strip())
    if found is None or found.id is None:
        fail(f"目录中没有名为“{name}”的单位（可用 duban units list 查看）")
    return found.id


def _named(session: Session, ids: Sequence[int]) -> tuple[list[Delivery], dict[int, str]]:
    """The named rows: failed ones to re-send, the others with why they are left alone."""
    from models.repo import resend as repo

    found = repo.deliveries_by_id(session, ids)
    missing = sorted(set(ids) - set(found))
    if missing:
        listed = "、".join(f"#{i}" for i in missing)
        fail(f"没有编号为 {listed} 的投递记录（可用 duban notify failed --json 查看编号）")
    replaced = repo.replaced_ids(session, found)
    rows, skipped = [], {}
    for i, row in sorted(found.items()):
        if i in replaced:
            skipped[i] = "已由之前的重发改投给新的收件人，不重发"
        elif row.status == "sent":
            at = (
                row.sent_at.astimezone(OFFICE_TZ).strftime("于 %Y-%m-%d %H:%M ")
                if row.sent_at
                else ""
            )
            skipped[i] = f"已{at}发送成功，不重发"
        elif row.status == "sending":
            skipped[i] = "正在发送中，不重发"
        else:
            rows.append(row)
    return rows, skipped


def _listing(session: Session, rows: Sequence[Delivery]) -> list[dict[str, Any]]:
    """The failed rows grouped per message (batch), with what each item was about."""
    from models.repo import resend as repo
    from notify.notice import STAGE_NAMES

    obs = repo.obligation_rows(session, (r.obligation_id for r in rows if r.obligation_id))
    names = repo.unit_names(session, (r.unit_id for r in rows))
    channels = repo.channels_by_id(session, (r.channel_id for r in rows))
    messages: dict[str, dict[str, Any]] = {}
    for r in rows:
        ch = channels.get(r.channel_id or 0)
        when = r.created_at.astimezone(OFFICE_TZ).isoformat()
        m = messages.setdefault(
            r.batch,
            {
                "batch": r.batch,
                "unit": names.get(r.unit_id or 0, "办公室"),
                "unit_id": r.unit_id,
                "channel_type": r.channel_type,
                "channel_id": r.channel_id,
                "channel": mask_url(ch.url) if ch and ch.url else "",
                "channel_failing": bool(ch and ch.failing),
                "recipient": r.recipient,
                "when": when,
                "attempts": r.attempts,
                "last_error": r.last_error or "",
                "kind": "permanent" if r.permanent else "transient",
                "retry_at": (
                    r.lease_until.astimezone(OFFICE_TZ).isoformat()
                    if r.lease_until and not r.permanent
                    else None
                ),
                "deliveries": [],
            },
        )
        if r.permanent:
            m["kind"] = "permanent"
        m["attempts"] = max(m["attempts"], r.attempts)
        ob = obs.get(r.obligation_id or 0)
        m["deliveries"].append(
            {
                "id": r.id,
                "key": r.key,
                "stage": r.stage,
                "stage_name": STAGE_NAMES.get(r.stage, r.stage),
                "seq": r.seq,
                "permanent": r.permanent,
                "obligation_id": r.obligation_id,
                "obligation_status": ob[0].status if ob else None,
                "plan": ob[3].title if ob else "",
                "task_ref": ob[2].ref if ob else "",
                "task_title": ob[2].title if ob else "",
                "milestone": (ob[1].label or ob[1].source_text) if ob else "",
                "due": ob[0].due_on.isoformat() if ob else None,
            }
        )
    return list(messages.values())


def _print_report(report: ResendReport, by: str, now: datetime, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "dry_run": report.dry_run,
                "by": by,
                "at": now.isoformat(),
                "ok": report.ok,
                "messages": [
                    {
                        "batch": m.batch,
                        "unit": m.unit,
                        "channel_type": m.channel_type,
                        "channel_id": m.channel_id,
                        "recipient": m.recipient,
                        "outcome": m.outcome,
                        "items": m.items,
                        "deliveries": [r.__dict__ for r in m.rows],
                    }
                    for m in report.messages
                ],
                "also_sent": report.also_sent,
                "recovered_channels": report.recovered,
                "unreached": report.unreached,
                "summary": report.summary,
            }
        )
        return
    if not report.messages:
        typer.echo("没有需要重发的失败消息。")
        return
    for m in report.messages:
        name = OUTCOME_NAMES.get(m.outcome, m.outcome)
        typer.echo(f"{name}  {m.unit}  {m.channel_type} → {m.recipient}（{len(m.items)} 项）")
        for item in m.items:
            typer.echo(f"  {item}")
        for detail in dict.fromkeys(r.detail for r in m.rows if r.detail):
            typer.echo(f"  → {detail}")
    counts: dict[str, int] = {}
    for m in report.messages:
        key = OUTCOME_NAMES.get(m.outcome, m.outcome)
        counts[key] = counts.get(key, 0) + 1
    parts = "，".join(f"{k} {v}" for k, v in counts.items())
    typer.echo(
        f"共 {len(report.messages)} 条消息：{parts}"
        + ("（试运行，未写入、未发送）" if report.dry_run else "")
    )
    if report.summary:
        typer.echo(f"发送流程: {report.summary}")
    for cid in report.recovered:
        typer.echo(f"渠道 #{cid} 已恢复正常，取消“持续失败”标记")
    for who in report.also_sent:
        typer.echo(f"同时发给目录中尚未收到的收件人: {who}")
    for u in report.unreached:
        typer.echo(f"无法送达: {u}", err=True)
