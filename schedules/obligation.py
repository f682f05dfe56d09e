"""Value types of the scheduling core: stages, reasons, statuses, state, actions (pure).

Re-exported by :mod:`schedules.rules`; import them from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class Stage(StrEnum):
    """What kind of send an action is."""

    ASSIGN = "assign"  # 交办: the unit's duties, once, when the plan (or the unit) starts
    REMIND = "remind"  # 提醒, level 0
    CHASE = "chase"  # 催办, level 1
    OFFICE = "office"  # 督办, level 2
    LEADER = "leader"  # 通报, level 3
    LAPSE = "lapse"  # 逾期未报: the next occurrence fell due; closes this one (no message)


STAGE_LEVEL: dict[Stage, int] = {
    Stage.ASSIGN: 0,
    Stage.REMIND: 0,
    Stage.CHASE: 1,
    Stage.OFFICE: 2,
    Stage.LEADER: 3,
    Stage.LAPSE: 0,
}


class Recipient(StrEnum):
    """Who receives an action, by role; the directory resolves roles to people."""

    UNIT_CONTACTS = "unit_contacts"  # 单位联络人
    UNIT_HEAD = "unit_head"  # 单位负责人
    LEADER = "leader"  # 分管区领导
    OFFICE_QUEUE = "office_queue"  # 办公室督办队列
    OFFICE_DIGEST = "office_digest"  # 办公室通报汇总


STAGE_RECIPIENTS: dict[Stage, tuple[Recipient, ...]] = {
    Stage.ASSIGN: (Recipient.UNIT_CONTACTS,),
    Stage.REMIND: (Recipient.UNIT_CONTACTS,),
    Stage.CHASE: (Recipient.UNIT_CONTACTS,),
    # An escalation replaces that day's chase, so the unit's contacts hear about it too.
    Stage.OFFICE: (Recipient.UNIT_CONTACTS, Recipient.UNIT_HEAD, Recipient.OFFICE_QUEUE),
    Stage.LEADER: (
        Recipient.UNIT_CONTACTS,
        Recipient.UNIT_HEAD,
        Recipient.LEADER,
        Recipient.OFFICE_DIGEST,
    ),
    Stage.LAPSE: (),
}


class Reason(StrEnum):
    """Why an action is sent, or why nothing is; stored with each notification."""

    NONE = "none"  # nothing scheduled at all
    ASSIGNED = "assigned"  # 交办 at activation, or when the unit joins the plan
    EARLY_REMINDER = "early_reminder"  # a long lead time's early reminder (30 days before)
    FIRST_REMINDER = "first_reminder"
    REPEAT_DUE = "repeat_due"  # a later reminder before the deadline
    DUE_TODAY = "due_today"  # the due-day reminder (moved to the previous working day if needed)
    FIRST_CHASE = "first_chase"
    REPEAT_CHASE = "repeat_chase"
    MANUAL_CHASE = "manual_chase"  # the office asked for one more 催办 (催办 again from the queue)
    ESCALATE_OFFICE = "escalate_office"
    ESCALATE_LEADER = "escalate_leader"
    ROLLED_OVER = "rolled_over"  # the next occurrence fell due: this one closes as 逾期未报
    WAITING = "waiting"  # nothing due now; see next_at
    OUTSIDE_WINDOW = "outside_window"  # something is due but now is outside the office window
    AWAITING_ACCEPTANCE = "awaiting_acceptance"  # submitted; the office has to accept or reopen
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # past at activation; the office confirms
    RESOLVED = "resolved"  # accepted (销号), waived, or closed as 逾期未报


class Status(StrEnum):
    """Lifecycle status of an obligation (see :mod:`schedules.machine`)."""

    OPEN = "open"
    REMINDED = "reminded"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REOPENED = "reopened"
    EXTENSION_REQUESTED = "extension_requested"
    WAIVED = "waived"
    TO_CONFIRM = "to_confirm"
    LAPSED = "lapsed"  # 逾期未报: missed, and the next occurrence is due; no longer chased


# Statuses in which the engine keeps reminding and chasing.
CHASED_STATUSES = frozenset(
    {
        Status.OPEN,
        Status.REMINDED,
        Status.OVERDUE,
        Status.ESCALATED,
        Status.REOPENED,
        Status.EXTENSION_REQUESTED,
    }
)
# Not chased any more. A lapsed occurrence may still be reported late, accepted or waived.
TERMINAL_STATUSES = frozenset({Status.ACCEPTED, Status.WAIVED, Status.LAPSED})


@dataclass(frozen=True)
class ObligationState:
    """What the engine needs to know about one obligation (one occurrence × one unit).

    ``since``: actions scheduled before this instant are never sent (activation, reopen or
    extension time). ``last_sent_at``: actions scheduled at or before it are done or skipped.
    ``assign_at``: the 交办 is due at this instant (None: no 交办 for this obligation).
    ``chase_requested_at``: the office asked for one more 催办 then (pending while later than
    ``last_sent_at``). ``starts_on``: where the lead time starts (交办 day or the previous
    occurrence's due date). ``lapses_on``: the next occurrence's due date of a recurring duty.
    """

    due: date
    status: Status = Status.OPEN
    level: int = 0  # highest escalation level reached: 0 none, 1 催办, 2 督办, 3 通报
    is_lead: bool = True
    since: datetime | None = None
    last_stage: Stage | None = None
    last_seq: str | None = None
    last_sent_at: datetime | None = None
    requested_due: date | None = None  # while an extension is requested
    assign_at: datetime | None = None
    chase_requested_at: datetime | None = None
    starts_on: date | None = None
    lapses_on: date | None = None


@dataclass(frozen=True)
class Action:
    """One send: what, to whom, when (aware, UTC), why, and a stable per-obligation ``seq``.

    ``seq`` identifies the scheduled occurrence for dedupe keys, e.g. ``remind-5@2024-09-26``,
    ``chase-2024-09-27@2024-09-26``, ``office@2024-09-26`` (the suffix is the due date, so an
    extension's new reminders never collide with the old ones).
    """

    stage: Stage
    level: int
    at: datetime
    recipients: tuple[Recipient, ...]
    reason: Reason
    seq: str
    due: date
    scheduled_at: datetime  # the timeline instant; ``at`` is later when catching up


@dataclass(frozen=True)
class Decision:
    """The engine's answer: the action to perform now (if any) and when to ask again."""

    action: Action | None
    next_at: datetime | None
    reason: Reason
