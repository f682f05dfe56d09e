"""`duban digest`: the office's daily digest, previewed or sent now."""

from __future__ import annotations

import typer

from duban import runtime
from duban.cli_common import fail


def digest_cmd(
    preview: bool = typer.Option(False, "--preview", help="只显示今天的办公室日报，不发送"),
) -> None:
    """办公室日报：--preview 显示今天的内容（收件人、事项），不发送。"""
    from flows.digests import preview_office_digest

    text = preview_office_digest(runtime.current_time())
    if text is None:
        fail("今天没有需要列入日报的事项", code=1)
    typer.echo(text)
