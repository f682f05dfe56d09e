"""`duban db …`: schema migrations."""

from __future__ import annotations

import typer

from duban import runtime
from duban.cli.common import json_option, print_json
from duban.cli.zh import DubanTyper

app = DubanTyper()


@app.command("upgrade")
def upgrade_cmd() -> None:
    """把数据库升级到最新版本（Alembic 迁移）。"""
    from models.migrate import current_revision, upgrade

    eng = runtime.engine()
    before = current_revision(eng)
    upgrade(eng)
    typer.echo(
        f"数据库 {runtime.settings().redacted()['database_url']}: {before or '空'} → {current_revision(eng)}"
    )


@app.command("current")
def current_cmd(as_json: bool = json_option()) -> None:
    """显示数据库当前版本与最新版本。"""
    from models.migrate import current_revision, head_revision

    eng = runtime.engine()
    info = {"current": current_revision(eng), "head": head_revision(eng)}
    if as_json:
        print_json(info)
    else:
        typer.echo(f"当前版本 {info['current'] or '空'}，最新版本 {info['head']}")
