"""What a message says happens next, from the policy in force and the plan's own level (pure).

A template must not promise what the policy does not do ("3 个工作日内…将报区领导通报" while the
policy escalates later, or not at all, and says 区领导 for a town's plan). The flows, which know the
obligation's policy, ask `next_step` for one line per item; `plan_level` names the level of the
committee that issued the plan (镇/区/市), whose leaders and office the message names.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from schedules.calendar import WorkCalendar
from schedules.policy import Policy

LEVELS = ("镇", "区", "市")
# 街道 plans are the town level's equal (a 街道 has no 人民政府 but its 办事处 issues plans alike).
_TOWN = re.compile(r"[镇乡]|街道|办事处")
_DISTRICT = re.compile(r"区")


@lru_cache(maxsize=256)  # a tick asks once per item, for a handful of plans
def plan_level(issuer: str, title: str = "") -> str:
    """The level of the committee that issued a plan: 镇 (a town's or street's), 区 or 市.

    Read from the issuer first ("上海市青浦区徐泾镇人民政府" → 镇, "普陀区安全生产委员会" → 区,
    "上海市安全生产委员会" → 市), then from the title; 区 when neither says.
    """
    for text in (issuer, title):
        name = re.sub(r"^上海市", "", text.strip())
        if not name:
            continue
        if _TOWN.search(name):
            return "镇"
        if _DISTRICT.search(name):
            return "区"
        if "市" in text:
            return "市"
    return "区"


def plan_office(level: str, configured: str) -> str:
    """The office a plan's messages name: the configured name, unless it is the bare default
    "安委办", which a plan's level completes (镇安委办, 区安委办, 市安委办)."""
    return f"{level}安委办" if configured.strip() in ("", "安委办") else configured


def format_day(d: date) -> str:
    """2024-09-30 → 9月30日（星期一）: the short date a next-step line uses."""
    return f"{d.month}月{d.day}日（星期{'一二三四五六日'[d.weekday()]}）"


def _bulletin_month(d: date) -> str:
    return f"{d.year}年{d.month}月"


def next_step(
    *,
    stage: str,
    due: date,
    role: str,
    level: str,
    office: str,
    policy: Policy,
    cal: WorkCalendar,
) -> str:
    """The line saying what the office does next about one item, with its date ("" for none).

    `stage` is the item's stage in this message (assign, remind, chase, office, leader); dates are
    counted as the engine counts them: N working days after the due date.
    """
    escalates = role == "lead" or policy.support_escalations
    if not escalates:
        return "" if stage not in ("assign", "remind") else "请配合牵头单位按期完成"
    chase_on = cal.add_workdays(due, policy.chase_after) if policy.chase_max != 0 else None
    office_on = cal.add_workdays(due, policy.office_at) if policy.office_at > 0 else None
    leader_on = cal.add_workdays(due, policy.leader_at) if policy.leader_at > 0 else None
    after_office = _after_office(leader_on, policy.leader_at, level, office, office_on or due)
    if stage in ("assign", "remind"):
        if chase_on is not None:
            return f"截止日前未报送的，{format_day(chase_on)}起催办"
        if office_on is not None:
            return f"截止日前未报送的，{format_day(office_on)}列入{office}督办"
        return after_office
    if stage == "chase":
        if office_on is not None:
            return (
                f"逾期满 {policy.office_at} 个工作日（{format_day(office_on)}）仍未报送的，"
                f"列入{office}督办并通知单位负责人"
            )
        return after_office
    if stage == "office":
        return after_office
    if stage == "leader":
        return (
            f"已报{level}领导；仍未办结的，列入{_bulletin_month(leader_on or due)}月度通报，"
            "计入年度考核"
        )
    return ""


def _after_office(
    leader_on: date | None, leader_at: int, level: str, office: str, since: date
) -> str:
    if leader_on is not None:
        return (
            f"逾期满 {leader_at} 个工作日（{format_day(leader_on)}）仍未办结的，报{level}领导通报"
        )
    return (
        f"{office}不再逐项催办；仍未办结的，列入{_bulletin_month(since)}月度通报"
        f"（报{level}领导、印发{level}安委会成员单位），计入年度考核"
    )
