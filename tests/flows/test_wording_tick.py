"""The wording of the messages a real tick sends (aiosmtpd, the shipped templates, the default
policy): each says what really happens next and when, and a chase asked for by hand on an item
already at 督办 says 督办级别：督办, not 催办."""

from __future__ import annotations

import os
from datetime import date
from email.message import EmailMessage

from duban import runtime
from tests.flows.conftest import Office, days, run, tick_at

UNIT = "zhangsan@example.gov.cn"  # 区应急局's 联络员: task 1, due Thu 2024-09-26


def _mails(office: Office, address: str) -> list[EmailMessage]:
    return [m for _, rcpt, m in office.smtp.sink.received if address in rcpt]


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _by_subject(office: Office, start: str) -> list[str]:
    return [_text(m) for m in _mails(office, UNIT) if m["Subject"].startswith(start)]


def test_each_message_says_what_happens_next_and_when(office: Office) -> None:
    for day in days(date(2024, 9, 2), date(2024, 9, 30)):
        tick_at(day)
    reminders = _by_subject(office, "【提醒】")
    assert reminders and all(
        "下一步：截止日前未报送的，9月27日（星期五）起催办" in t for t in reminders
    )
    chases = _by_subject(office, "【催办】")
    assert len(chases) == 2
    step = "逾期满 3 个工作日（9月30日（星期一））仍未报送的，列入区安委办督办并通知单位负责人"
    assert all(f"下一步：{step}" in t for t in chases)
    assert all("以下工作已超过截止日期" in t for t in chases)
    [office_mail] = _by_subject(office, "【督办】")
    assert "工作日内" not in office_mail and "将报区领导通报" not in office_mail
    assert "区安委办不再逐项催办；仍未办结的，列入2024年9月月度通报" in office_mail
    assert "督办级别：督办" in office_mail


def test_a_chase_by_hand_on_an_escalated_item_keeps_its_level(office: Office) -> None:
    for day in days(date(2024, 9, 26), date(2024, 9, 30)):
        tick_at(day)
    ob = office.ob_id("1", "区应急局")
    os.environ["DUBAN_NOW"] = "2024-09-30T15:00:00+08:00"  # the office calls, then asks again
    runtime.reset()
    run("obligation", "chase", str(ob), "--reason", "电话未接通")
    before = len(_by_subject(office, "【催办】"))
    tick_at(date(2024, 10, 8))
    chases = _by_subject(office, "【催办】")
    assert len(chases) == before + 1
    assert "督办级别：督办" in chases[-1] and "督办级别：催办" not in chases[-1]
