"""`duban simulate PLAN`: dry-run the reminder engine over a plan's period (nothing is sent or stored).

The work is in duban/simulation.py, imported when the command runs (it needs the ORM and the
engine; `duban --help` must not).
"""

from __future__ import annotations

from datetime import date

import typer

from duban.cli.common import date_option, json_option


def simulate_cmd(
    plan: str = typer.Argument(
        ..., metavar="计划", help="计划编号（草稿或执行中），或计划文件路径"
    ),
    date_from: date = date_option("--from", help="模拟起始日（默认计划起始日）"),
    date_to: date = date_option("--to", help="模拟结束日（默认计划期末）"),
    submit_rate: float = typer.Option(
        0.7, "--submit-rate", metavar="比例", help="按时报送的单位比例（0 到 1），0 表示无人报送"
    ),
    seed: int = typer.Option(0, "--seed", metavar="整数", help="随机种子（同一种子结果相同）"),
    as_json: bool = json_option(),
) -> None:
    """模拟计划执行：按模拟时钟逐日列出提醒、催办、督办、通报（不发送任何消息，不保存任何数据）。"""
    from duban.cli.simulation import run_simulation

    run_simulation(plan, date_from, date_to, submit_rate, seed, as_json)
