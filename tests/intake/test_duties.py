"""Duties at clause level: each time phrase takes the actors of its own clause."""

from __future__ import annotations

from datetime import date

import pytest

from intake import parse_text
from intake.duties import actors_of, clause_units
from intake.review_format import format_milestone, parse_milestone_line
from schedules.timeexpr import PlanContext, find_time_expressions, normalize_numerals

CTX = PlanContext(year=2024, start=date(2024, 1, 1), until=date(2024, 12, 31))

CASES = [
    # time first, the subject after it
    ("2024年4月中旬，镇安委会有关成员单位按照原则，制定子方案。", ["镇安委会有关成员单位"], []),
    # the subject before the verb, the time later in the sentence
    (
        "强化信息报送机制，各村居、各部门明确专人负责，加强工作梳理总结，每月26日前向镇安委办报送。",
        ["各村居", "各部门"],
        [],
    ),
    # a described group as a whole clause
    (
        "2024年底前，各负有安全生产监管职责的部门，培树本行业2-3家企业。",
        ["各负有安全生产监管职责的部门"],
        [],
    ),
    # the object of 推动 when it is a unit
    (
        "2024年-2025年，推动各村居、重点行业部门开展一次安全风险辨识。",
        ["各村居", "重点行业部门"],
        [],
    ),
    # regulated parties are not owners
    ("推动生产经营单位每年至少组织开展一次疏散逃生演练。", [], []),
    # 由X负责, X牵头 Y配合
    ("3月底前由区应急局负责完成全区检查。", ["区应急局"], []),
    ("区应急局牵头，各街镇配合，6月底前完成排查。", ["区应急局"], ["各街镇"]),
    # the subject right before the time in the same clause
    ("各街镇每季度末前报送工作进展。", ["各街镇"], []),
    # no actor: the office's own duty
    ("总结经验做法，2024年5月底前，下发判定标准汇编。", [], []),
    # a verb phrase ending like a name is not an actor
    ("2025年底前，打造一批安全生产标准化标杆企业单位。", [], []),
]


@pytest.mark.parametrize(("text", "lead", "support"), CASES)
def test_it_reads_the_actor_of_each_time_phrase(
    text: str, lead: list[str], support: list[str]
) -> None:
    spec = find_time_expressions(text, CTX)[0]
    assert clause_units(normalize_numerals(text), spec.start, spec.end) == (lead, support)


def test_it_keeps_the_role_words_and_notes_off_the_names() -> None:
    # a person of the unit acts: the unit is chased
    assert actors_of("镇党委政府主要负责人每季度至少召开一次会议") == (["镇党委政府"], [])
    assert actors_of("各级各部门主要负责人作为第一责任人，要带头研究") == (["各级各部门"], [])
    assert actors_of("生产经营单位主要负责人要每季度带队") == ([], [])  # regulated, not chased
    assert actors_of("固化区政府主要领导和各分管领导每月1次") == ([], [])
    assert actors_of("区应急局、区消防救援支队分别牵头") == (["区应急局", "区消防救援支队"], [])
    assert actors_of("镇安委会召开治本攻坚三年行动动员部署会") == (["镇安委会"], [])
    assert actors_of("结合区安委办培训安排") == ([], [])
    assert actors_of("区住房和城乡建设局要加强检查") == (["区住房和城乡建设局"], [])
    assert actors_of("区应急局和区消防救援支队要联合检查") == (["区应急局", "区消防救援支队"], [])


def test_it_gives_one_item_several_duties_with_their_own_owners() -> None:
    plan = parse_text(
        "某区2024年安全生产工作要点\n"
        "1. 贯彻判定标准。2024年5月底前，下发判定标准汇编。"
        "2024年底前，区安委会相关成员单位要组织一次专题培训。\n",
        name="t.txt",
    )
    (task,) = plan.tasks
    first, second = task.milestones
    assert first.lead_units == [] and str(first.due) == "2024-05-31"
    assert second.lead_units == ["区安委会相关成员单位"]
    assert task.lead_units == ["区安委会相关成员单位"]
    dumped = task.to_dict()["milestones"]
    assert "lead_units" not in dumped[0] and dumped[1]["lead_units"] == ["区安委会相关成员单位"]


def test_it_keeps_a_closing_unit_group_for_the_whole_task() -> None:
    plan = parse_text(
        "某区2024年安全生产工作要点\n1. 开展检查。3月底前，各街镇要完成自查。（区应急局）\n",
        name="t.txt",
    )
    (task,) = plan.tasks
    assert task.lead_units == ["区应急局"]
    assert task.milestones[0].lead_units == []


def test_it_writes_and_reads_a_milestones_units_in_the_review_cell() -> None:
    plan = parse_text(
        "某区2024年安全生产工作要点\n1. 开展排查。区应急局牵头，各街镇配合，6月底前完成排查。\n",
        name="t.txt",
    )
    stone = plan.tasks[0].milestones[0]
    line = format_milestone(stone)
    assert line.endswith("【区应急局；配合：各街镇】")
    (back,) = parse_milestone_line(line, ctx=CTX, label=stone.label)
    assert (back.lead_units, back.support_units) == (["区应急局"], ["各街镇"])
