"""`duban plan activate ID`: draft → active; obligations materialised, the chase starts."""

from __future__ import annotations

import typer

from duban import runtime
from duban.cli_common import fail, id_argument


def activate_cmd(plan_id: int = id_argument("计划编号")) -> None:
    """启用计划：生成全部义务（节点 × 单位），开始提醒与催办；启用时已过期的节点进入“待确认”清单。"""
    from flows.context import flow_context
    from models.repo.obligations import activate_plan

    ctx, now = flow_context(), runtime.current_time()
    with runtime.transaction() as session:
        try:
            report = activate_plan(
                session=session, ctx=ctx, plan_id=plan_id, now=now, actor=runtime.actor()
            )
        except ValueError as exc:
            fail(str(exc))
    typer.echo(
        f"计划 {plan_id} 已启用：生成义务 {report.created} 条，其中启用时已过期、待办公室确认 {report.to_confirm} 条"
    )
    if report.to_confirm:
        typer.echo(f"  查看待确认清单: duban obligation list --plan {plan_id} --status to_confirm")
    if report.unexpanded:
        typer.echo(
            f"  以下分组在目录中还没有成员，暂未生成义务: {'、'.join(sorted(report.unexpanded))}"
        )
