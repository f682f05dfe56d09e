"""Files: .csv, .xlsx and .docx written here and read back; bad input gives clear errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import docx
import openpyxl
import pytest

from intake import IntakeError, parse_path, parse_text

HEADER = ["序号", "类别", "任务", "完成时限", "牵头单位", "配合单位"]
ROWS = [
    ["1", "部署发动", "召开动员部署会", "3月底前", "区安委办", ""],
    ["2", "", "制定子方案", "4月中旬", "区应急局牵头，区建管委配合", "各街镇"],
    ["3", "隐患治理", "每月报送进展", "每月26日前", "区安委会签约单位", "/"],
]


def _check_rows(plan_dict: dict[str, object]) -> None:
    tasks = plan_dict["tasks"]
    assert isinstance(tasks, list)
    assert [t["ref"] for t in tasks] == ["1", "2", "3"]
    assert [t["section"] for t in tasks] == [["部署发动"], ["部署发动"], ["隐患治理"]]
    assert tasks[0]["milestones"][0]["due"] == "2024-03-31"
    assert tasks[1]["milestones"][0]["due"] == "2024-04-20"
    assert tasks[1]["lead_units"] == ["区应急局"]
    assert tasks[1]["support_units"] == ["区建管委", "各街镇"]
    assert tasks[2]["milestones"][0]["rrule"] == "FREQ=MONTHLY;BYMONTHDAY=26"
    assert tasks[2]["support_units"] == []


def test_it_reads_csv(tmp_path: Path) -> None:
    path = tmp_path / "2024年任务清单.csv"
    lines = [",".join(HEADER), *(",".join(f'"{c}"' if "，" in c else c for c in r) for r in ROWS)]
    path.write_text("\n".join(lines), encoding="utf-8-sig")
    out = parse_path(path).to_dict()
    _check_rows(out)
    assert out["plan"]["year"] == 2024
    assert [t["line"] for t in out["tasks"]] == [2, 3, 4]


def test_it_reads_gb18030_csv(tmp_path: Path) -> None:
    path = tmp_path / "2024年任务清单.csv"
    path.write_bytes("\n".join(",".join(r) for r in [HEADER, ROWS[0]]).encode("gb18030"))
    assert parse_path(path).tasks[0].lead_units == ["区安委办"]


def test_it_reads_xlsx_with_a_title_row_and_merged_category(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["某某区2024年安全生产工作任务清单"])
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append([int(row[0]), *row[1:]])
    sheet.merge_cells("B3:B4")
    book.save(path)
    out = parse_path(path).to_dict()
    _check_rows(out)
    assert out["plan"]["title"] == "某某区2024年安全生产工作任务清单"
    assert out["plan"]["issuer"] == "某某区安委会"
    assert [t["line"] for t in out["tasks"]] == [3, 4, 5]


def test_it_reads_docx_prose_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "plan.docx"
    document = docx.Document()
    document.add_heading("某某区2024年安全生产工作要点", level=1)
    document.add_paragraph("一、压实责任")
    document.add_paragraph("1. 加强组织领导，6月底前完成培训。（区委办、区应急局）")
    document.add_paragraph("2. 开展专项巡查。（区应急局牵头，区委组织部配合）")
    document.add_paragraph("附件：重点任务清单")
    table = document.add_table(rows=1 + len(ROWS), cols=len(HEADER))
    for r, values in enumerate([HEADER, *ROWS]):
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    document.save(str(path))
    plan = parse_path(path)
    tasks = {t.ref: t for t in plan.tasks}
    assert list(tasks) == ["1", "2", "附件-1", "附件-2", "附件-3"]
    assert tasks["1"].lead_units == ["区委办", "区应急局"]
    assert tasks["1"].milestones[0].due is not None
    assert tasks["2"].support_units == ["区委组织部"]
    assert tasks["附件-2"].support_units == ["区建管委", "各街镇"]
    assert plan.meta.title == "某某区2024年安全生产工作要点"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "文件为空"),
        ("blank.md", b"  \n\n  ", "文件为空"),
        ("binary.txt", b"\x00\x01\x02PK\x03\x04" * 20, "二进制"),
        ("plan.pdf", b"%PDF-1.4", "无法打开 PDF 文件"),
        ("plan.doc", b"\xd0\xcf\x11\xe0", "另存为 .docx"),
        ("plan.wps", b"\xd0\xcf\x11\xe0", "另存为 .docx"),
        ("plan.xls", b"\xd0\xcf\x11\xe0", "另存为 .xlsx"),
        ("page.html", "<html><body><nav>首页</nav></body></html>".encode(), "没有找到正文"),
        ("noext", b"text", "不支持的文件格式"),
        ("latin.txt", b"caf\xe9 cr\xe8me \x80" * 10, "编码"),
        ("broken.xlsx", b"not a zip file", "无法打开 Excel 文件"),
        ("broken.docx", b"not a zip file", "无法打开 Word 文件"),
    ],
)
def test_it_rejects_unusable_files_naming_them(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IntakeError) as caught:
        parse_path(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_it_rejects_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IntakeError, match="文件不存在"):
        parse_path(tmp_path / "nope.txt")


def test_it_rejects_a_table_without_a_recognisable_header(tmp_path: Path) -> None:
    path = tmp_path / "2024.csv"
    path.write_text("甲,乙,丙\n1,2,3\n4,5,6\n", encoding="utf-8")
    with pytest.raises(IntakeError) as caught:
        parse_path(path)
    assert "表头" in str(caught.value)
    assert "第 1 行" in str(caught.value)


def test_it_rejects_text_without_tasks() -> None:
    text = "某某区2024年安全生产工作意见\n\n今年要继续做好安全生产工作。\n"
    with pytest.raises(IntakeError, match="没有找到任何任务") as caught:
        parse_text(text, name="意见.txt")
    assert str(caught.value).startswith("意见.txt")


def test_a_plan_without_any_year_is_read_in_the_import_year_and_flagged() -> None:
    text = "安全生产工作意见\n\n1. 开展检查。（区应急局）\n2. 3月底前完成评估。（区建管委）\n"
    plan = parse_text(text, name="意见.txt", today=date(2031, 5, 6))
    assert plan.meta.year == 2031
    assert plan.tasks[1].milestones[0].due == date(2031, 3, 31)
    assert "没有任何年份" in plan.warnings[0].message
    assert "2031" in plan.warnings[0].message


def test_a_year_from_the_body_names_its_line_for_review() -> None:
    text = "安全生产工作意见\n\n1. 开展检查。（区应急局）\n2. 2016年底前完成评估。（区建管委）\n"
    plan = parse_text(text, name="意见.txt")
    assert plan.meta.year == 2016
    note = plan.warnings[0]
    assert note.line == 4 and "取自正文第 4 行" in note.message
    assert "2016年底前" in note.text


def test_it_names_the_line_of_an_impossible_date() -> None:
    text = "某某区2024年安全生产工作意见\n\n1. 开展检查。（区应急局）\n\n2. 2月30日前完成评估。（区建管委）\n"
    with pytest.raises(IntakeError) as caught:
        parse_text(text, name="意见.txt")
    assert str(caught.value).startswith("意见.txt 第 5 行：")
    assert "2月30日" in str(caught.value)


def test_it_names_the_row_of_an_impossible_date_in_a_table(tmp_path: Path) -> None:
    path = tmp_path / "2024.csv"
    path.write_text("序号,任务,完成时限\n1,检查,3月底前\n2,评估,4月31日前\n", encoding="utf-8")
    with pytest.raises(IntakeError, match="第 3 行"):
        parse_path(path)
