"""The `duban` command line: one entry point, sub-commands grouped by what the office does."""

from __future__ import annotations

import sys

import typer

from duban import cli_db, cli_main, cli_units

app = typer.Typer(
    help="督办 duban: 工作计划任务的提醒、催办、督办与通报。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("quickstart")(cli_main.quickstart)
app.add_typer(cli_db.app, name="db", help="数据库：迁移与版本。")
app.add_typer(cli_units.app, name="units", help="单位目录：导入、列出、查看。")


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
