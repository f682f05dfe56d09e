"""`duban notify …` and `duban templates …`: try the channels, check the office's templates."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from duban import runtime
from duban.cli.common import fail, json_option, print_json
from duban.cli.zh import DubanTyper

if TYPE_CHECKING:
    from notify.targets import Route
    from notify.transport import Rendered, Transport

notify_app = DubanTyper()
templates_app = DubanTyper()


@notify_app.command("test")
def test_cmd(
    unit: str = typer.Argument(..., metavar="单位", help="单位名称或别名"),
    as_json: bool = json_option(),
) -> None:
    """向单位的每个渠道（邮件发给每位有邮箱的联系人）发送一条测试消息，并逐一报告结果。"""
    from models.repo.units import find_unit
    from notify.channels import build_transports, office_info
    from notify.notice import Audience, Notice
    from notify.render import Renderer, RenderError
    from notify.targets import load_units, routes_for

    settings = runtime.settings()
    now = runtime.current_time()
    with runtime.transaction() as session:
        found = find_unit(session=session, name=unit.strip())
        if found is None or found.id is None:
            fail(f"目录中没有名为“{unit}”的单位（可用 duban units list 查看）")
        entry = load_units(session, [found.id])[found.id]
    notice = Notice(unit_id=found.id, audience=Audience.OFFICE, items=(), kind="test")
    routes = routes_for(notice, entry)
    if not routes:
        fail(f"{found.name} 没有启用的渠道，或邮件渠道没有带邮箱的联系人")
    try:
        content = Renderer(office_info(settings.send_config()), settings.templates_dir).render(
            notice, recipient_name=found.name, at=now
        )
    except RenderError as exc:
        fail(f"测试消息模板有误: {exc}")
    results = _send_tests(routes, content, build_transports(settings.send_config()), now)
    _print_results(found.name, results, as_json)
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)


def _send_tests(
    routes: list[Route], content: Rendered, transports: dict[str, Transport], now: datetime
) -> list[dict[str, Any]]:
    """One attempt per route (no retry: the office wants to see the failure now)."""
    from notify.retry import RetrySettings, send_with_retry
    from notify.transport import Message

    results: list[dict[str, Any]] = []
    for route in routes:
        transport = transports[route.target.kind]
        key = f"test:{now.isoformat()}:{route.channel_key}:{route.recipient_key}"
        msg = Message(content=content, target=route.target, at=now)
        attempt = send_with_retry(transport, msg, key=key, retry=RetrySettings(attempts=1))
        results.append(
            {
                "channel": route.target.kind,
                "recipient": route.recipient,
                "via": type(transport).__name__,
                "ok": attempt.ok,
                "ref": attempt.result.ref if attempt.result else None,
                "error": attempt.error,
                "permanent": attempt.permanent,
            }
        )
    return results


def _print_results(unit: str, results: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_json({"unit": unit, "results": results})
        return
    for r in results:
        via = "（写入发件箱）" if r["via"] == "Outbox" else ""
        if r["ok"]:
            typer.echo(f"成功  {r['channel']}  {r['recipient']}{via}  {r['ref'] or ''}".rstrip())
        else:
            kind = "永久性错误" if r["permanent"] else "临时错误，可稍后重试"
            typer.echo(f"失败  {r['channel']}  {r['recipient']}  {r['error']}（{kind}）")
    ok = sum(1 for r in results if r["ok"])
    typer.echo(f"{unit}: {len(results)} 个渠道/收件人，成功 {ok}，失败 {len(results) - ok}")


@templates_app.command("check")
def check_cmd(
    folder: Path | None = typer.Option(
        None,
        "--dir",
        metavar="目录",
        help="要检查的模板目录（默认 DUBAN_TEMPLATES_DIR；不设则检查内置模板）",
    ),
) -> None:
    """用示例数据渲染每个模板（各阶段 × 主题/正文/HTML/Markdown），报告错误所在的文件和行。"""
    from notify.channels import office_info
    from notify.render import FORMATS
    from notify.template_check import check_templates

    settings = runtime.settings()
    folder = folder or settings.templates_dir
    problems = check_templates(folder, office_info(settings.send_config()))
    for p in problems:
        typer.echo(str(p), err=True)
    where = f"{folder}（其余用内置模板）" if folder else "内置模板"
    if problems:
        fail(f"{where}: 发现 {len(problems)} 处错误", code=1)
    typer.echo(f"{where}: 检查通过（{len(FORMATS)} 种格式的全部模板都能用示例数据渲染）")
