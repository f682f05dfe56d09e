"""Huge, hostile and malformed input (issue #12): each refused in seconds, named, nothing written.

Each case is the probe that broke before: a .docx/.xlsx zip bomb, YAML "billion laughs" in a
directory and in a policy file, a FIFO or /dev/zero given as a plan, files past the size, row and
task limits, formula cells without a saved value (plan, directory, review sheet), a FREQ=SECONDLY
rule typed into a review sheet, and a huge or special 佐证 file. Limits are settings: the tests set
small ones through the environment, as an office would, so the files stay small.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from models import AuditEvent, Unit
from models.tables import Milestone, Plan, Task
from tests.conftest import EXAMPLES

runner = CliRunner()
POINTS = EXAMPLES / "plans" / "2024_区安全生产工作要点.md"
MB = 1024 * 1024


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _counts() -> dict[str, int]:
    with Session(runtime.engine()) as s:
        return {
            m.__name__: s.exec(select(func.count()).select_from(m)).one()
            for m in (Plan, Task, Milestone, Unit, AuditEvent)
        }


def _refused(*args: str, says: str) -> str:
    """Run a command that must be refused: exit 2, one `错误:` line saying `says`, no row written."""
    runtime.reset()
    _run("db", "upgrade")
    before = _counts()
    code, out, err = _run(*args)
    assert code == 2, f"{args} → {code}\n{out}{err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误: "), err
    assert says in lines[0], lines[0]
    assert "Traceback" not in out + err
    assert _counts() == before
    return lines[0]


def _docx_bomb(path: Path, megabytes: int) -> Path:
    """A valid-looking .docx whose document part inflates to `megabytes` of XML."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with z.open("word/document.xml", "w") as f:
            chunk = b"<w:p><w:r><w:t>" + b"\xe5\xae\x89" * 20000 + b"</w:t></w:r></w:p>"
            for _ in range(megabytes * MB // len(chunk)):
                f.write(chunk)
    return path


def test_a_docx_zip_bomb_is_refused_by_its_compression_ratio(cli_env: Path) -> None:
    bomb = _docx_bomb(cli_env / "bomb.docx", 20)
    assert bomb.stat().st_size < MB  # 20 MB of XML in well under 1 MB
    _refused("import", str(bomb), says="压缩比")


def test_a_package_inflating_past_the_limit_is_refused(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUBAN_MAX_UNZIPPED_MB", "2")
    path = cli_env / "big.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:  # no compression: no ratio alarm
        z.writestr("xl/worksheets/sheet1.xml", os.urandom(3 * MB))
    line = _refused("import", str(path), says="解压后有 3 MB，超过上限 2 MB")
    assert "DUBAN_MAX_UNZIPPED_MB" in line


def test_a_package_with_too_many_parts_is_refused(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUBAN_MAX_ZIP_ENTRIES", "50")
    path = cli_env / "many.docx"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(60):
            z.writestr(f"word/part{i}.xml", "<x/>")
    _refused("import", str(path), says="包含 60 个部件，超过上限 50")


def _laughs(levels: int = 9) -> str:
    text = 'a: &a ["哈","哈","哈","哈","哈","哈","哈","哈","哈"]\n'
    prev = "a"
    for name in "bcdefghijk"[: levels - 1]:
        text += f"{name}: &{name} [{','.join(['*' + prev] * 9)}]\n"
        prev = name
    return text


def test_a_yaml_bomb_in_a_directory_is_refused_naming_its_line(cli_env: Path) -> None:
    path = cli_env / "units.yaml"
    path.write_text(
        _laughs() + "units:\n  - name: 区应急局\ngroups:\n  - {name: 各街镇, members: *i}\n",
        encoding="utf-8",
    )
    line = _refused("units", "import", str(path), says="YAML 炸弹")
    assert "units.yaml" in line and "第 " in line


def test_a_directory_written_by_yaml_dump_with_anchors_still_reads(cli_env: Path) -> None:
    assert "&id001" in (EXAMPLES / "units.yaml").read_text(encoding="utf-8")
    code, _out, err = _run("units", "import", str(EXAMPLES / "units.yaml"))
    assert code == 0, err


def test_a_yaml_bomb_in_a_policy_file_is_refused(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = cli_env / "policy.yaml"
    path.write_text(_laughs() + "default: {}\n", encoding="utf-8")
    monkeypatch.setenv("DUBAN_POLICY_FILE", str(path))
    code, out, err = _run("doctor")
    assert code != 0 and "YAML 炸弹" in out + err and "Traceback" not in out + err


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_special_file_named_as_a_plan_is_refused_at_once(cli_env: Path, kind: str) -> None:
    path = cli_env / "plan.txt"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    _refused("import", str(path), says="不是普通文件")


def test_a_plan_past_the_size_limit_is_refused_before_it_is_read(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUBAN_MAX_TEXT_MB", "1")
    path = cli_env / "huge.txt"
    path.write_text(
        "2024年工作要点\n" + "1. 开展检查，2024年6月底前完成。\n" * 60000, encoding="utf-8"
    )
    assert path.stat().st_size > MB
    _refused("import", str(path), says="文件过大")


def test_a_sheet_past_the_row_limit_is_refused_naming_the_row(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUBAN_MAX_ROWS", "100")
    csv_path = cli_env / "plan.csv"
    rows = ["序号,任务,时间节点,责任单位"] + [
        f"{i},开展检查{i},2024年6月底前,区应急局" for i in range(1, 150)
    ]
    csv_path.write_text("\n".join(rows), encoding="utf-8")
    _refused("import", str(csv_path), says="超过 100 行")
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row.split(","))
    wb.save(cli_env / "plan.xlsx")
    _refused("import", str(cli_env / "plan.xlsx"), says="工作表超过 100 行")
    directory = cli_env / "units.csv"
    directory.write_text("单位\n" + "\n".join(f"单位{i}" for i in range(150)), encoding="utf-8")
    _refused("units", "import", str(directory), says="超过 100 行")


def test_a_plan_past_the_task_limit_is_refused(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUBAN_MAX_TASKS", "10")
    path = cli_env / "plan.txt"
    items = [f"{i}. 开展第{i}项检查，2024年6月底前完成。（区应急局）" for i in range(1, 21)]
    path.write_text("2024年区安全生产工作要点\n" + "\n".join(items), encoding="utf-8")
    _refused("import", str(path), says="识别出 20 项任务，超过一份计划的上限 10")


def _uncached_formula(path: Path, rows: list[list[object]]) -> Path:
    """A workbook as a program writes it: the formula is stored without a computed value."""
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def test_a_formula_without_a_saved_value_is_refused_naming_the_cell(cli_env: Path) -> None:
    plan = _uncached_formula(
        cli_env / "plan.xlsx",
        [
            ["序号", "任务", "时间节点", "责任单位"],
            [1, "开展检查", "2024年6月底前", '=CONCAT("区","应急局")'],
        ],
    )
    _refused("import", str(plan), says="单元格 D2 是公式但没有保存计算结果")
    directory = _uncached_formula(cli_env / "units.xlsx", [["单位", "联系人"], ["区应急局", "=A2"]])
    _refused("units", "import", str(directory), says="单元格 B2 是公式")


def _review_sheet(tmp: Path) -> tuple[str, Path]:
    code, out, err = _run("units", "import", str(EXAMPLES / "units.yaml"))
    assert code == 0, err
    code, out, err = _run("import", str(POINTS), "--json")
    assert code == 0, err
    import json

    plan_id = str(json.loads(out)["plan_id"])
    sheet = tmp / "review.xlsx"
    code, out, err = _run("plan", "export", plan_id, "--xlsx", str(sheet))
    assert code == 0, err
    return plan_id, sheet


def _set_cell(sheet: Path, ref: str, column: str, value: object) -> None:
    wb = openpyxl.load_workbook(sheet)
    ws = wb["任务"]
    header = [c.value for c in ws[1]]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=1).value == ref)
    ws.cell(row=row, column=header.index(column) + 1).value = value
    wb.save(sheet)


def test_a_review_sheet_formula_without_a_value_is_refused(cli_env: Path) -> None:
    plan_id, sheet = _review_sheet(cli_env)
    _set_cell(sheet, "1", "责任单位", '=CONCAT("区","应急局")')
    _refused("plan", "apply", plan_id, str(sheet), says="是公式但没有保存计算结果")


def test_a_review_sheet_rule_activation_would_refuse_is_refused_at_apply(cli_env: Path) -> None:
    plan_id, sheet = _review_sheet(cli_env)
    _set_cell(sheet, "1", "里程碑", "每秒 FREQ=SECONDLY 2024-03-01~2024-12-31")
    line = _refused("plan", "apply", plan_id, str(sheet), says="FREQ")
    assert "SECONDLY" in line and "里程碑" in line


def test_a_review_sheet_past_the_row_limit_is_refused_before_it_is_loaded(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_id, sheet = _review_sheet(cli_env)
    wb = openpyxl.load_workbook(sheet)
    for i in range(300):
        wb["任务"].append([f"x{i}", "多出来的任务"])
    wb.save(sheet)
    monkeypatch.setenv("DUBAN_MAX_ROWS", "200")
    _refused("plan", "apply", plan_id, str(sheet), "--dry-run", says="超过 200 行")
