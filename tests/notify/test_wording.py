"""What the real templates say happens next: the next stage and its date from the policy in force,
and the plan's own level (镇/区/市) for its leaders and office; mixed messages count honestly."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from notify.notice import Audience, Item, Notice
from notify.render import OfficeInfo, Renderer
from notify.wording import next_step, plan_level, plan_office
from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.policy import LEGACY_POLICY, Policy

CAL = load_calendar()
DUE = date(2024, 9, 26)  # Thursday; 09-28 is a Saturday off, 09-29 a make-up working day
AT = datetime(2024, 9, 30, 9, 5, tzinfo=OFFICE_TZ)
DEFAULT = Policy()
PER_ITEM = Policy(leader_at=7)  # 通报 per item at 7 working days overdue


@pytest.mark.parametrize(
    ("issuer", "title", "level"),
    [
        ("上海市青浦区徐泾镇人民政府", "", "镇"),
        ("", "金湾镇安全生产治本攻坚三年行动方案", "镇"),
        ("上海市普陀区安全生产委员会", "", "区"),
        ("上海市安全生产委员会", "", "市"),
        ("静安区安全生产委员会", "", "区"),
        ("", "示范区2024年安全生产工作要点", "区"),
        ("", "", "区"),
    ],
)
def test_it_reads_the_plan_level_from_its_issuer(issuer: str, title: str, level: str) -> None:
    assert plan_level(issuer, title) == level


def test_the_office_is_named_after_the_plan_level_unless_configured() -> None:
    assert plan_office("镇", "安委办") == "镇安委办"
    assert plan_office("区", "普陀区安委办") == "普陀区安委办"


def _step(stage: str, policy: Policy, level: str = "区", role: str = "lead") -> str:
    office = plan_office(level, "安委办")
    return next_step(
        stage=stage, due=DUE, role=role, level=level, office=office, policy=policy, cal=CAL
    )


def test_the_next_step_follows_the_default_policy() -> None:
    assert _step("remind", DEFAULT) == "截止日前未报送的，9月27日（星期五）起催办"
    assert _step("chase", DEFAULT) == (
        "逾期满 3 个工作日（9月30日（星期一））仍未报送的，列入区安委办督办并通知单位负责人"
    )
    office = _step("office", DEFAULT)
    assert office.startswith("区安委办不再逐项催办；仍未办结的，列入2024年9月月度通报")
    assert "区领导" in office and "工作日内" not in office
    assert _step("remind", DEFAULT, role="support") == "请配合牵头单位按期完成"
    assert _step("chase", DEFAULT, role="support") == ""


def test_the_next_step_follows_a_policy_with_per_item_bulletins() -> None:
    assert _step("office", PER_ITEM) == (
        "逾期满 7 个工作日（10月11日（星期五））仍未办结的，报区领导通报"
    )
    # The legacy policy: 通报 at 10 working days, counted over the National Day holiday (10-12, a Saturday, is a make-up working day).
    assert _step("office", LEGACY_POLICY, level="镇") == (
        "逾期满 10 个工作日（10月15日（星期二））仍未办结的，报镇领导通报"
    )


def _item(stage: str, level: int, days_left: int, *, plan_level: str, policy: Policy) -> Item:
    return Item(
        obligation_id=7,
        stage=stage,
        seq=f"{stage}@{DUE.isoformat()}",
        level=level,
        plan_title="徐泾镇安全生产治本攻坚三年行动方案" if plan_level == "镇" else "区工作要点",
        task_ref="附件-14",
        task_title="开展燃气安全专项整治",
        milestone="9月26日前完成",
        due=DUE,
        days_left=days_left,
        unit_name="徐泾镇规划建设和环境管理办公室",
        plan_level=plan_level,
        next_step=_step(stage, policy, level=plan_level),
    )


def _render(notice: Notice) -> tuple[str, str, str, str]:
    out = Renderer(OfficeInfo(name="安委办")).render(notice, recipient_name="规建办", at=AT)
    return out.subject, out.text, out.markdown, out.html


def test_a_town_plans_messages_name_the_towns_leaders_and_office() -> None:
    office = _item("office", 2, -3, plan_level="镇", policy=PER_ITEM)
    leader = _item("leader", 3, -7, plan_level="镇", policy=PER_ITEM)
    for notice in (
        Notice(1, Audience.UNIT_CONTACTS, (office,)),
        Notice(1, Audience.UNIT_CONTACTS, (leader,)),
    ):
        for part in _render(notice):
            assert "区领导" not in part and "区安委办" not in part
            assert "3 个工作日内" not in part
    subject, text, md, html = _render(Notice(1, Audience.UNIT_CONTACTS, (office,)))
    assert subject == "【督办】规建办：1 项逾期工作已列入镇安委办督办"
    assert "下一步：逾期满 7 个工作日（10月11日（星期五））仍未办结的，报镇领导通报" in text
    assert "附件第 14 项" in text and "第 附件" not in text
    assert "报镇领导通报" in md and "报镇领导通报" in html
    _, text, _, _ = _render(Notice(1, Audience.UNIT_CONTACTS, (leader,)))
    assert "已报镇领导通报" in text and "督办级别：通报" in text


def test_a_bulletin_mail_counts_only_its_escalated_items() -> None:
    leader = _item("leader", 3, -7, plan_level="区", policy=PER_ITEM)
    remind = Item(**{**_item("remind", 0, 2, plan_level="区", policy=PER_ITEM).__dict__,
                     "obligation_id": 8, "due": date(2024, 10, 9)})  # fmt: skip
    subject, text, _, _ = _render(Notice(1, Audience.UNIT_CONTACTS, (leader, remind)))
    assert subject == "【通报】规建办：1 项工作经督办仍未办结，另有 1 项其他事项"
    assert "以下 1 项工作经催办、督办仍未办结，已报区领导通报；另有 1 项其他事项一并列出" in text
    assert "【提醒】" in text and "督办级别：提醒" in text


def test_the_office_template_promises_what_the_default_policy_does() -> None:
    office = _item("office", 2, -3, plan_level="区", policy=DEFAULT)
    _, text, _, _ = _render(Notice(1, Audience.UNIT_CONTACTS, (office,)))
    assert "工作日内" not in text and "将报区领导通报" not in text
    assert "区安委办不再逐项催办；仍未办结的，列入2024年9月月度通报" in text


def test_a_message_over_plans_of_two_levels_names_neither_level() -> None:
    town = _item("office", 2, -3, plan_level="镇", policy=DEFAULT)
    district = Item(**{**_item("office", 2, -3, plan_level="区", policy=DEFAULT).__dict__,
                       "obligation_id": 9})  # fmt: skip
    subject, text, _, _ = _render(Notice(1, Audience.UNIT_CONTACTS, (town, district)))
    assert subject == "【督办】规建办：2 项逾期工作已列入安委办督办"
    assert "下一步：镇安委办不再逐项催办" in text and "下一步：区安委办不再逐项催办" in text
    assert "各项的下一步见上文" in text
