"""The `duban` command line: one entry point, sub-commands grouped by what the office does.

Every CLI module imports only Typer and light helpers at module level: `duban --help` must build the
whole command tree without the ORM or Prefect, and each command imports what it needs when it runs
(tests/duban/test_fast_start.py holds the line).
"""

from __future__ import annotations

import typer

# The sub-modules keep their old names here (cli_X) so that this registration table reads as
# before the CLI became a package (and merges with edits made to it before the move).
from duban.cli import activate as cli_activate
from duban.cli import db as cli_db
from duban.cli import digest as cli_digest
from duban.cli import notify as cli_notify
from duban.cli import office as cli_office
from duban.cli import plan as cli_plan
from duban.cli import quickstart as cli_main
from duban.cli import report as cli_report
from duban.cli import resend as cli_resend
from duban.cli import service as cli_service
from duban.cli import simulate as cli_simulate
from duban.cli import units as cli_units
from duban.cli import users as cli_users
from duban.cli import web as cli_web
from duban.cli.zh import DubanTyper, RootGroup

app = DubanTyper(cls=RootGroup, help="督办 duban: 工作计划任务的提醒、催办、督办与通报。")


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help="出错时显示完整的调用栈（可放在命令行任意位置）"
    ),
) -> None:
    # --debug is read (and removed) by RootGroup.main before parsing; declared here for the help.
    del debug


app.command("quickstart")(cli_main.quickstart)
app.command("tick")(cli_service.tick_cmd)
app.command("serve")(cli_service.serve_cmd)
app.command("status")(cli_service.status_cmd)
app.command("doctor")(cli_service.doctor_cmd)
app.command("web")(cli_web.web_cmd)
app.command("import")(cli_plan.import_cmd)
app.command("simulate")(cli_simulate.simulate_cmd)
app.command("digest")(cli_digest.digest_cmd)
app.command("rollcall")(cli_digest.rollcall_cmd)
cli_plan.app.command("activate")(cli_activate.activate_cmd)
app.add_typer(cli_plan.app, name="plan", help="计划：列出、查看、审核表导出/读回、待补充单位。")
app.add_typer(cli_db.app, name="db", help="数据库：迁移与版本。")
app.add_typer(cli_units.app, name="units", help="单位目录：导入、列出、查看。")
app.add_typer(
    cli_office.obligations,
    name="obligation",
    help="义务：列出、报送、验收、退回、延期、免除、记录。",
)
app.add_typer(cli_office.queue, name="queue", help="办公室督办队列：列出、认领、备注、办结。")
app.add_typer(cli_users.users, name="users", help="控制台账号：新建、列出、改密码、解锁、停用。")
app.add_typer(cli_users.portal, name="portal", help="单位门户链接：生成、停用。")
cli_notify.notify_app.command("failed")(cli_resend.failed_cmd)
cli_notify.notify_app.command("resend")(cli_resend.resend_cmd)
app.add_typer(
    cli_notify.notify_app,
    name="notify",
    help="消息发送：测试渠道、列出发送失败的消息、修复后重发。",
)
app.add_typer(
    cli_report.report, name="report", help="通报与任务清单：月度通报数据、草稿、修改、审定。"
)
app.add_typer(cli_notify.templates_app, name="templates", help="消息模板：检查办公室自定义的模板。")


def main() -> None:
    """Console entry point (errors become one `错误:` line: see duban/cli/zh.py)."""
    app()
