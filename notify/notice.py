"""What the flows hand to the pipeline: notices, each for one unit and audience, grouping items.

Grouping (Alertmanager's `group_by`): all of one unit's items that fall due in one pass go out as
one message per channel and recipient, listing them; twelve items make one message, not twelve.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cached_property

from notify.transport import Attachment

STAGE_LEVEL = {"assign": 0, "remind": 0, "chase": 1, "office": 2, "leader": 3}
STAGE_NAMES = {
    "assign": "交办",
    "remind": "提醒",
    "chase": "催办",
    "office": "督办",
    "leader": "通报",
    "monthly": "月报提醒",
    "digest": "每日汇总",
    "test": "测试",
    "bulletin": "通报印发",
    "receipt": "再次交办",
    "rollcall": "月度报送点名",
}
TEMPLATE_KINDS = (
    "assign",
    "remind",
    "chase",
    "office",
    "leader",
    "monthly",
    "digest",
    "test",
    "bulletin",
    "receipt",
    "rollcall",
)
NO_ITEM_KINDS = ("test", "bulletin", "rollcall")  # notices that list no obligation
ROLE_NAMES = {"lead": "牵头", "support": "配合"}


class Audience(StrEnum):
    """Who in (or above) the unit reads the notice; the directory resolves it to addresses."""

    UNIT_CONTACTS = "unit_contacts"  # 联络员
    UNIT_HEAD = "unit_head"  # 负责人
    LEADER = "leader"  # 分管领导 / a leader "unit"
    OFFICE = "office"  # 安委办


@dataclass(frozen=True)
class Item:
    """One obligation's action in this pass, with what the message says about it.

    `days_left` counts working days: positive before the due date, 0 on it, negative = overdue.
    `seq` is the engine's occurrence id of the action (e.g. ``chase-2024-09-27@2024-09-26``).
    """

    obligation_id: int
    stage: str
    seq: str
    level: int
    plan_title: str
    task_ref: str
    task_title: str
    milestone: str
    due: date
    days_left: int
    unit_name: str
    is_report: bool = False
    role: str = "lead"  # the unit's part in the duty: lead (牵头) or support (配合)
    plan_level: str = "区"  # the level of the committee that issued the plan: 镇, 区 or 市
    next_step: str = ""  # what the office does next about it, with its date (notify/wording.py)


@dataclass(frozen=True)
class BulletinRef:
    """The approved 通报 a `bulletin` notice sends: its document, number, title and summary."""

    doc_id: int
    number: str  # 〔2024〕第3期
    title: str
    summary: str  # the first lines of its text, for robots
    link: str = ""  # the console page, when there are pages


@dataclass(frozen=True)
class RollCall:
    """The month's report roll-call a `rollcall` notice sends to the office: who reported the
    monthly reports that fell due in `month` (2024-09), who did not."""

    month: str
    reported: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Notice:
    """One message's worth: a unit (None = the office's own address), an audience, its items.

    `kind` picks the templates; by default the most severe item's stage, "assign" when a 交办
    comes with nothing more severe, or "monthly" when every item is a report reminder. Pass
    "digest" for the office's daily digest.
    """

    unit_id: int | None
    audience: Audience
    items: tuple[Item, ...]
    kind: str | None = None
    notes: tuple[str, ...] = ()  # lines the office must see first (the digest's delivery problems)
    bulletin: BulletinRef | None = None  # kind "bulletin": the 通报 being sent
    files: tuple[Attachment, ...] = ()  # attached to its e-mails (the 通报's PDF)
    rollcall: RollCall | None = None  # kind "rollcall": the month's roll-call

    def __post_init__(self) -> None:
        if not self.items and self.kind not in NO_ITEM_KINDS:
            raise ValueError(f"通知没有任何事项（单位 {self.unit_id}，对象 {self.audience}）")
        if self.kind is not None and self.kind not in TEMPLATE_KINDS:
            raise ValueError(f"未知的通知类型 {self.kind!r}，应为 {'、'.join(TEMPLATE_KINDS)}")

    # Cached (on the instance's dict, which a frozen dataclass allows): the pipeline asks each
    # several times per message.
    @cached_property
    def template(self) -> str:
        """The template set to render with."""
        if self.kind:
            return self.kind
        top = self.top_stage
        if STAGE_LEVEL.get(top, 0) == 0 and any(i.stage == "assign" for i in self.items):
            return "assign"
        if top == "remind" and self.items and all(i.is_report for i in self.items):
            return "monthly"
        return top

    @cached_property
    def top_stage(self) -> str:
        """The most severe stage among the items."""
        stages = [i.stage for i in self.items]
        return max(stages, key=lambda s: STAGE_LEVEL.get(s, 0)) if stages else "test"

    @cached_property
    def level(self) -> int:
        """The highest escalation level among the items."""
        return max((i.level for i in self.items), default=0)


def group_notices(entries: Iterable[tuple[int | None, Audience, Item]]) -> list[Notice]:
    """Group (unit, audience, item) triples into one notice per unit and audience, in order."""
    grouped: dict[tuple[int | None, Audience], list[Item]] = {}
    for unit_id, audience, item in entries:
        grouped.setdefault((unit_id, audience), []).append(item)
    return [
        Notice(unit_id=u, audience=a, items=tuple(sorted(items, key=_item_order)))
        for (u, a), items in grouped.items()
    ]


def _item_order(item: Item) -> tuple[int, date, str, str]:
    # Most urgent first: highest level, then earliest due date.
    return (-item.level, item.due, item.task_ref, item.milestone)
