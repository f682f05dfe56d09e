"""`duban digest`: the office's daily digest, previewed or sent now (once a day: dedupe by day)."""

from __future__ import annotations

import threading

import typer

from duban import runtime
from duban.cli_common import json_option, print_json


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
