"""Text plans (.txt/.md): numbered prose, sectioned prose, TSV and pipe tables, metadata."""

from __future__ import annotations

import pytest

from intake import IntakeError, parse_text

NUMBERED = """# 上海市某某区安全生产委员会

某安委〔2024〕3号

## 关于印发《某某区2024年安全生产工作要点》的通知

各成员单位：

现予印发，请遵照执行。

某某区安全生产委员会

2024 年 3 月 5 日

# 某某区2024年安全生产工作要点

## 一、压实安全责任

### （一）落实领导责任

推动各级落实责任。

1. **加强组织领导**。将安全生产纳入学习内容，6月底前完成专题培训。**（区委办、区应急局、各街镇等）**

2. 开展专项巡查。组织开展巡查，以时

时放心不下的责任感推进工作。（区

**应急局牵头，区委组织部、区安委会有关成员单位配合）**

3. 完善专委会运作机制，每季度召开一次会议。（区安委会各专委会（办）牵头部门）

## **二、夯实基层基础**

4. 规范建设工程安全管理，每月26日前报送进展。（区建管委区房管局、各街镇）

5. 强化消防安全。

对重点场所开展滚动排查。（责任单位：区消防救援支队；配合单位：区商务委、区民政局）

根据“党政同责”要求，区安委办细化分解了本要点。
"""


def test_it_reads_numbered_prose_with_units_in_parentheses() -> None:
    plan = parse_text(NUMBERED, name="要点.md")
    tasks = {t.ref: t for t in plan.tasks}
    assert list(tasks) == ["1", "2", "3", "4", "5"]
    assert tasks["1"].title == "加强组织领导"
    assert tasks["1"].lead_units == ["区委办", "区应急局", "各街镇"]
    assert tasks["1"].section == ["压实安全责任", "落实领导责任"]
    assert tasks["2"].lead_units == ["区应急局"]
    assert tasks["2"].support_units == ["区委组织部", "区安委会有关成员单位"]
    assert "以时时放心不下" in tasks["2"].text
    assert tasks["3"].lead_units == ["区安委会各专委会（办）牵头部门"]
    assert tasks["4"].lead_units == ["区建管委", "区房管局", "各街镇"]
    assert tasks["4"].section == ["夯实基层基础"]
    assert tasks["5"].lead_units == ["区消防救援支队"]
    assert tasks["5"].support_units == ["区商务委", "区民政局"]
    assert tasks["1"].line == 23


def test_it_reads_milestones_and_defaults_in_numbered_prose() -> None:
    out = parse_text(NUMBERED, name="要点.md").to_dict()
    ms = {t["ref"]: t["milestones"] for t in out["tasks"]}
    assert [m["due"] for m in ms["1"]] == ["2024-06-30"]
    assert ms["1"][0]["source_text"] == "6月底前"
    assert ms["3"][0]["rrule"] == "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1"
    assert ms["4"][0] == {
        "label": "规范建设工程安全管理，每月26日前报送进展",
        "rrule": "FREQ=MONTHLY;BYMONTHDAY=26",
        "dtstart": "2024-03-26",
        "until": "2024-12-31",
        "source_text": "每月26日前",
    }
    assert ms["5"] == [
        {"label": "强化消防安全", "due": "2024-12-31", "due_is_default": True, "source_text": ""}
    ]


def test_it_reads_metadata_and_warns_about_text_outside_tasks() -> None:
    plan = parse_text(NUMBERED, name="要点.md").to_dict()
    assert plan["plan"] == {
        "title": "某某区2024年安全生产工作要点",
        "issuer": "某某区安全生产委员会",
        "doc_no": "某安委〔2024〕3号",
        "issued_on": "2024-03-05",
        "year": 2024,
        "until_year": 2024,
    }
    assert [w["line"] for w in plan["warnings"]] == [41]


SECTIONED = """静安区2017年安全生产工作意见
一、完善责任体系
进一步落实责任。
（一）明确领导责任。各级党政组织要加强领导。
（二）强化部门监管。建管部门要深入开展检查；房管部门要加强监管。
2、 提升监管能力
（一）加大执法检查力度。区政府领导每月1次，各部门领导每周1次带队检查。
3、 推进重点领域治理
（一）实施挂牌督办。确定甲商厦、乙市场等2处为2017年区级挂牌督办的隐患治理项目。
四、夯实基础工作
（一）开展应急管理工作。6月底前完成预案修订。
"""


def test_it_reads_sectioned_prose_with_inconsistent_numbering() -> None:
    plan = parse_text(SECTIONED, name="意见.txt")
    refs = [t.ref for t in plan.tasks]
    assert refs == ["一、(一)", "一、(二)", "2、(一)", "3、(一)", "四、(一)"]
    tasks = {t.ref: t for t in plan.tasks}
    assert tasks["一、(二)"].lead_units == ["建管部门", "房管部门"]
    assert tasks["2、(一)"].section == ["提升监管能力"]
    rules = [m.rrule for m in tasks["2、(一)"].milestones]
    assert rules == ["FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=WEEKLY;BYDAY=FR"]
    sites = [m.label for m in tasks["3、(一)"].milestones if m.source_text]
    assert sites == ["甲商厦", "乙市场"]
    assert [m.due.isoformat() for m in tasks["四、(一)"].milestones if m.due] == ["2017-06-30"]


CELLS = "\n".join(
    [
        "附件：",
        "",
        "某某区2024年工作任务清单",
        "",
        *["\t序号", "\t工作目标任务", "\t时间节点", "\t责任单位", "\t配合单位", ""],
        *["\t1", "\t部署发动", "\t组建专班", "\t组建工作专班。", "\t3月", "\t区安委办", "\t", ""],
        *[
            "\t2",
            "\t",
            "\t强化城区",
            "本质安全",
            "\t落实意见。",
            "\t4月中旬",
            "\t区应急局、区建管委等",
            "\t区安委会相关成员单位、签约单位",
            "",
        ],
        *["\t3", "\t责任落实", "\t强化考核", "\t开展巡查。", "\t另行通知", "\t区安委办", "\t", ""],
    ]
)


def test_it_reads_one_cell_per_line_tables() -> None:
    plan = parse_text(CELLS, name="清单.txt")
    first, second, third = plan.tasks
    assert (first.ref, first.section, first.title, first.lead_units) == (
        "1",
        ["部署发动"],
        "组建专班",
        ["区安委办"],
    )
    assert second.section == ["部署发动"]
    assert second.title == "强化城区本质安全"
    assert second.lead_units == ["区应急局", "区建管委"]
    assert second.support_units == ["区安委会相关成员单位", "区安委会签约单位"]
    assert [m.due.isoformat() for m in second.milestones if m.due] == ["2024-04-20"]
    assert third.milestones[0].due_is_default
    assert [(w.line, w.text) for w in plan.warnings] == [(third.line, "另行通知")]
    assert plan.meta.issuer == "某某区安委会"


ANNEXED = NUMBERED + "\n".join(
    [
        "附件：区政府领导 2024 年重点工作责任清单",
        "",
        "序号\t重点任务\t区领导\t责任单位\t配合单位\t工作要求\t备注",
        "1\t年度事故 防控目标\t张三 王 五\t区应急局 区公安分局\t各成员单位\t压减事故。\t",
        "一、压实安全责任（小计 1 项）\t\t\t\t\t\t",
        "",
        "序号\t重点任务\t区领导\t责任单位\t配合单位\t工作要求\t备注",
        "2\t落实责任制\t李四\t各成员单位\t/\t落实履职述职制度。\t",
        "任务分解：合计 2 项\t\t\t\t\t\t",
    ]
)


def test_it_keeps_prose_tasks_and_annexed_table_rows_with_unique_refs() -> None:
    plan = parse_text(ANNEXED, name="要点.md")
    refs = [t.ref for t in plan.tasks]
    assert refs == ["1", "2", "3", "4", "5", "附件-1", "附件-2"]
    annex = {t.ref: t for t in plan.tasks}
    assert annex["附件-1"].title == "年度事故防控目标"
    assert annex["附件-1"].leaders == ["张三", "王五"]
    assert annex["附件-1"].lead_units == ["区应急局", "区公安分局"]
    assert annex["附件-1"].support_units == ["各成员单位"]
    assert annex["附件-2"].section == ["压实安全责任"]
    assert annex["附件-2"].support_units == []
    assert any("说明行" in w.message for w in plan.warnings)


PIPE = """# 某某镇2025年安全生产重点工作安排

| 序号 | 重点工作 | 完成时限 | 牵头单位 | 配合单位 |
|---|---|---|---|---|
| 1 | 召开动员部署会 | 2025年3月底前 | 镇安委办 | 镇安委会成员单位 |
| 2 | 开展应急演练 | 每年至少一次 | 镇安委办 | 各村居委会 |
| 3 | 排查整治隐患 | 长期坚持 | 镇安委会成员单位 | |
"""


def test_it_reads_pipe_tables() -> None:
    plan = parse_text(PIPE, name="安排.md")
    first, second, third = plan.tasks
    assert (
        first.milestones[0].due is not None and first.milestones[0].due.isoformat() == "2025-03-31"
    )
    assert first.support_units == ["镇安委会成员单位"]
    assert second.milestones[0].rrule == "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31"
    assert third.milestones[0].due_is_default
    assert plan.warnings == []
    assert plan.meta.year == 2025


RESTARTED = """闵行区2025年安全生产工作要点
二、重点任务
（一）压实责任
1、加强组织领导。（牵头单位：区应急局；配合单位：区委组织部）
2、完善应急预案体系。
责任单位：区应急局
完成时限：2025年9月30日前
（二）隐患治理
1、深化燃气安全整治，每季度通报一次。（区建管委、区市场监管局）
"""


def test_it_qualifies_item_numbers_that_restart_and_reads_label_lines() -> None:
    plan = parse_text(RESTARTED, name="要点.txt")
    tasks = {t.ref: t for t in plan.tasks}
    assert list(tasks) == ["二、(一)1", "二、(一)2", "二、(二)1"]
    assert tasks["二、(一)1"].support_units == ["区委组织部"]
    assert tasks["二、(一)2"].lead_units == ["区应急局"]
    due = tasks["二、(一)2"].milestones[0].due
    assert due is not None and due.isoformat() == "2025-09-30"


def test_it_warns_about_a_headerless_table_beside_prose_tasks_and_fails_without_them() -> None:
    table = "\n姓名\t电话\t邮箱\n张三\t123\ta@example.gov.cn\n"
    plan = parse_text(NUMBERED + table, name="要点.md")
    assert len(plan.tasks) == 5
    assert any("表头" in w.message and w.text.startswith("姓名") for w in plan.warnings)
    with pytest.raises(IntakeError, match="表头") as caught:
        parse_text("某某区2024年工作清单\n" + table, name="清单.txt")
    assert "第 3 行" in str(caught.value)
