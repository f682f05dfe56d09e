"""Every format reads into the same document: PDF (reportlab-written), HTML pages, encodings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from intake import IntakeError, parse_path, parse_text
from intake.importer import read_document
from intake.text import TableBlock
from tests.conftest import EXAMPLES

POINTS = EXAMPLES / "plans" / "2024_区安全生产工作要点.md"
TABLE = [
    ["序号", "重点任务", "责任单位", "配合单位", "完成时限"],
    ["1", "开展消防安全专项检查", "区消防救援支队", "各街镇", "6月底前"],
    ["2", "组织危化品企业应急演练", "区应急局", "", "每季度"],
]


def _plain_lines(path: Path) -> tuple[list[str], list[list[str]]]:
    """The example's text as a person reads it (Markdown marks and rules dropped), and its
    annexed table's rows (tab-separated, last in the file)."""
    lines: list[str] = []
    table: list[list[str]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        text = re.sub(r"\*\*|^#+\s*", "", raw.strip())
        if "\t" in text:
            table.append([c.strip() for c in raw.split("\t")])
        elif text and text != "---":
            lines.append(text)
    return lines, table


def _summary(path: Path) -> list[tuple[str, list[str], list[str], list[str | None]]]:
    plan = parse_path(path)
    return [
        (t.ref, t.lead_units, t.support_units, [m.due and m.due.isoformat() for m in t.milestones])
        for t in plan.tasks
    ]


def _write_pdf(path: Path, lines: list[str], table: list[list[str]] | None = None) -> None:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle("cn", fontName="STSong-Light", fontSize=11, leading=16, wordWrap="CJK")
    story: list[object] = [Paragraph(line, style) for line in lines]
    if table:
        grid = Table([[Paragraph(c, style) for c in row] for row in table])
        grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
        story.append(grid)
    SimpleDocTemplate(str(path), pagesize=A4).build(story)


def test_it_reads_a_pdf_as_the_same_plan_as_its_text(tmp_path: Path) -> None:
    pdf = tmp_path / "要点.pdf"
    _write_pdf(pdf, *_plain_lines(POINTS))  # lines wrap and pages break as in a real PDF
    assert _summary(pdf) == _summary(POINTS)
    assert parse_path(pdf).meta == parse_path(POINTS).meta


def test_it_reads_a_ruled_pdf_table_as_a_table(tmp_path: Path) -> None:
    pdf = tmp_path / "清单.pdf"
    _write_pdf(pdf, ["某区2024年安全生产重点任务清单"], TABLE)
    tables = read_document(pdf).tables
    assert [r.cells for r in tables[0].rows] == TABLE
    tasks = {t.ref: t for t in parse_path(pdf).tasks}
    assert tasks["1"].lead_units == ["区消防救援支队"] and tasks["1"].support_units == ["各街镇"]
    assert str(tasks["1"].milestones[0].due) == "2024-06-30"
    assert tasks["2"].milestones[0].rrule and "INTERVAL=3" in tasks["2"].milestones[0].rrule


def test_it_refuses_a_scanned_pdf_saying_why(tmp_path: Path) -> None:
    pdf = tmp_path / "扫描件.pdf"
    page = canvas.Canvas(str(pdf), pagesize=A4)
    page.rect(100, 100, 300, 500, fill=1)  # a picture of a page, no text layer
    page.showPage()
    page.save()
    with pytest.raises(IntakeError) as caught:
        parse_path(pdf)
    assert "扫描件" in str(caught.value) and str(pdf) in str(caught.value)


PAGE = """<!DOCTYPE html><html><head><meta charset="{charset}">
<title>{title} - 示范区人民政府</title><script>var x = "1. 不是任务（区应急局）";</script></head>
<body><div class="header"><ul class="nav"><li><a href="/">首页</a></li><li><a>政务公开</a></li></ul></div>
<div class="crumb">当前位置：<a>首页</a> &gt; <a>通知公告</a></div>
<div class="main"><h1>{title}</h1><div class="info">发布时间：2024-02-26 来源：区应急局</div>
<div id="zoom" class="TRS_Editor">{body}</div>
<div class="share">分享到：微信 微博</div></div>
<div class="footer">主办：示范区人民政府办公室 沪ICP备000000号</div></body></html>
"""


def _html(lines: list[str], table: list[list[str]] | None = None, charset: str = "utf-8") -> str:
    body = "".join(f"<p style='text-indent:2em'>{line}</p>\n" for line in lines)
    if table:
        rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in table)
        body += f"<table border='1'><tbody>{rows}</tbody></table>"
    return PAGE.format(title="示范区2024年安全生产工作要点", body=body, charset=charset)


def test_it_reads_a_saved_government_page_as_the_same_plan_as_its_text(tmp_path: Path) -> None:
    page = tmp_path / "要点.html"
    page.write_text(_html(*_plain_lines(POINTS)), encoding="utf-8")
    assert _summary(page) == _summary(POINTS)
    text = " ".join(b.text for b in read_document(page).blocks if not isinstance(b, TableBlock))
    assert "首页" not in text and "分享到" not in text and "ICP" not in text and "var x" not in text


def test_it_reads_an_html_table_with_merged_cells_as_rows(tmp_path: Path) -> None:
    merged = """<table><tr><th>序号</th><th>重点任务</th><th>责任单位</th><th>完成时限</th></tr>
    <tr><td>1</td><td>开展消防检查</td><td rowspan="2">区消防救援支队</td><td>6月底前</td></tr>
    <tr><td>2</td><td>开展电动车整治</td><td>9月底前</td></tr></table>"""
    page = tmp_path / "清单.htm"
    html = PAGE.format(title="示范区2024年重点任务清单", body=merged, charset="gb2312")
    page.write_bytes(html.encode("gb2312"))
    tasks = {t.ref: t for t in parse_path(page).tasks}
    assert tasks["2"].lead_units == ["区消防救援支队"]
    assert str(tasks["2"].milestones[0].due) == "2024-09-30"


SMALL = "某区2024年安全生产工作要点\n1. 开展专项检查。3月底前完成全区检查。（区应急局、各街镇）\n"


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "gbk", "gb18030"]
)
def test_it_detects_the_encoding_from_the_bytes(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "plan.txt"
    path.write_bytes(SMALL.encode(encoding))
    (task,) = parse_path(path).tasks
    assert task.lead_units == ["区应急局", "各街镇"] and str(task.milestones[0].due) == "2024-03-31"


def test_it_reads_a_markdown_file_saved_in_gbk_whatever_its_extension(tmp_path: Path) -> None:
    path = tmp_path / "plan.md"
    path.write_bytes(POINTS.read_text(encoding="utf-8").encode("gb18030"))
    assert _summary(path) == _summary(POINTS)


def test_it_reads_a_traditional_script_plan_as_simplified(tmp_path: Path) -> None:
    path = tmp_path / "plan.txt"
    text = (
        "某區2024年安全生產工作要點\n1. 開展專項檢查。3月底前完成全區檢查。（區應急局、各街鎮）\n"
    )
    path.write_bytes(text.encode("big5"))
    (task,) = parse_path(path).tasks
    assert task.lead_units == ["区应急局", "各街镇"] and str(task.milestones[0].due) == "2024-03-31"


def test_it_reads_a_word_table_with_a_vertically_merged_cell(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("示范区2024年安全生产重点任务清单")
    table = document.add_table(rows=3, cols=4)
    for row, cells in enumerate(
        [["序号", "重点任务", "责任单位", "完成时限"], ["1", "开展消防检查", "", "6月底前"]]
    ):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    table.cell(2, 0).text, table.cell(2, 1).text, table.cell(2, 3).text = (
        "2",
        "整治电动车",
        "9月底前",
    )
    table.cell(1, 2).merge(table.cell(2, 2)).text = "区消防救援支队"
    path = tmp_path / "清单.docx"
    document.save(str(path))
    tasks = {t.ref: t for t in parse_path(path).tasks}
    assert tasks["2"].lead_units == ["区消防救援支队"]


COPIED_TABLES = """示范区2024年安全生产重点任务清单
主要任务 |
重点工作和要求 |
责任单位 |
完成时限 |
一、部署 |
||||
(一)制定清单。 |
1.制定全区任务清单。 |
区安委办 (工作专班办公室) |
1月20日前 |
|
2.制定行业任务清单。 |
区建管委 |
2月10日前 |
|

附表
专项整治行业名称 | 时间安排 | 责任单位 |
烟花爆竹 | 1月份 | 区应急局 区公安分局 |
"""


def test_it_reads_tables_copied_from_web_pages() -> None:
    plan = parse_text(COPIED_TABLES, name="t.txt")
    got = [
        (t.title, t.text[:8], t.lead_units, [str(m.due) for m in t.milestones]) for t in plan.tasks
    ]
    assert got[0] == ("(一)制定清单", "1.制定全区任务", ["区安委办"], ["2024-01-20"])
    assert got[1][0] == "(一)制定清单" and got[1][2:] == (["区建管委"], ["2024-02-10"])  # merged
    assert got[2][:1] == ("烟花爆竹",) and got[2][2:] == (
        ["区应急局", "区公安分局"],
        ["2024-01-31"],
    )
