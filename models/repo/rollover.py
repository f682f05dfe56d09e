"""The roll-over of recurring duties in set-based statements: missed occurrences close as 逾期未报.

When the next occurrence of a recurring duty falls due (`lapses_on`, 00:00 Shanghai), the engine's
first answer for a still-chased row is `Stage.LAPSE` (schedules/rules.py `decide`): no message,
the row goes to `lapsed`, its queue lines close. The tick used to reach those rows through its
claim rounds (ORM objects, the engine per row, one queue query per lapsed row). `lapse_due` does
the same to every such row before the rounds, `ROUND` rows per statement and transaction: the
rows are selected (locked, rows another session holds skipped), updated and audited in one
statement on PostgreSQL (three elsewhere), their queue lines closed in one query. Each row
and audit record is exactly what `record_actions` writes for a lapse (tests/models/test_rollover.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, text
from sqlmodel import Session

from models.repo.bulk import insert_rows, is_postgres, one_of, update_rows
from models.repo.chase import LAPSED_REASON, resolve_queues
from models.tables import AuditEvent, Milestone, Obligation, Plan, Task
from schedules.clock import OFFICE_TZ
from schedules.machine import Event
from schedules.obligation import CHASED_STATUSES, Reason, Stage, Status

if TYPE_CHECKING:
    from flows.context import FlowContext

ROUND = 20_000  # rows per statement and transaction
_TABLE = Obligation.__table__  # type: ignore[attr-defined]
_OB = _TABLE.c
_CHASED = sorted(s.value for s in CHASED_STATUSES)


def _due(now: datetime) -> Any:
    """Rows the tick would claim now whose next occurrence is due: the engine says LAPSE."""
    today = now.astimezone(OFFICE_TZ).date()
    return and_(
        _OB.next_action_at <= now,
        or_(_OB.lease_until.is_(None), _OB.lease_until < now),
        _OB.status.in_(_CHASED),
        _OB.lapses_on.is_not(None),
        _OB.lapses_on > _OB.due_on,  # extended past the next occurrence: never rolls over
        _OB.lapses_on <= today,  # 00:00 of lapses_on, Shanghai, is past
    )


def rolling_milestones(session: Session, ctx: FlowContext, now: datetime) -> list[int]:
    """Milestones of active plans with rows to roll over now whose policy rolls over."""
    conn = session.connection()
    found = conn.execute(
        select(_OB.plan_id, _OB.task_id, _OB.milestone_id)
        .join(Plan.__table__, Plan.__table__.c.id == _OB.plan_id)  # type: ignore[attr-defined]
        .where(_due(now), Plan.__table__.c.status == "active")  # type: ignore[attr-defined]
        .distinct()
    ).all()
    ids: list[int] = []
    for plan_id, task_id, ms_id in found:
        plan, task, ms = (
            session.get(Plan, plan_id),
            session.get(Task, task_id),
            session.get(Milestone, ms_id),
        )
        if plan and task and ms and ctx.policy_for(plan, task, ms).roll_over:
            ids.append(ms_id)
    return sorted(ids)


def lapse_due(
    *,
    engine_session: Callable[[], Session],
    ctx: FlowContext,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Close every missed occurrence whose next one is due, `ROUND` rows per transaction. Commits.

    Returns how many rows lapsed.
    """
    done = 0
    with engine_session() as session:
        milestones = rolling_milestones(session, ctx, now)
        session.rollback()
    if not milestones:
        return 0
    last = 0
    while True:
        with engine_session() as session:
            n, last = _lapse_round(session, milestones, now, last)
            session.commit()
        done += n
        if n and progress is not None:
            progress(done)
        if n < ROUND:
            return done


# PostgreSQL: one statement per round, the rows never leave the server (the audit records are
# built from what the UPDATE returns, with the status each row had).
_PG_ROUND = text(
    """
WITH picked AS (
    SELECT id, status FROM obligation
    WHERE milestone_id = ANY(:milestones) AND id > :after
        AND next_action_at <= :now AND (lease_until IS NULL OR lease_until < :now)
        AND status = ANY(:chased) AND lapses_on IS NOT NULL AND lapses_on > due_on
        AND lapses_on <= :today
    ORDER BY id LIMIT :round FOR UPDATE SKIP LOCKED
), lapsed AS (
    UPDATE obligation AS o
    SET status = 'lapsed', last_seq = 'lapse@' || to_char(o.due_on, 'YYYY-MM-DD'),
        last_action_at = :now, requested_due = NULL, next_action_at = NULL, updated_at = :now,
        version = o.version + 1, lease_owner = NULL, lease_until = NULL
    FROM picked WHERE o.id = picked.id
    RETURNING o.id, picked.status AS before, o.escalation_level, o.last_seq
), audited AS (
    INSERT INTO audit_event (at, actor, entity, entity_id, action, from_status, to_status,
        reason, data)
    SELECT :now, 'duban', 'obligation', id, 'lapse', before, 'lapsed', :reason,
        json_build_object('level_before', escalation_level, 'level_after', escalation_level,
                          'stage', 'lapse', 'seq', last_seq)
    FROM lapsed ORDER BY id
    RETURNING entity_id
), queued AS (
    SELECT DISTINCT q.obligation_id FROM queue_item q JOIN lapsed l ON q.obligation_id = l.id
    WHERE q.status <> 'resolved'
)
SELECT (SELECT count(*) FROM audited), (SELECT max(entity_id) FROM audited),
    (SELECT array_agg(obligation_id ORDER BY obligation_id) FROM queued)
"""
)


def _lapse_round_pg(
    session: Session, milestones: list[int], now: datetime, after: int
) -> tuple[int, int]:
    conn = session.connection()
    params = {
        "milestones": milestones, "after": after, "now": now, "chased": _CHASED,
        "today": now.astimezone(OFFICE_TZ).date(), "round": ROUND,
        "reason": Reason.ROLLED_OVER.value,
    }  # fmt: skip
    count, last, queued = conn.execute(_PG_ROUND, params).one()
    if not count:
        return 0, after
    resolve_queues(session, list(queued or []), "duban", now, reason=LAPSED_REASON)
    return int(count), int(last)


def _lapse_round(
    session: Session, milestones: list[int], now: datetime, after: int
) -> tuple[int, int]:
    if is_postgres(session):
        return _lapse_round_pg(session, milestones, now, after)
    conn = session.connection()
    rows: list[Any] = []
    for cond in one_of(session, _OB.milestone_id, milestones):
        stmt = (
            select(_OB.id, _OB.status, _OB.escalation_level, _OB.due_on, _OB.version)
            .where(cond, _due(now), _OB.id > after)
            .order_by(_OB.id)
            .limit(ROUND)
            .with_for_update(skip_locked=True)
        )
        rows += conn.execute(stmt).all()
    rows = sorted(rows, key=lambda r: r.id)[:ROUND]
    if not rows:
        return 0, after
    updates = [
        {
            "id": r.id,
            "status": Status.LAPSED.value,
            "last_seq": _seq(r.due_on),
            "last_action_at": now,
            "requested_due": None,
            "next_action_at": None,
            "updated_at": now,
            "version": r.version + 1,
        }
        for r in rows
    ]
    release = {"lease_owner": None, "lease_until": None}
    update_rows(session, _TABLE, updates, constants=release)
    audits = [
        {
            "at": now,
            "actor": "duban",
            "entity": "obligation",
            "entity_id": r.id,
            "action": Event.LAPSE.value,
            "from_status": r.status,
            "to_status": Status.LAPSED.value,
            "reason": Reason.ROLLED_OVER.value,
            "data": {
                "level_before": r.escalation_level,
                "level_after": r.escalation_level,
                "stage": Stage.LAPSE.value,
                "seq": _seq(r.due_on),
            },
        }
        for r in rows
    ]
    insert_rows(session, AuditEvent.__table__, audits)  # type: ignore[attr-defined]
    resolve_queues(session, [r.id for r in rows], "duban", now, reason=LAPSED_REASON)
    return len(rows), rows[-1].id


def _seq(due: Any) -> str:
    return f"{Stage.LAPSE.value}@{due.isoformat()}"
