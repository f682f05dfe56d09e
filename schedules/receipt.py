"""再次交办: which 交办 or 督办 a unit has not 签收 in time is sent once more (pure).

A 交办 (or a 督办) sent and still not confirmed (签收) `receipt_days` after it was sent (calendar
days or working days, `receipt_unit`, as the policy's other offsets count) is re-sent once. A
督办 re-send covers the 交办's: the unit hears once about the most severe message it did not
confirm. Nothing is re-sent for an obligation already confirmed, reported (submitted), done
(accepted), waived, closed as 逾期未报 or waiting on the office's confirmation, nor outside the
office window (it waits for the next opening, like every other send).

The flows read the state (flows/receipts.py), group the re-sends one message per unit and record
each one (audit `receipt_resent`); the delivery key (stage `receipt`, seq below) keeps a second
tick, or a restart between sending and recording, from sending it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from schedules.assessment import Weights
from schedules.calendar import WorkCalendar
from schedules.clock import OFFICE_TZ
from schedules.obligation import CHASED_STATUSES, Stage, Status
from schedules.policy import Policy
from schedules.slots import find_next_opening, is_in_window, make_instant

STAGE = "receipt"
_TICK = timedelta(
    minutes=1
)  # the service's tick after the deadline  # the delivery stage of a re-send (notify template `receipt`)


class Resent(StrEnum):
    """What a re-send repeats."""

    ASSIGN = "assign"  # the 交办
    OFFICE = "office"  # the 督办


@dataclass(frozen=True)
class ReceiptState:
    """What the rule needs about one obligation: its status and due date, whether it was 签收,
    when its 交办 and 督办 were first delivered (None: never), and what was already re-sent."""

    status: Status
    due: date
    received: bool
    assign_sent_at: datetime | None = None
    office_sent_at: datetime | None = None
    resent: frozenset[Resent] = frozenset()


@dataclass(frozen=True)
class ResendAction:
    """Re-send `kind` now; `seq` is the delivery key's occurrence (`receipt-office@2024-09-26`)."""

    kind: Resent
    seq: str
    sent_at: datetime  # when the message being repeated was delivered


def receipt_deadline(sent_at: datetime, weights: Weights, cal: WorkCalendar) -> datetime:
    """The instant after which a message sent at `sent_at` counts as not confirmed in time."""
    if weights.receipt_unit == "workdays":
        local = sent_at.astimezone(OFFICE_TZ)
        day = cal.add_workdays(local.date(), weights.receipt_days)
        return make_instant(day, local.time().replace(tzinfo=None))
    return sent_at + timedelta(days=weights.receipt_days)


def decide_resend(
    state: ReceiptState, weights: Weights, window: Policy, cal: WorkCalendar, now: datetime
) -> ResendAction | None:
    """The re-send due for `state` at `now`, or None. `window` gives the office window."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now 必须带时区（收到无时区时间 {now.isoformat()}）")
    if not weights.receipt_resend or state.received or state.status not in CHASED_STATUSES:
        return None
    if Resent.OFFICE in state.resent:
        return None  # the 督办's re-send covered everything: never a third message
    kind, sent = (
        (Resent.OFFICE, state.office_sent_at)
        if state.office_sent_at is not None
        else (Resent.ASSIGN, state.assign_sent_at)
    )
    if sent is None or kind in state.resent or now <= receipt_deadline(sent, weights, cal):
        return None
    if not is_in_window(now, window, cal):
        return None
    return ResendAction(kind, f"{STAGE}-{kind.value}@{state.due.isoformat()}", sent)


def count_resends(
    sent: Iterable[tuple[str, str, Stage, datetime, date]],
    weights: Weights,
    window: Policy,
    cal: WorkCalendar,
    end: datetime,
) -> tuple[int, int]:
    """For a simulation in which no unit 签收s: (items, messages) re-sent by `end`.

    `sent` lists (unit, task, stage, instant, due) of the 交办 and 督办 sent; a message is one unit at
    one instant (the tick's grouping). An item reported meanwhile is still counted: an upper bound.
    """
    first: dict[tuple[str, str, date], dict[Stage, datetime]] = {}
    for unit, task, stage, sent_at, due in sent:
        if stage in (Stage.ASSIGN, Stage.OFFICE):
            first.setdefault((unit, task, due), {}).setdefault(stage, sent_at)
    items, messages = 0, set()
    for (unit, _, _), by_stage in first.items():
        for stage in (Stage.ASSIGN, Stage.OFFICE):
            at = by_stage.get(stage)
            if at is None:
                continue
            when = find_next_opening(receipt_deadline(at, weights, cal) + _TICK, window, cal)
            if when <= end and weights.receipt_resend:
                items += 1
                messages.add((unit, when))
    return items, len(messages)
