"""`duban report …` refusals, each one Chinese line naming what was wrong, and the PDF font check."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from duban.cli import app

runner = CliRunner()


def _fails(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code != 0, result.output
    return result.output + (result.stderr or "")


def test_it_refuses_bad_months_plans_files_and_periods(cli_env: Path) -> None:
    assert "月份应为" in _fails("report", "month", "1", "--month", "2024-13")
    assert "没有编号为 7 的计划" in _fails("report", "month", "7", "--month", "2024-03")
    assert "计划应为计划编号或「全部」" in _fails("report", "draft", "甲", "--month", "2024-03")
    assert ".xlsx 或 .pdf" in _fails("report", "ledger", "1", "--out", str(cli_env / "x.csv"))
    assert "请给出 --year" in _fails("report", "assess", "1")
    assert "只能选一种" in _fails("report", "assess", "1", "--year", "2024", "--from", "2024-01-01")
    assert "没有编号为 5 的通报" in _fails("report", "show", "5")
    assert "找不到正文文件" in _fails("report", "edit", "5", "--file", str(cli_env / "无.txt"))
    assert "没有编号为 5 的通报" in _fails("report", "approve", "5")


def test_doctor_and_the_pdf_command_name_a_missing_font(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUBAN_CJK_FONT", str(cli_env / "没有.ttc"))
    out = _fails("doctor")
    assert "[问题] PDF 中文字体: DUBAN_CJK_FONT 指向的字体文件不存在" in out
    monkeypatch.delenv("DUBAN_CJK_FONT")
    from duban.pdf import PdfError, cjk_font_path

    try:
        path = cjk_font_path()
    except PdfError:
        pytest.skip("no CJK font on this machine (.ci/fonts installs one)")
    ok = runner.invoke(app, ["doctor"])
    assert f"[通过] PDF 中文字体: {path}" in ok.output
