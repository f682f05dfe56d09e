"""Unit lists: separators, debris, missing 、, lead/support wordings, leaders, prose duties."""

from __future__ import annotations

import pytest

from intake.units import (
    BREAK_MARK,
    find_labelled_units,
    find_prose_units,
    is_unit_group,
    split_leaders,
    split_roles,
    split_units,
)

ROLE_CASES = [
    ("区应急局、区建管委，各街镇", ["区应急局", "区建管委", "各街镇"], []),
    ("区应急局,区建管委；各街镇", ["区应急局", "区建管委", "各街镇"], []),
    ("区应急局牵头，区建管委配合", ["区应急局"], ["区建管委"]),
    ("区应急局牵头、区建管委、区房管局配合", ["区应急局"], ["区建管委", "区房管局"]),
    ("责任单位：区应急局；配合单位：区建管委、各街镇", ["区应急局"], ["区建管委", "各街镇"]),
    ("牵头单位：区应急局 配合单位：区建管委", ["区应急局"], ["区建管委"]),
    ("区应急局负责", ["区应急局"], []),
    ("区应急局等部门分工负责", ["区应急局"], []),
    ("区应急局、区建管委按职责分工负责", ["区应急局", "区建管委"], []),
    ("区应急局牵头，区建管委等单位配合", ["区应急局"], ["区建管委"]),
    ("区安委会各专委会（办）牵头部门", ["区安委会各专委会（办）牵头部门"], []),
    ("各专项整治牵头部门", ["各专项整治牵头部门"], []),
    ("区应急局、区建管委、区房管局等", ["区应急局", "区建管委", "区房管局"], []),
    ("市房屋管理局市安委会相关成员单位", ["市房屋管理局", "市安委会相关成员单位"], []),
    ("区委办区府办", ["区委办", "区府办"], []),
    ("区安委会相关成员单位、签约单位", ["区安委会相关成员单位", "区安委会签约单位"], []),
    ("区应急局，2024年6月底前", ["区应急局"], []),
    (
        f"市人力资源社会保障{BREAK_MARK}障局、各区人民政府",
        ["市人力资源社会保障局", "各区人民政府"],
        [],
    ),
    (f"区{BREAK_MARK}应急局、区委组织部", ["区应急局", "区委组织部"], []),
    ("区应急局、区应急局", ["区应急局"], []),
]


@pytest.mark.parametrize(("group", "lead", "support"), ROLE_CASES)
def test_it_reads_lead_and_support_units(group: str, lead: list[str], support: list[str]) -> None:
    assert split_roles(group) == (lead, support)


def test_it_keeps_names_that_only_look_glued() -> None:
    names = ["市委组织部", "区委政法委", "区纪委监委", "团区委", "上海化工区管委会", "市市场监管局"]
    assert split_units("、".join(names)) == names


def test_it_splits_table_cells_on_spaces() -> None:
    cell = "区应急局 区公安分局  区建管委"
    assert split_units(cell, spaces_separate=True) == ["区应急局", "区公安分局", "区建管委"]
    assert split_units("/", spaces_separate=True) == []


@pytest.mark.parametrize(
    ("group", "is_units"),
    [
        ("区应急局、各街镇", True),
        ("即行政执法公示制度、执法全过程记录制度、重大执法决定法制审核制度", False),
        ("《安全生产法》《上海市安全生产条例》", False),
        ("责任单位：区应急局", True),
        ("2020-2035", False),
    ],
)
def test_it_tells_unit_groups_from_explanations(group: str, is_units: bool) -> None:
    assert is_unit_group(group) is is_units


@pytest.mark.parametrize(
    ("cell", "names"),
    [
        ("肖文高 姜爱锋 李荣华 王珏", ["肖文高", "姜爱锋", "李荣华", "王珏"]),
        ("姜爱锋 张 骏 蒋 龙", ["姜爱锋", "张骏", "蒋龙"]),
        ("肖 立", ["肖立"]),
        ("/", []),
    ],
)
def test_it_reads_leaders_with_padded_two_character_names(cell: str, names: list[str]) -> None:
    assert split_leaders(cell) == names


def test_it_finds_units_that_the_prose_makes_responsible() -> None:
    text = (
        "坚持问题导向。建管部门要深入开展执法检查；房管部门要加强监管。"
        "区应急办、安委办、消安委办等机构要加强沟通衔接。"
        "按照区委、区政府主要领导要求，固化检查做法。2024年3月底前，镇安委会负责制定方案。"
    )
    assert find_prose_units(text) == [
        "建管部门",
        "房管部门",
        "区应急办",
        "安委办",
        "消安委办",
        "镇安委会",
    ]


def test_it_reads_label_lines_after_an_item() -> None:
    text = "加强隐患排查。\n责任单位：区应急局、区建管委\n配合单位：各街镇\n完成时限：6月底前"
    assert find_labelled_units(text) == (["区应急局", "区建管委"], ["各街镇"])
    assert find_labelled_units("没有标注单位的文字。") is None
