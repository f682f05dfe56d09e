"""The pure part of a resend: which notice (unit, audience, pass) carries each failed row again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from notify.keys import build_key, recipient_id
from notify.notice import Audience, Item
from notify.resend import Failed, Lookup, plan_resend
from notify.targets import ChannelRef, ContactRef, UnitEntry, UnitRef

HOOK = "http://127.0.0.1:9/hook"
BUREAU = UnitEntry(
    UnitRef(1, "区应急局", "department"),
    (ChannelRef(10, "email", "", None, False), ChannelRef(11, "webhook", HOOK, "s", True)),
    (ContactRef("张三", "联络员", "a@x.gov.cn"), ContactRef("李四", "负责人", "h@x.gov.cn")),
)
LEADER = UnitEntry(
    UnitRef(2, "张区长", "leader"),
    (ChannelRef(20, "email", "", None, False),),
    (ContactRef("张区长", "负责人", "leader@x.gov.cn"),),
)
ENTRIES = {1: BUREAU, 2: LEADER}


def item(ob: int, stage: str, seq: str, level: int = 2) -> Item:
    return Item(
        ob,
        stage,
        seq,
        level,
        "计划",
        str(ob),
        f"任务{ob}",
        "9月底前",
        date(2024, 9, 26),
        -3,
        "区应急局",
    )


def row(
    n: int, key: str, unit: int | None, kind: str, stage: str, seq: str, **kw: object
) -> Failed:
    it = kw.pop("item", item(5, "leader" if stage == "digest" else stage, seq))
    return Failed(
        row_id=n, key=key, batch=str(kw.pop("batch", "p1-1")), unit_id=unit, channel_type=kind,
        stage=stage, seq=seq, item=it, obligation_unit_id=1,
        obligation_status=str(kw.pop("status", "escalated")),
    )  # fmt: skip


def key(stage: str, seq: str, channel: str, recipient: str, ob: int = 5) -> str:
    return build_key(obligation_id=ob, stage=stage, seq=seq, channel=channel, recipient=recipient)


def lookup(sent: Sequence[str]) -> Lookup:
    def find(keys: Sequence[str]) -> Mapping[str, str]:
        return {k: "sent" for k in keys if k in sent}

    return find


SEQ = "office@2024-09-26"
HOOK_KEY = key("office", SEQ, "webhook#11", recipient_id("webhook", url=HOOK))


def test_it_finds_the_audience_whose_routes_carry_the_rows_key() -> None:
    rows = [
        row(1, key("office", SEQ, "email#10", "h@x.gov.cn"), 1, "email", "office", SEQ),
        row(2, HOOK_KEY, 1, "webhook", "office", SEQ),
        row(3, key("office", SEQ, "email#10", "a@x.gov.cn"), 1, "email", "office", SEQ),
        row(4, key("leader", "leader@d", "email#20", "leader@x.gov.cn"), 2, "email", "leader",
            "leader@d", batch="p1-7"),
        row(5, key("digest", "digest@2024-09-27", "email", "office@x.gov.cn"), None, "email",
            "digest", "digest@2024-09-27", batch="p2-1"),
    ]  # fmt: skip
    plan = plan_resend(rows, ENTRIES, office_email="office@x.gov.cn", lookup=lookup([]))
    assert plan.refused == []
    audience = {p.row_id: p.group[2] for p in plan.planned}
    assert audience == {
        1: Audience.UNIT_HEAD,  # the head's escalation, by e-mail only
        2: Audience.UNIT_CONTACTS,
        3: Audience.UNIT_CONTACTS,
        4: Audience.LEADER,  # a leader-level notice goes to the leader's own unit
        5: Audience.OFFICE,
    }
    assert sorted(plan.retry_ids()) == [1, 2, 3, 4, 5]
    notices = {(n.unit_id, n.audience): n for n in plan.notices()}
    assert set(notices) == {
        (1, Audience.UNIT_CONTACTS), (1, Audience.UNIT_HEAD), (2, Audience.LEADER),
        (None, Audience.OFFICE),
    }  # fmt: skip
    # two rows of one item in one message's notice (robot and contact): listed once
    assert [i.seq for i in notices[(1, Audience.UNIT_CONTACTS)].items] == [SEQ]
    assert notices[(None, Audience.OFFICE)].kind == "digest"
    assert notices[(1, Audience.UNIT_HEAD)].kind is None


def test_it_keeps_messages_of_different_passes_apart() -> None:
    seq2 = "chase-2024-09-27@2024-09-26"
    rows = [
        row(1, HOOK_KEY, 1, "webhook", "office", SEQ, batch="aaa-3"),
        row(2, key("chase", seq2, "webhook#11", recipient_id("webhook", url=HOOK)), 1, "webhook",
            "chase", seq2, batch="bbb-1", item=item(5, "chase", seq2, 1)),
    ]  # fmt: skip
    plan = plan_resend(rows, ENTRIES, office_email="", lookup=lookup([]))
    assert sorted(len(n.items) for n in plan.notices()) == [1, 1]


def test_it_replaces_a_recipient_gone_from_the_directory_and_refuses_what_cannot_go() -> None:
    seq = "chase-2024-09-27@2024-09-26"
    new_key = key("chase", seq, "email#10", "a@x.gov.cn")
    old = key("chase", seq, "email#10", "old@x.gov.cn")
    chase = item(5, "chase", seq, 1)
    rows = [
        row(1, old, 1, "email", "chase", seq, item=chase),
        row(2, key("chase", seq, "dingtalk#99", "url-x"), 1, "dingtalk", "chase", seq, item=chase),
        row(3, HOOK_KEY, 1, "webhook", "office", SEQ, status="accepted"),
        row(4, HOOK_KEY, 1, "webhook", "office", SEQ, item=None),
    ]
    plan = plan_resend(rows, ENTRIES, office_email="", lookup=lookup([]))
    [p] = plan.planned
    assert (p.row_id, p.replaced_by, p.covered, p.group[2]) == (
        1,
        (new_key,),
        False,
        Audience.UNIT_CONTACTS,  # a chase went to the contacts only, never to the head
    )
    assert plan.retry_ids() == []  # its own key is gone: nothing to mark
    reasons = {r.row_id: r.reason for r in plan.refused}
    assert "没有启用的 dingtalk 渠道" in reasons[2]
    assert "已销号" in reasons[3] and "已不存在" in reasons[4]
    covered = plan_resend(rows[:1], ENTRIES, office_email="", lookup=lookup([new_key]))
    assert covered.planned[0].covered and covered.notices() == []
