"""`duban notify test UNIT` and `duban templates check`, through the real CLI."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from tests.notify import fakes

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _directory(tmp: Path, hook_url: str) -> Path:
    path = tmp / "units.yaml"
    path.write_text(
        f"""
units:
  - name: 区市场监管局
    aliases: [市场监管局]
    contacts:
      - {{name: 贺永刚, role: 联络员, email: u006.liaison@example.gov.cn}}
      - {{name: 钱佳怡, role: 负责人, email: u006.head@example.gov.cn}}
    channels:
      - {{type: email}}
      - {{type: webhook, url: "{hook_url}", secret: "hook-secret"}}
  - name: 区建管委
    channels:
      - {{type: email}}
""",
        encoding="utf-8",
    )
    return path


def test_it_sends_a_test_message_through_each_channel(
    cli_env: Path, httpserver: HTTPServer
) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_request("/hook").respond_with_handler(fakes.webhook("hook-secret", seen))
    assert _run("units", "import", str(_directory(cli_env, httpserver.url_for("/hook"))))[0] == 0
    code, out, err = _run("notify", "test", "市场监管局")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[-1] == "区市场监管局: 3 个渠道/收件人，成功 3，失败 0"
    assert sum(line.startswith("成功  email") for line in lines) == 2
    assert seen[0]["subject"].startswith("【测试】")
    emails = sorted((cli_env / "home" / "outbox" / "email").glob("*.eml"))
    assert [e.name.split("-")[0] for e in emails] == [
        "u006.head@example.gov.cn",
        "u006.liaison@example.gov.cn",
    ]
    mail = message_from_bytes(emails[0].read_bytes(), policy=policy.default)
    assert mail["Subject"] == "【测试】安委办督办系统测试消息（区市场监管局）"


def test_it_reports_a_failing_channel_and_exits_non_zero(
    cli_env: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("gone", status=404)
    _run("units", "import", str(_directory(cli_env, httpserver.url_for("/hook"))))
    code, out, _ = _run("notify", "test", "区市场监管局")
    assert code == 1
    assert "失败  webhook" in out and "HTTP 404" in out and "永久性错误" in out


@pytest.mark.parametrize(
    ("unit", "message"),
    [("不存在的局", "目录中没有名为“不存在的局”的单位"), ("区建管委", "没有启用的渠道")],
)
def test_it_explains_why_it_cannot_test(
    cli_env: Path, httpserver: HTTPServer, unit: str, message: str
) -> None:
    _run("units", "import", str(_directory(cli_env, httpserver.url_for("/hook"))))
    code, _, err = _run("notify", "test", unit)
    assert code == 2 and message in err


def test_it_passes_the_shipped_templates(cli_env: Path) -> None:
    code, out, _ = _run("templates", "check")
    assert code == 0 and "内置模板: 检查通过" in out


def test_it_points_at_the_file_and_line_of_a_broken_override(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = cli_env / "tpl"
    folder.mkdir()
    (folder / "chase.text.j2").write_text(
        '{% extends "_layout.text.j2" %}\n{% block intro %}\n请{{ unit.name }}尽快办理\n{% endblock %}\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("DUBAN_TEMPLATES_DIR", str(folder))
    runtime.reset()
    code, _, err = _run("templates", "check")
    assert code == 1
    assert f"{folder / 'chase.text.j2'}:3: UndefinedError: 'unit' is undefined" in err
    assert "发现 1 处错误" in err
