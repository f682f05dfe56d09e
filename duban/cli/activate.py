"""`duban plan activate ID`: draft → active; obligations materialised, the chase starts."""

from __future__ import annotations

import typer

from duban import runtime
from duban.cli.common import fail, id_argument


def activate_cmd(
    plan_id: int = id_argument("计划编号"),
    allow_unowned: bool = typer.Option(
        False, "--allow-unowned", help="有时限的任务没有责任单位时仍然启用（记入审计日志）"
    ),
) -> None:
    """启用计划：生成全部义务（节点 × 单位），开始提醒与催办；启用时已过期的节点进入“待确认”清单。

    有时限却没有责任单位的任务会让该时限无人被催办：此时拒绝启用，除非加 --allow-unowned。
    """
    from duban.cli.plan_views import UNOWNED_HINT, unowned_lines
    from flows.context import flow_context
    from intake.model import unowned_items
    from models.repo.audit import record_event
    from models.repo.obligations import activate_plan
    from models.repo.plans import PlanError, load_parsed

    ctx, now = flow_context(), runtime.current_time()
    with runtime.transaction() as session:
        try:
            unowned = unowned_items(load_parsed(session=session, plan_id=plan_id).unowned())
            dated = [t for t in unowned if t["dated"]]
            if dated and not allow_unowned:
                lines = "\n".join(unowned_lines(dated))
                fail(
                    f"计划 {plan_id} 未启用：{lines}\n{UNOWNED_HINT}后再启用，"
                    "或加 --allow-unowned 仍然启用"
                )
            report = activate_plan(
                session=session,
                ctx=ctx,
                plan_id=plan_id,
                now=now,
                actor=runtime.actor(),
                progress=lambda n: typer.echo(f"已生成 {n} 条义务…", err=True),
            )
            if dated:
                refs = [t["ref"] for t in dated]
                record_event(
                    session=session,
                    at=now,
                    actor=runtime.actor(),
                    entity="plan",
                    entity_id=plan_id,
                    action="activated_unowned",
                    reason="--allow-unowned：有时限的任务没有责任单位",
                    data={"tasks": refs},
                )
        except (ValueError, PlanError) as exc:
            fail(str(exc))
    typer.echo(
        f"计划 {plan_id} 已启用：生成义务 {report.created} 条，其中启用时已过期、待办公室确认 {report.to_confirm} 条"
    )
    for line in unowned_lines(unowned):
        typer.echo(f"  {line}")
    from models.repo.plan_parties import list_pending

    with runtime.transaction() as session:
        leaders = list_pending(session=session, plan_id=plan_id).leaders
    if leaders:
        typer.echo(
            f"警告: 领导 {'、'.join(leaders)} 在单位目录中待补充，报领导的督办事项与每周简报暂时无人可收；"
            "在单位目录中补充其联系方式后重新导入，待报的事项会立即补发（duban plan pending "
            f"{plan_id} 列出全部待补充）",
            err=True,
        )
    if report.to_confirm:
        typer.echo(f"  查看待确认清单: duban obligation list --plan {plan_id} --status to_confirm")
    if report.unexpanded:
        typer.echo(
            f"  以下分组在目录中还没有成员，暂未生成义务: {'、'.join(sorted(report.unexpanded))}"
        )
