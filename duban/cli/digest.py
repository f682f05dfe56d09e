"""`duban digest`: the office's daily digest, previewed or sent now (once a day: dedupe by day)."""

from __future__ import annotations

import threading

import typer

from duban import runtime
from duban.cli.common import json_option, print_json


def digest_cmd(
    preview: bool = typer.Option(False, "--preview", help="只显示今天的办公室日报和收件人，不发送"),
    as_json: bool = json_option(),
) -> None:
    """办公室日报：--preview 显示今天的内容与收件人（不发送）；不加则现在发送（同一天只发一次）。"""
    now = runtime.current_time()
    if preview:
        from flows.digests import preview_office_digest

        text = preview_office_digest(now)
        typer.echo(text or "今天没有需要列入日报的事项（没有逾期或本周到期的义务）")
        return
    from flows.jobs import daily_digest_job

    out = daily_digest_job(now, threading.Event())
    if as_json:
        print_json(out)
        return
    if out.get("skipped"):
        typer.echo(f"今天不发日报：{out['skipped']}")
    elif not out.get("notices"):
        typer.echo("今天没有需要列入日报的事项")
    elif out.get("delivered"):
        typer.echo(f"办公室日报已送达（{out['items']} 项）")
    else:
        typer.echo(
            f"办公室日报未送达：{'、'.join(out['undelivered'])}（见 duban notify failed）", err=True
        )
        raise typer.Exit(1)


def rollcall_cmd(
    month: str = typer.Option(..., "--month", metavar="年月", help="月份，如 2024-09 或 2024年9月"),
    as_json: bool = json_option(),
) -> None:
    """月度报送点名：该月到期的月报，哪些单位已报送、哪些未报送，以及发给办公室的点名（预览，不发送）。"""
    import re
    from datetime import date

    from sqlmodel import Session

    from duban.cli.common import InputError
    from flows.monthly import roll_call

    found = re.fullmatch(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*", month)
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise InputError(f"--month 应为年月，如 2024-09 或 2024年9月，收到 {month!r}")
    first = date(int(found.group(1)), int(found.group(2)), 1)
    with Session(runtime.migrated_engine()) as session:
        info = roll_call(session, first)
    if as_json:
        print_json(info)
        return
    if not info["reported"] and not info["missing"]:
        typer.echo(f"{info['month']}：没有到期的月报")
        return
    typer.echo(
        f"{info['month']} 月报点名：已报送 {len(info['reported'])} 个单位，未报送 {len(info['missing'])} 个"
    )
    typer.echo(f"  未报送：{'、'.join(info['missing']) or '无'}")
    typer.echo(f"  已报送：{'、'.join(info['reported']) or '无'}")
    from flows.monthly import preview_rollcall

    text = preview_rollcall(first, runtime.current_time())
    if text:
        typer.echo("\n—— 发给办公室的月度点名（预览，不发送）——")
        typer.echo(text)
