"""Rebuild the notices that carried failed deliveries, so the office can re-send them (pure).

A delivery row keeps its key, stage, occurrence, unit and channel but not the notice it went out
in. For each row this finds the audience whose routes produce the row's key (a leader-level
notice goes to the leader's unit, the head's escalation to the head's address), and groups the
rows as the original pass did: one notice per (pass, unit, audience), so every failed message
goes out again as one message listing the same items. The pipeline's dedupe does the rest: keys
already sent are skipped, the retryable ones are claimed and sent once.

A row whose key is no longer in the directory (the office corrected the address or replaced the
robot) is *replaced*: its message goes to the unit's current recipients of that channel kind for
the same audience who have not received it yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from notify.jobs import claim_requests
from notify.notice import STAGE_LEVEL, Audience, Item, Notice, group_notices
from notify.targets import Route, UnitEntry, routes_for
from schedules.obligation import CHASED_STATUSES

DIGEST = "digest"
RECEIPT = "receipt"
STAGE_OF_LEVEL = {level: stage for stage, level in STAGE_LEVEL.items()}
STATUS_NAMES = {
    "submitted": "已报送",
    "accepted": "已销号",
    "waived": "已免除",
    "to_confirm": "待确认",
    "lapsed": "逾期未报",
}
RESENDABLE = frozenset(str(s) for s in CHASED_STATUSES)

Lookup = Callable[[Sequence[str]], Mapping[str, str]]  # keys → status of those that have rows


@dataclass(frozen=True)
class Failed:
    """A failed delivery row, with the item its message said (None: its obligation is gone)."""

    row_id: int
    key: str
    batch: str
    unit_id: int | None
    channel_type: str
    stage: str
    seq: str
    item: Item | None
    obligation_unit_id: int | None = None
    obligation_status: str | None = None


@dataclass(frozen=True)
class Planned:
    """A row that goes out again: in which notice, and whether through its own key."""

    row_id: int
    group: tuple[str, int | None, Audience, bool]  # pass, unit, audience, digest
    item: Item
    routes: tuple[Route, ...]  # where the row's message goes now
    replaced_by: tuple[str, ...] = ()  # keys standing in for a key gone from the directory
    covered: bool = False  # replaced, and every stand-in already has it: nothing to send


@dataclass(frozen=True)
class Refused:
    """A row that cannot go out again, and why (Chinese)."""

    row_id: int
    reason: str


@dataclass
class ResendPlan:
    """What a resend will do."""

    planned: list[Planned] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)

    def retry_ids(self) -> list[int]:
        """Rows re-sent under their own key (to be marked retryable first)."""
        return [p.row_id for p in self.planned if not p.replaced_by and not p.covered]

    def notices(self, rows: Iterable[int] | None = None) -> list[Notice]:
        """The notices to deliver (for `rows` only, if given): one per pass, unit and audience."""
        keep = None if rows is None else set(rows)
        entries: dict[tuple[str, int | None, Audience, bool], dict[tuple[int, str, str], Item]]
        entries = {}
        for p in self.planned:
            if p.covered or (keep is not None and p.row_id not in keep):
                continue
            items = entries.setdefault(p.group, {})
            items.setdefault((p.item.obligation_id, p.item.stage, p.item.seq), p.item)
        out = []
        for (_, unit_id, audience, digest), items in entries.items():
            [notice] = group_notices((unit_id, audience, i) for i in items.values())
            out.append(replace(notice, kind=DIGEST) if digest else notice)
        return out


def pass_of(batch: str) -> str:
    """The delivery pass a message (batch `<pass>-<n>`) belonged to."""
    return batch.rsplit("-", 1)[0] if "-" in batch else batch


def item_level(stage: str, escalation_level: int) -> tuple[str, int] | None:
    """The item's stage and level for a row's stage (a digest shows the obligation's level)."""
    if stage == DIGEST:
        level = min(max(escalation_level, 0), 3)
        return STAGE_OF_LEVEL[level], level
    if stage in STAGE_LEVEL:
        return stage, STAGE_LEVEL[stage]
    if stage == RECEIPT:  # 再次交办 (flows/receipts): rebuilt as one, level from the obligation
        return stage, 2 if escalation_level >= 2 else 0
    return None


def audiences(row: Failed) -> tuple[tuple[Audience, ...], tuple[Audience, ...]]:
    """(audiences to try for the row's own key, audiences the row's message was naturally for)."""
    if row.unit_id is None:
        return (Audience.OFFICE,), (Audience.OFFICE,)
    if row.stage == DIGEST:
        return (Audience.LEADER,), (Audience.LEADER,)
    if row.unit_id != row.obligation_unit_id:
        every = (Audience.LEADER, Audience.UNIT_CONTACTS, Audience.UNIT_HEAD, Audience.OFFICE)
        return every, (Audience.LEADER,)
    every = (Audience.UNIT_CONTACTS, Audience.UNIT_HEAD, Audience.LEADER, Audience.OFFICE)
    if row.stage in ("remind", "chase") or row.channel_type != "email":
        return every, (Audience.UNIT_CONTACTS,)
    return every, (Audience.UNIT_CONTACTS, Audience.UNIT_HEAD)


def keyed_routes(
    row: Failed, audience: Audience, entry: UnitEntry | None, office_email: str
) -> list[tuple[Route, str]]:
    """The routes a one-item notice for `audience` takes, each with the row item's key."""
    assert row.item is not None
    kind = DIGEST if row.stage == DIGEST else None
    notice = Notice(unit_id=row.unit_id, audience=audience, items=(row.item,), kind=kind)
    return [
        (r, claim_requests(notice, r, "")[0].key) for r in routes_for(notice, entry, office_email)
    ]


def plan_resend(
    rows: Sequence[Failed],
    entries: Mapping[int, UnitEntry],
    *,
    office_email: str,
    lookup: Lookup,
) -> ResendPlan:
    """Decide, row by row, which notice carries it again (or why none can)."""
    plan = ResendPlan()
    stand_ins: list[tuple[Failed, Audience, list[tuple[Route, str]]]] = []
    for row in rows:
        refusal = _refusal(row, entries)
        if refusal:
            plan.refused.append(Refused(row.row_id, refusal))
            continue
        assert row.item is not None
        entry = entries.get(row.unit_id) if row.unit_id is not None else None
        tried, natural = audiences(row)
        found = _own_key(row, tried, entry, office_email)
        if found is not None:
            audience, route = found
            plan.planned.append(_planned(row, audience, (route,)))
            continue
        for audience in natural:
            same = [
                (r, k)
                for r, k in keyed_routes(row, audience, entry, office_email)
                if r.target.kind == row.channel_type
            ]
            if same:
                stand_ins.append((row, audience, same))
                break
        else:
            plan.refused.append(Refused(row.row_id, _gone(row, entry)))
    statuses = lookup([k for _, _, same in stand_ins for _, k in same]) if stand_ins else {}
    for row, audience, same in stand_ins:
        todo = [(r, k) for r, k in same if statuses.get(k) != "sent"]
        if todo:
            keys = tuple(k for _, k in todo)
            routes = tuple(r for r, _ in todo)
            plan.planned.append(_planned(row, audience, routes, replaced_by=keys))
        else:
            keys = tuple(k for _, k in same)
            routes = tuple(r for r, _ in same)
            plan.planned.append(_planned(row, audience, routes, replaced_by=keys, covered=True))
    plan.planned.sort(key=lambda p: p.row_id)
    return plan


def _planned(
    row: Failed,
    audience: Audience,
    routes: tuple[Route, ...],
    *,
    replaced_by: tuple[str, ...] = (),
    covered: bool = False,
) -> Planned:
    assert row.item is not None
    group = (pass_of(row.batch), row.unit_id, audience, row.stage == DIGEST)
    return Planned(row.row_id, group, row.item, routes, replaced_by, covered)


def _refusal(row: Failed, entries: Mapping[int, UnitEntry]) -> str | None:
    if row.item is None:
        return "该投递对应的义务已不存在"
    status = row.obligation_status or ""
    if status not in RESENDABLE:
        name = STATUS_NAMES.get(status, status)
        return f"义务当前状态为“{name}”，不再催办，不重发"
    if row.unit_id is not None and row.unit_id not in entries:
        return f"目录中已没有单位 #{row.unit_id}"
    return None


def _own_key(
    row: Failed, tried: Iterable[Audience], entry: UnitEntry | None, office_email: str
) -> tuple[Audience, Route] | None:
    for audience in tried:
        for route, key in keyed_routes(row, audience, entry, office_email):
            if key == row.key:
                return audience, route
    return None


def _gone(row: Failed, entry: UnitEntry | None) -> str:
    name = entry.unit.name if entry else "办公室"
    if row.channel_type == "email":
        return f"{name}已没有可用的邮件渠道或带邮箱的联系人，无法重发"
    return f"{name}已没有启用的 {row.channel_type} 渠道（已删除或停用），无法重发"
