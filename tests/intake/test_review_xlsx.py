"""The review spreadsheet: exact round trip, header by name, the editing rules, clear errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest

from intake import ParsedMilestone, ParsedPlan, parse_path, parse_text
from intake.errors import IntakeError
from intake.review_format import describe_rrule, format_milestone, split_units
from intake.review_xlsx import COLUMNS, ReviewError, export_review, read_review, read_review_plan_id
from tests.conftest import EXAMPLES

SMALL = """示范区2024年安全生产测试计划

1. 开展专项检查。3月底前完成全区检查。（区应急局、区新设局）
2. 组织隐患排查。每月26日前报送排查情况。（责任单位：区新设局；配合单位：各有关企业、各街镇）
3. 加强宣传教育。持续开展安全宣传。（区委宣传部）
"""


def _plan() -> ParsedPlan:
    return parse_text(SMALL, name="small.txt")


def _export(tmp_path: Path, parsed: ParsedPlan | None = None) -> Path:
    path = tmp_path / "review.xlsx"
    export_review(parsed or _plan(), path, plan_id=7)
    return path


def _edit(path: Path, edits: dict[tuple[int, str], object]) -> Path:
    """Set cells of sheet 任务 by (row, column name), as a user in Excel would."""
    wb = openpyxl.load_workbook(path)
    ws = wb["任务"]
    header = [c.value for c in ws[1]]
    for (row, column), value in edits.items():
        ws.cell(row=row, column=header.index(column) + 1).value = value  # None clears
    out = path.with_name("edited.xlsx")
    wb.save(out)
    return out


def _sample_plans() -> list[Path]:
    return sorted((EXAMPLES / "plans").glob("*.*"))


@pytest.mark.parametrize("path", _sample_plans(), ids=lambda p: p.name)
def test_it_round_trips_the_example_plans_exactly(tmp_path: Path, path: Path) -> None:
    parsed = parse_path(path)
    back = read_review(_export(tmp_path, parsed))
    assert back.meta == parsed.meta
    assert [t.to_dict() for t in back.tasks] == [t.to_dict() for t in parsed.tasks]


def test_it_round_trips_the_seed_plans_exactly(tmp_path: Path, seeds_dir: Path) -> None:
    seeds = sorted(seeds_dir.glob("*.txt"))
    assert seeds
    for seed in seeds:
        parsed = parse_path(seed)
        back = read_review(_export(tmp_path, parsed))
        assert back.meta == parsed.meta, seed.name
        assert [t.to_dict() for t in back.tasks] == [t.to_dict() for t in parsed.tasks], seed.name


def test_it_writes_the_columns_and_metadata_the_office_reads(tmp_path: Path) -> None:
    path = _export(tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["任务"]
    assert tuple(c.value for c in ws[1]) == COLUMNS
    row = {h: c.value for h, c in zip(COLUMNS, ws[3], strict=True)}
    assert row["序号"] == "2" and row["责任单位"] == "区新设局"
    assert row["配合单位"] == "各有关企业、各街镇"
    assert row["时间节点"] == "每月26日前"
    assert (
        row["里程碑"] == "每月26日 FREQ=MONTHLY;BYMONTHDAY=26 2024-01-26~2024-12-31（每月26日前）"
    )
    assert ws.cell(row=4, column=8).value == "2024-12-31（默认）"
    meta = {r[0].value: r[1].value for r in wb["计划"].iter_rows(min_row=2)}
    assert meta["标题"] == "示范区2024年安全生产测试计划" and meta["年度"] == 2024
    assert read_review_plan_id(path) == 7
    assert wb["_原始"].sheet_state == "hidden"


def test_it_finds_the_header_by_name_when_columns_are_reordered(tmp_path: Path) -> None:
    path = _export(tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["任务"]
    ws.insert_rows(1)  # a title row above the header
    ws["A1"] = "示范区计划审核表"
    ws.move_range("H2:H5", cols=3)  # 里程碑 moved after 任务内容
    wb.save(path)
    back = read_review(path)
    assert [t.to_dict() for t in back.tasks] == [t.to_dict() for t in _plan().tasks]


def _due(m: ParsedMilestone) -> date | str | None:
    return m.rrule or m.due


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        # an edited 里程碑 cell wins
        ({"里程碑": "2024-05-31（3月底前）"}, [(date(2024, 5, 31), "3月底前", False)]),
        # both edited: still the 里程碑 cell
        ({"里程碑": "2024-06-30", "时间节点": "9月"}, [(date(2024, 6, 30), "", False)]),
        # only 时间节点 edited: re-read as a time phrase
        ({"时间节点": "4月中旬"}, [(date(2024, 4, 20), "4月中旬", False)]),
        # a plain phrase in 里程碑 is read like the plan's words
        ({"里程碑": "5月底前"}, [(date(2024, 5, 31), "5月底前", False)]),
        # two lines, the second a recurrence
        (
            {
                "里程碑": "2024-03-31（3月底前）\n每季度末 FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1 2024-03-31~2024-12-31"
            },
            [
                (date(2024, 3, 31), "3月底前", False),
                ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1", "", False),
            ],
        ),
        # 里程碑 cleared: the 时间节点 text is read again
        ({"里程碑": None}, [(date(2024, 3, 31), "3月底前", False)]),
        # both cleared: the plan year's end, marked defaulted
        ({"里程碑": None, "时间节点": None}, [(date(2024, 12, 31), "", True)]),
        # a date Excel turned into a real date cell
        ({"里程碑": date(2024, 7, 15)}, [(date(2024, 7, 15), "", False)]),
    ],
)
def test_it_applies_the_editing_rules(
    tmp_path: Path, edits: dict[str, object], expected: list[tuple[object, str, bool]]
) -> None:
    path = _edit(_export(tmp_path), {(2, k): v for k, v in edits.items()})
    task = read_review(path).tasks[0]
    assert [(_due(m), m.source_text, m.due_is_default) for m in task.milestones] == expected
    assert task.milestones[0].label == "3月底前完成全区检查"  # the label survives the edit
    assert read_review(path).tasks[1:] == _plan().tasks[1:]


def test_it_reads_units_and_new_rows(tmp_path: Path) -> None:
    path = _edit(
        _export(tmp_path),
        {
            (2, "责任单位"): "区应急局，区房管局\n区新设局",
            (5, "序号"): 4,
            (5, "任务"): "新增任务",
            (5, "时间节点"): "10月底前",
        },
    )
    back = read_review(path)
    assert back.tasks[0].lead_units == ["区应急局", "区房管局", "区新设局"]
    new = back.tasks[3]
    assert (new.ref, new.title, new.lead_units) == ("4", "新增任务", [])
    assert [(m.due, m.label) for m in new.milestones] == [(date(2024, 10, 31), "新增任务")]


@pytest.mark.parametrize(
    ("edits", "row", "column", "words"),
    [
        ({(3, "里程碑"): "下周看情况"}, 3, "里程碑", "无法识别"),
        ({(2, "里程碑"): "2024-02-30（3月底前）"}, 2, "里程碑", "不存在的日期"),
        (
            {(2, "里程碑"): "每月 FREQ=MONTHLY;BYFOO=3 2024-01-01~2024-12-31"},
            2,
            "里程碑",
            "重复规则",
        ),
        ({(2, "时间节点"): "视工作进展而定的某天"}, 2, "时间节点", "无法识别"),
        ({(3, "序号"): "1"}, 3, "序号", "重复"),
        ({(4, "序号"): None}, 4, "序号", "序号为空"),
        ({(2, "任务"): None}, 2, "任务", "任务为空"),
    ],
)
def test_it_names_sheet_row_and_column_of_a_bad_cell(
    tmp_path: Path, edits: dict[tuple[int, str], object], row: int, column: str, words: str
) -> None:
    path = _edit(_export(tmp_path), edits)
    with pytest.raises(ReviewError) as info:
        read_review(path)
    message = str(info.value)
    assert str(path) in message and "工作表“任务”" in message
    assert f"第 {row} 行" in message and f"“{column}”列" in message and words in message


def test_it_refuses_bad_metadata_and_missing_parts(tmp_path: Path) -> None:
    path = _export(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb["计划"]["B6"] = "二〇二四"  # 年度
    wb.save(path)
    with pytest.raises(ReviewError, match=r"工作表“计划” 第 6 行 “内容”列：年度“二〇二四”不是整数"):
        read_review(path)
    wb = openpyxl.load_workbook(_export(tmp_path))
    wb["任务"].delete_cols(5)  # 责任单位
    wb.save(path)
    with pytest.raises(ReviewError, match="缺少列：责任单位"):
        read_review(path)
    del wb["任务"]
    wb.save(path)
    with pytest.raises(ReviewError, match="缺少工作表“任务”"):
        read_review(path)


def test_it_refuses_a_file_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "review.xlsx"
    path.write_bytes(b"\x00\x01 not a zip")
    with pytest.raises(IntakeError, match=r"review\.xlsx：无法打开 Excel 文件"):
        read_review(path)


@pytest.mark.parametrize(
    ("rule", "name"),
    [
        ("FREQ=MONTHLY;BYMONTHDAY=26", "每月26日"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", "每月月底"),
        ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1", "每季度末"),
        ("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=-1", "每半年末"),
        ("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31", "每年12月31日"),
        ("FREQ=WEEKLY;BYDAY=FR", "每周五"),
        ("FREQ=DAILY", "每天"),
    ],
)
def test_it_names_recurrences_for_people(rule: str, name: str) -> None:
    assert describe_rrule(rule) == name


def test_it_formats_a_defaulted_deadline_with_the_words_it_stands_for() -> None:
    m = ParsedMilestone(
        label="x", source_text="不夜城商厦", due=date(2017, 12, 31), due_is_default=True
    )
    assert format_milestone(m) == "2017-12-31（默认：不夜城商厦）"
    assert split_units("区应急局、 区房管局；区应急局") == ["区应急局", "区房管局"]
