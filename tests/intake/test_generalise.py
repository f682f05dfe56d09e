"""Rules found on held-out round 5 (tests/intake/corpus/heldout s05–s12), each held by a case
written here from the rule, not copied from one plan."""

from __future__ import annotations

from pathlib import Path

from intake import IntakeError, parse_text
from intake.review_xlsx import export_review, read_review


def _tasks(text: str) -> list[dict]:
    return parse_text(text, name="通知.txt").to_dict()["tasks"]


NOTICE = """关于做好2022年重点工作的通知

各镇街，区各部门：

一、今年是关键一年。各单位要高度重视，强化责任，不折不扣落实重点工作任务；加强统筹，第一时间制定有针对性的工作方案。

二、各牵头单位和汇总单位要及时向区政府报告工作完成情况。区考核机构要将重点工作纳入年度考核范围。

三、各部门要加强沟通联系，形成合力，确保各项工作任务落到实处，推动全区整体工作上水平。
"""


def test_undated_duties_of_a_notice_are_read_per_sentence() -> None:
    tasks = _tasks(NOTICE)
    owners = [t["lead_units"] for t in tasks]
    assert owners == [["各单位"], ["各牵头单位", "汇总单位"], ["区考核机构"]]
    dated = [m for t in tasks for m in t["milestones"] if not m.get("due_is_default")]
    assert dated == []  # no invented deadline


def test_exhortation_alone_is_no_duty() -> None:
    text = "关于2022年工作的通知\n\n一、今年是关键一年。各部门要加强沟通联系，形成合力，确保各项工作任务落到实处。\n"
    assert "没有找到任何任务" in _error(text)


def _error(text: str) -> str:
    try:
        parse_text(text, name="通知.txt")
    except IntakeError as exc:
        return str(exc)
    return ""


ACTIVITIES = """2022年安全生产月活动方案

一、活动安排
（一）开展警示教育周活动
1.活动时间：6月1日至6月7日。
2.活动内容：各镇组织企业开展警示教育。
3.组织单位：各镇人民政府、区总工会。
（二）开展宣传咨询日活动
1.活动时间：6月16日。
2.组织单位：区安办。参加单位：区消防救援大队、区交警大队。
"""


def test_numbered_fields_belong_to_their_subsection() -> None:
    tasks = _tasks(ACTIVITIES)
    assert [t["ref"] for t in tasks] == ["一、(一)", "一、(二)"]
    assert tasks[0]["lead_units"] == ["各镇人民政府", "区总工会"]
    assert tasks[1]["lead_units"] == ["区安办"]
    assert tasks[1]["support_units"] == ["区消防救援大队", "区交警大队"]


def test_a_date_range_is_due_at_its_end() -> None:
    tasks = _tasks(ACTIVITIES)
    assert [m["due"] for m in tasks[0]["milestones"]] == ["2022-06-07"]
    text = "2022年工作安排\n\n一、排查\n1. 4月15日—5月15日，各镇开展隐患排查。\n"
    assert [m["due"] for m in _tasks(text)[0]["milestones"]] == ["2022-05-15"]


PUBLICITY = """2022年安全生产月活动方案

三、活动内容

（一）宣传报道 1、6月1日上午，召开新闻发布会。此项工作由区委宣传部、区应急管理局负责组织协调。

2、6月2日至6月30日，开设专栏。此项工作由区融媒体中心负责。

3、6月2日至6月30日，播发标语。此项工作由区委宣传部部署，各新闻单位落实，区应急管理局负责协调。
"""


def test_an_item_runs_on_after_its_heading_and_a_sentence_hands_it_over() -> None:
    tasks = _tasks(PUBLICITY)
    assert [t["ref"] for t in tasks] == ["1", "2", "3"]
    assert tasks[0]["lead_units"] == ["区委宣传部", "区应急管理局"]
    assert tasks[2]["lead_units"] == ["区委宣传部", "各新闻单位", "区应急管理局"]
    assert tasks[1]["lead_units"] == ["区融媒体中心"]
    assert [m["due"] for m in tasks[1]["milestones"]] == ["2022-06-30"]


def test_a_time_that_hangs_on_an_event_is_kept_for_the_office_to_date() -> None:
    text = (
        "关于做好2024年春季开学安全工作的通知\n\n"
        "一、排查隐患\n"
        "1. 开学初，各学校要召开安全工作会议，制订安全工作计划。\n"
        "2. 汛期前，各学校完成校舍安全排查。\n"
        "3. 各学校要加强安全教育。\n"
    )
    stones = [t["milestones"] for t in _tasks(text)]
    assert [[m["source_text"] for m in ms] for ms in stones] == [["开学初"], ["汛期前"], [""]]
    assert all(m.get("due_is_default") for ms in stones for m in ms)  # no invented date


def test_the_assessment_a_duty_is_counted_in_is_no_deadline() -> None:
    text = (
        "2024年小区创建工作通知\n\n一、检查安排\n"
        "1. 8月下旬区综治办组织检查验收。创建情况列入年底综治责任制考核内容。\n"
    )
    (task,) = _tasks(text)
    assert [m["due"] for m in task["milestones"]] == ["2024-08-31"]


def test_a_subsection_telling_roles_how_to_work_is_no_duty() -> None:
    text = (
        "2024年民生实事项目推进通知\n\n二、工作要求\n"
        "（一）抓好任务分解。各单位要在2月29日前完成任务分解。\n"
        "（二）明确工作责任。分管副区长要亲自抓部署、亲自抓协调；牵头部门要树立主责主抓意识，"
        "严格落实主要领导责任制；配合单位要靠前一步、主动对接。\n"
    )
    assert [t["ref"] for t in _tasks(text)] == ["二、(一)"]


def test_a_request_naming_no_one_asks_the_addressees() -> None:
    text = (
        "关于转发做好国庆期间安全生产工作紧急通知的通知\n"
        "各县(市)、区人民政府，高新区管委会，市安委会各成员单位: 近期接连发生事故。现将通知转发给你们，"
        "请深刻汲取事故教训，进一步强化安全防控措施，严防各类事故发生。\n"
        "某市人民政府安全生产委员会办公室 2017年10月4日\n"
    )
    (task,) = _tasks(text)
    assert task["lead_units"] == ["各县(市)", "区人民政府", "高新区管委会", "市安委会各成员单位"]
    assert [m.get("due_is_default") for m in task["milestones"]] == [True]  # the date signs


def test_a_request_to_implement_the_document_is_no_duty() -> None:
    text = (
        "关于印发2020年重点工作任务分解表的通知\n"
        "各乡镇人民政府，区政府各部门: 现将任务分解表印发给你们，请按照要求，结合实际认真抓好落实。\n"
    )
    assert "没有找到任何任务" in _error(text)


def test_an_event_time_before_the_subject_of_an_undated_duty() -> None:
    text = (
        "关于做好2014年春季开学初安全工作的通知\n\n各中小学校:\n\n一、明确安全管理责任\n\n"
        "安全工作人命关天。开学初,各学校要召开领导班子会议,制订切合学校实际的安全工作计划。\n"
    )
    (task,) = _tasks(text)
    assert task["lead_units"] == ["各学校"]
    assert [m["source_text"] for m in task["milestones"]] == ["开学初"]


def test_an_imperative_with_no_subject_in_a_notice_is_the_addressees_duty() -> None:
    text = (
        "关于做好2023年春节期间安全生产工作的通知\n"
        "各乡镇(街道),区安委会有关成员单位:\n"
        "现就有关工作通知如下:\n"
        "一、全面检查,消除隐患。要结合岁末年初安全生产工作的特点,切实加强重点行业的安全监管,"
        "采取多种形式,有针对性的开展安全检查,紧盯突出问题和薄弱环节。\n"
    )
    (task,) = _tasks(text)
    assert task["lead_units"] == ["各乡镇(街道)", "区安委会有关成员单位"]


def test_an_event_time_survives_the_review_sheet(tmp_path: Path) -> None:
    text = "2024年开学安全工作通知\n\n一、排查\n1. 开学初，各学校要召开安全工作会议。\n"
    parsed = parse_text(text, name="通知.txt")
    sheet = tmp_path / "review.xlsx"
    export_review(parsed, sheet)
    (task,) = read_review(sheet).tasks
    assert task.milestones == parsed.tasks[0].milestones
    assert task.milestones[0].source_text == "开学初" and task.milestones[0].due_is_default


def test_items_numbered_inside_running_text() -> None:
    text = (
        "2010年消防安全工作方案\n"
        "一、工作目标。力争通过三年努力，使火灾事故有效遏制。二、工作任务(一)落实政府部门消防工作"
        "四项责任1 落实政府领导责任。各地政府要将消防工作纳入本地经济和社会发展计划。"
        "2 落实部门监管责任。各有关部门要组织开展消防安全检查。3 落实设施建设责任。各地政府要建设消防站。\n"
    )
    tasks = _tasks(text)
    assert [(t["title"], t["lead_units"]) for t in tasks] == [
        ("落实政府领导责任", ["各地政府"]),
        ("落实部门监管责任", ["各有关部门"]),
        ("落实设施建设责任", ["各地政府"]),
    ]


def test_numbers_inside_a_sentence_are_not_items() -> None:
    text = "2024年工作要点\n\n一、排查\n1. 各镇对12个重点场所、3 类企业开展排查，2 月底前完成。\n"
    assert [t["ref"] for t in _tasks(text)] == ["1"]


def test_labels_in_the_text_and_in_a_closing_remark_are_both_read() -> None:
    text = (
        "2022年安全生产月活动方案\n\n一、活动安排\n（一）开展宣传咨询日活动\n"
        "1.活动时间：6月16日。\n"
        "2.组织单位：区安办、各镇人民政府。（咨询点设在中心广场门前。参加单位：区消防救援大队、"
        "区交警大队。各镇自行设点。）\n"
    )
    (task,) = _tasks(text)
    assert task["lead_units"] == ["区安办", "各镇人民政府"]
    assert task["support_units"] == ["区消防救援大队", "区交警大队"]
