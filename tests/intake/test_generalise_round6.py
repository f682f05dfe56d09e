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


def test_pipe_debris_around_running_text_is_prose_and_subsections_run_inside_it() -> None:
    text = (
        "|\n[接上页] (五) 加强信息报送 区领导小组办公室要确定专人负责信息报送。 三、时间安排 "
        "(一)部署阶段(5月) 各镇(街道)工作组制定具体实施方案。 (二)督查阶段(8月-11月) "
        "区领导小组组成督查组开展督查。 (三)总结阶段(11月) 各镇(街道)于10月30日前报送"
        "2019年工作总结。 |\n"
    )
    tasks = _plan(text)["tasks"]
    assert [t["ref"] for t in tasks] == ["(五)", "三、(一)", "三、(二)", "三、(三)"]
    assert tasks[1]["lead_units"] == ["各镇(街道)工作组"]  # subject after a bracketed time
    assert tasks[2]["lead_units"] == ["区领导小组"]  # "…组成督查组"
    assert tasks[3]["lead_units"] == ["各镇(街道)"]  # kinds of place stay in the name
    assert "2019-10-30" in [m["due"] for m in tasks[3]["milestones"]]


def test_a_target_with_a_date_is_no_duty_but_a_dated_deliverable_is() -> None:
    text = (
        "某区消防安全专项整治实施方案\n\n2021年5月6日\n\n"
        "坚持问题导向。集中整治突出风险。2023年底前，全区重大消防安全风险明显减少。\n\n"
        "坚持责任落实。区消防救援支队要于2023年6月底前制定专项检查方案。\n"
    )
    tasks = _plan(text)["tasks"]
    assert len(tasks) == 1
    assert tasks[0]["lead_units"] == ["区消防救援支队"]
    assert [m["due"] for m in tasks[0]["milestones"]] == ["2023-06-30"]


def test_an_empty_subsection_where_the_copy_ends_is_no_task() -> None:
    text = "某区2024年安全生产工作要点\n\n一、强化责任落实\n（一）\n"
    try:
        tasks = _plan(text)["tasks"]
    except Exception as exc:  # the importer says there is nothing to chase
        assert "没有找到任何任务" in str(exc)
    else:
        assert tasks == []


def test_a_principle_is_no_duty_and_a_government_and_its_headquarters_are_two_units() -> None:
    text = (
        "某市2019年防汛工作意见\n\n（二）落实防汛责任制\n实行行政首长负责，各有关部门和单位分工负责，"
        "是搞好防汛工作的关键。各级人民政府和防汛抗旱指挥部一定要认真落实各项防汛责任制。\n"
    )
    tasks = _plan(text)["tasks"]
    assert tasks[0]["lead_units"] == ["各级人民政府", "防汛抗旱指挥部"]


def test_units_sharing_the_work_under_a_lead_support_it() -> None:
    from intake.units import split_roles

    group = "市政府办公室、市审改办牵头，市级各有关部门及各县市区政府按职责分工负责"
    assert split_roles(group) == (
        ["市政府办公室", "市审改办"],
        ["市级各有关部门", "各县市区政府"],
    )
    assert split_roles("区应急局、区建管委按职责分工负责") == (["区应急局", "区建管委"], [])


def test_a_list_sharing_the_last_names_suffix() -> None:
    from intake.units import split_units

    assert split_units("交通运输、公安交警、应急管理部门") == [
        "交通运输部门",
        "公安交警部门",
        "应急管理部门",
    ]
    assert split_units("杨陵区、示范区各部门") == ["杨陵区", "示范区各部门"]


def test_page_marks_of_a_document_sharing_copy_are_not_items() -> None:
    text = (
        "1、某镇2022年消防宣传月活动方案为增强消防安全素质，制定本方案。(一)开展疏散演练，打牢公共消防安全\n"
        "2、基础。镇安办要于2022年11月20日前组织各村开展疏散演练。(二)落实宣传培训，消防安全重点单位要开展\n"
        "3、宣传培训。\n"
    )
    tasks = _plan(text)["tasks"]
    assert [t["ref"] for t in tasks][-2:] == ["(一)", "(二)"]
    assert tasks[-2]["title"].startswith("开展疏散演练")
    assert "2022-11-20" in [m["due"] for m in tasks[-2]["milestones"]]
    assert tasks[-1]["lead_units"] == ["消防安全重点单位"]
