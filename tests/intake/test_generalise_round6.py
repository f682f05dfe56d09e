"""Rules found on held-out round 6 (tests/intake/corpus/heldout s13–s21), each held by a case
written here from the rule, not copied from one plan."""

from __future__ import annotations

from intake import parse_text


def _plan(text: str) -> dict:
    return parse_text(text, name="任务表.txt").to_dict()


def _bars(*rows: list[str]) -> str:
    """A table copied with "|" alone on a line before each cell, two bars ending a row."""
    lines = []
    for row in rows:
        for cell in row:
            lines += ["|", cell]
        lines.append("|")
    return "\n".join(lines) + "\n"


def test_a_table_with_a_bar_alone_between_cells_is_read_row_by_row() -> None:
    text = "某区2023年重点工作任务分解\n" + _bars(
        ["序号", "工作任务", "负责部门", "时间进度"],
        ["1", "完成设施普查", "区建设局、区财政局,各街道办事处", "2023 年底前"],
        ["2", "健全巡查机制", "区城管执法局、区供销社", "常态工作"],
    )
    tasks = _plan(text)["tasks"]
    assert [t["title"] for t in tasks] == ["完成设施普查", "健全巡查机制"]
    assert tasks[0]["lead_units"] == ["区建设局", "区财政局", "各街道办事处"]
    assert tasks[1]["lead_units"] == ["区城管执法局", "区供销社"]  # 社 ends a name
    assert tasks[0]["milestones"][0]["due"] == "2023-12-31"


def test_the_year_of_a_table_with_no_title_comes_from_its_times_and_is_flagged() -> None:
    text = _bars(
        ["序号", "工作任务", "负责部门", "时间进度"],
        ["1", "完成设施普查", "区建设局", "2019 年 10 月底前"],
        ["2", "健全巡查机制", "区城管执法局", "常态工作"],
    )
    plan = _plan(text)
    assert plan["plan"]["year"] == 2019
    assert "取自正文" in plan["warnings"][0]["message"]
    assert plan["tasks"][0]["milestones"][0]["due"] == "2019-10-31"
