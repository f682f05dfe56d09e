"""Chinese everywhere a clerk reads: every help page, the directory's values, the errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from duban.cli import app
from duban.cli.common import InputError, format_duration, parse_date
from duban.directory import DirectoryError, load_directory
from duban.labels import CHANNEL_LABEL, UNIT_KIND_LABEL
from models.directory import CHANNEL_TYPES, UNIT_KINDS

CJK = re.compile(r"[\u4e00-\u9fff]")
CLICK_ENGLISH = (
    "Usage",
    "Options",
    "Arguments",
    "Commands",
    "Show this",
    "required",
    "default",
    "Error",
)


def _paths(command: typer.core.TyperGroup, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, sub in command.commands.items():
        if hasattr(sub, "commands"):
            out += _paths(sub, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


def test_it_has_no_english_line_in_any_help_page() -> None:
    paths = _paths(typer.main.get_command(app))  # type: ignore[arg-type]
    assert len(paths) > 30 and ("queue", "list") in paths
    for path in paths:
        result = CliRunner().invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "用法: duban" in result.stdout and "显示本帮助并退出" in result.stdout
        if path and path[-1] in ("queue", "obligation", "plan", "units", "notify", "db"):
            assert "命令:" in result.stdout, path  # a group lists its commands
        for line in result.stdout.splitlines():
            if line.strip():
                assert CJK.search(line), f"duban {' '.join(path)} --help: {line!r}"
            assert not any(w in line for w in CLICK_ENGLISH), f"{path}: {line!r}"
            assert not re.search(r"<[a-z ]+>", line), f"{path}: a Python type shown: {line!r}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["obligation", "lst"], "没有命令“lst”（可用: list、"),
        (["obligation", "list", "--plan"], "选项 --plan 后面需要一个值"),
        (["obligation", "list", "--json", "x"], "多余的参数: x"),
        (["obligation", "history", "abc"], "参数 编号 的值无效: 应为正整数编号"),
        (["simulate", "1", "--submit-rate", "abc"], "选项 --submit-rate 的值无效: 应为数字"),
    ],
)
def test_it_reports_usage_errors_in_one_chinese_line(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.startswith("错误: ") and result.stderr.count("\n") == 1
    assert expected in result.stderr, result.stderr


def test_it_reads_dates_written_three_ways() -> None:
    for text in ("2024-10-31", "2024/10/31", "2024年10月31日", "2024.10.31", "2024年10月31"):
        assert parse_date(text).isoformat() == "2024-10-31"
    assert parse_date("2024/1/5").isoformat() == "2024-01-05"
    for bad in ("2024-13-01", "10/31/2024", "明天", ""):
        with pytest.raises(InputError, match="应为日期"):
            parse_date(bad, "--to")


def test_it_says_durations_in_days_and_hours() -> None:
    assert format_duration(80764230) == "934 天 18 小时"
    assert format_duration(3 * 86400) == "3 天"
    assert format_duration(5 * 3600 + 12 * 60) == "5 小时 12 分钟"
    assert format_duration(59) == "不到 1 分钟"


def test_it_names_every_kind_and_channel_in_chinese() -> None:
    assert tuple(UNIT_KIND_LABEL) == UNIT_KINDS and tuple(CHANNEL_LABEL) == CHANNEL_TYPES


def test_it_accepts_chinese_kinds_and_channels_in_a_csv_directory(tmp_path: Path) -> None:
    csv = tmp_path / "units.csv"
    csv.write_text(
        "单位,类型,联系人,角色,邮箱,渠道,渠道地址\n"
        "张区长,领导,张区长,负责人,leader@example.gov.cn,邮件,\n"
        "甲街道,街镇,钱七,联络员,qianqi@example.gov.cn,钉钉,https://oapi.dingtalk.com/robot/send?access_token=T\n"
        "区安委办,办公室,值班员,联络员,office@example.gov.cn,email,\n",
        encoding="utf-8",
    )
    spec = load_directory(csv)
    assert [(u.name, u.kind, [c.type for c in u.channels]) for u in spec.units] == [
        ("张区长", "leader", ["email"]),
        ("甲街道", "street_town", ["dingtalk"]),
        ("区安委办", "office", ["email"]),
    ]


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        (
            "units:\n- {name: 区应急局, kind: department}\n- {name: 区应急局, kind: department}\n",
            "单位“区应急局”重复出现（第一次在第 2 行",
        ),
        (
            'units:\n- name: 区应急局\n  channels: [{type: webhook, url: "http://x.example/h", enabled: "no way"}]\n',
            "enabled 应为 true 或 false",
        ),
        (
            "units:\n- {name: 区应急局, kind: 部委}\n",
            "可选: 部门（department）、街镇（street_town）",
        ),
    ],
)
def test_it_refuses_what_would_change_the_directory_silently(
    tmp_path: Path, yaml: str, message: str
) -> None:
    path = tmp_path / "units.yaml"
    path.write_text(yaml, encoding="utf-8")
    with pytest.raises(DirectoryError, match=re.escape(message)):
        load_directory(path)


def test_it_reads_a_quoted_false_as_false(tmp_path: Path) -> None:
    path = tmp_path / "units.yaml"
    path.write_text(
        'units:\n- name: 区应急局\n  channels: [{type: 网络钩子, url: "http://x.example/h", enabled: "false"}]\n',
        encoding="utf-8",
    )
    [unit] = load_directory(path).units
    assert unit.channels[0].type == "webhook" and unit.channels[0].enabled is False


def test_it_names_every_engine_reason_and_audit_action_in_chinese() -> None:
    from duban.office_views import AUDIT_ACTIONS, REASON_LABEL
    from schedules.machine import Event
    from schedules.obligation import Reason

    assert {r.value for r in Reason} - {"none", "waiting"} <= set(REASON_LABEL)
    assert {e.value for e in Event} <= set(AUDIT_ACTIONS)
    assert all(CJK.search(label) for label in [*REASON_LABEL.values(), *AUDIT_ACTIONS.values()])
