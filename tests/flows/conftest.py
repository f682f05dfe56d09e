"""A small office on real parts: SMTP on 127.0.0.1, an HTTP receiver, a plan as a CSV task list."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from flows.context import reset_context
from flows.delivery import reset_pipeline
from models.directory import Unit
from models.tables import Delivery, Obligation, Task
from schedules.clock import OFFICE_TZ
from tests.notify.conftest import SmtpServer, SmtpSink, free_port

UNITS = """
units:
  - name: 区应急局
    kind: department
    contacts:
      - {name: 张三, role: 联络员, email: zhangsan@example.gov.cn}
      - {name: 李四, role: 负责人, email: lisi@example.gov.cn}
    channels:
      - {type: email}
      - {type: webhook, url: "WEBHOOK_URL", secret: "hook-secret-123456"}
  - name: 区建管委
    kind: department
    contacts: [{name: 王五, role: 联络员, email: wangwu@example.gov.cn}]
    channels: [{type: email}]
  - name: 区房管局
    kind: department
    contacts: [{name: 赵六, role: 联络员, email: zhaoliu@example.gov.cn}]
    channels: [{type: email}]
  - name: 甲街道
    kind: street_town
    contacts: [{name: 钱七, role: 联络员, email: qianqi@example.gov.cn}]
    channels: [{type: email}]
  - name: 乙街道
    kind: street_town
    contacts: [{name: 孙八, role: 联络员, email: sunba@example.gov.cn}]
    channels: [{type: email}]
  - name: 张区长
    kind: leader
    contacts: [{name: 张区长, role: 负责人, email: leader@example.gov.cn}]
    channels: [{type: email}]
groups:
  - {name: 各街镇, members: [甲街道, 乙街道]}
"""

PLAN = """序号,任务,时间节点,责任单位,配合单位,区领导
1,开展安全生产大检查,2024年9月26日前,区应急局,区建管委,张区长
2,排查整治燃气隐患,2024年9月26日前,各街镇,,
3,完成老旧小区消防整改,2024年10月8日前,区房管局,,
4,报送重点场所检查台账,2024年9月26日前,各街镇,,
5,报送月度安全生产工作情况,每月26日前,各街镇,,
"""

ACTIVATED = datetime(2024, 9, 2, 9, 0, tzinfo=OFFICE_TZ)
runner = CliRunner()


def run(*args: str) -> str:
    """Run a duban command; fail the test with its output if it fails."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (
        f"duban {' '.join(args)} → {result.exit_code}\n{result.output}{result.stderr}"
    )
    return result.stdout


@dataclass
class Office:
    """The running parts of one test office."""

    home: Path
    smtp: SmtpServer
    hook: HTTPServer
    plan_id: int

    def ob_id(self, task_ref: str, unit: str) -> int:
        """The obligation id of a task for a unit (first occurrence)."""
        with Session(runtime.engine()) as s:
            row = s.exec(
                select(Obligation.id)
                .join(Task, col(Task.id) == col(Obligation.task_id))
                .join(Unit, col(Unit.id) == col(Obligation.unit_id))
                .where(Task.ref == task_ref, Unit.name == unit, Obligation.plan_id == self.plan_id)
                .order_by(col(Obligation.occurrence))
            ).first()
        assert row is not None
        return row

    def deliveries(self, ob_id: int, channel: str = "email") -> list[Delivery]:
        """Delivery rows of one obligation on one channel kind, oldest first."""
        with Session(runtime.engine()) as s:
            return list(
                s.exec(
                    select(Delivery)
                    .where(Delivery.obligation_id == ob_id, Delivery.channel_type == channel)
                    .order_by(col(Delivery.id))
                ).all()
            )


def tick_at(day: date, at: time = time(9, 5), monkeypatch: pytest.MonkeyPatch | None = None) -> str:
    """Run `duban tick --no-periodic` with the clock pinned to `day` `at` (Shanghai): the tick
    alone; tests of the periodic jobs run them (or `duban tick`) themselves."""
    import os

    os.environ["DUBAN_NOW"] = datetime.combine(day, at, tzinfo=OFFICE_TZ).isoformat()
    return run("tick", "--no-periodic", "--json")


def days(start: date, end: date) -> Iterator[date]:
    """Every calendar day from start to end inclusive (make-up working days fall on weekends)."""
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


@pytest.fixture
def office(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer
) -> Iterator[Office]:
    """Directory imported, plan imported and activated on 2024-09-02, channels on 127.0.0.1."""
    smtp = SmtpServer(port=free_port(), sink=SmtpSink())
    smtp.start()
    monkeypatch.setenv("DUBAN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DUBAN_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("DUBAN_SMTP_TLS", "none")
    monkeypatch.setenv("DUBAN_OFFICE_EMAIL", "office@example.gov.cn")
    monkeypatch.setenv("DUBAN_NOW", ACTIVATED.isoformat())
    runtime.reset()
    reset_context()
    reset_pipeline()
    httpserver.expect_request("/hook", method="POST").respond_with_json({"ok": True})
    units = cli_env / "units.yaml"
    units.write_text(UNITS.replace("WEBHOOK_URL", httpserver.url_for("/hook")), encoding="utf-8")
    plan = cli_env / "示例区2024年安全生产重点任务清单.csv"
    plan.write_text(PLAN, encoding="utf-8")
    run("units", "import", str(units))
    out = run("import", str(plan))
    plan_id = int(out.split("草稿计划 ")[1].split("：")[0].split(":")[0].strip())
    run("plan", "activate", str(plan_id))
    yield Office(cli_env, smtp, httpserver, plan_id)
    smtp.stop()
    reset_pipeline()
    reset_context()


@pytest.fixture
def no_progress(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped policy without periodic progress reports, for tests that count the deliveries
    of one ladder (request it before `office`, which activates the plan)."""
    from importlib import resources

    text = resources.files("schedules").joinpath("default_policy.yaml").read_text("utf-8")
    assert "\n  progress: true\n" in text
    policy = cli_env / "no_progress.yaml"
    policy.write_text(text.replace("\n  progress: true\n", "\n  progress: false\n"), "utf-8")
    monkeypatch.setenv("DUBAN_POLICY_FILE", str(policy))
