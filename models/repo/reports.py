"""The 通报's and the 任务清单's counts, set-based (one GROUP BY per figure, never row by row).

Read-only. The meaning of every count is defined in `schedules/report.py`; this module states it in
SQL. Each figure is computed "as of" an instant from the rows' own timestamps (submitted_at,
lapses_on, the queue item's created_at, the extension's decided_at), so a month's 通报 reads the same
when it is drafted again later.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import and_, case, func, not_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from models.directory import Unit
from models.tables import ExtensionRequest, Milestone, Obligation, Plan, QueueItem, Task
from schedules.clock import OFFICE_TZ
from schedules.report import (
    Escalation,
    LateItem,
    MonthReport,
    UnitCounts,
    month_as_of,
    next_month,
    previous_month,
)

ob = Obligation.__table__  # type: ignore[attr-defined]
qi = QueueItem.__table__  # type: ignore[attr-defined]
ext = ExtensionRequest.__table__  # type: ignore[attr-defined]
unit_t = Unit.__table__  # type: ignore[attr-defined]
task_t = Task.__table__  # type: ignore[attr-defined]
ms_t = Milestone.__table__  # type: ignore[attr-defined]
plan_t = Plan.__table__  # type: ignore[attr-defined]

DONE = ("submitted", "accepted")
ESCALATED_LEVEL = 2  # 督办 and above


class Cases:
    """The classification of one obligation row as of `as_of`, as SQL boolean expressions."""

    def __init__(self, as_of: datetime) -> None:
        day = as_of.astimezone(OFFICE_TZ).date()
        self.done = and_(ob.c.status.in_(DONE), ob.c.submitted_at < as_of)
        self.on_time = and_(self.done, ob.c.submitted_at <= ob.c.due_at)
        self.late = and_(self.done, ob.c.submitted_at > ob.c.due_at)
        # A lapse happens on lapses_on (when the next occurrence falls due), never before it.
        # At a midnight instant the lapses of that very day have not happened yet.
        midnight = as_of.astimezone(OFFICE_TZ).time() == time(0, 0)
        lapsed_by = ob.c.lapses_on < day if midnight else ob.c.lapses_on <= day
        self.lapsed = and_(ob.c.status == "lapsed", lapsed_by)
        self.waived = ob.c.status == "waived"
        self.to_confirm = ob.c.status == "to_confirm"
        self.overdue = and_(
            not_(self.done),
            not_(self.lapsed),
            not_(self.waived),
            not_(self.to_confirm),
            ob.c.due_at < as_of,
        )
        self.pending = and_(
            not_(self.done),
            not_(self.lapsed),
            not_(self.waived),
            not_(self.to_confirm),
            ob.c.due_at >= as_of,
        )
        # The two flags come from pre-aggregated subqueries joined once (a hash join), not a
        # correlated EXISTS per row.
        self.granted = (
            select(ext.c.obligation_id)
            .where(ext.c.status == "granted", ext.c.decided_at < as_of)
            .group_by(ext.c.obligation_id)
            .subquery("granted")
        )
        self.queued = (
            select(qi.c.obligation_id, func.max(qi.c.level).label("level"))
            .where(qi.c.level >= 1, qi.c.created_at < as_of)
            .group_by(qi.c.obligation_id)
            .subquery("queued")
        )
        self.extended = self.granted.c.obligation_id.is_not(None)
        self.escalated = func.coalesce(self.queued.c.level, 0) >= ESCALATED_LEVEL

    def joined(self, base: Any) -> Any:
        """`base` (a FROM over obligation) with the two flag subqueries left-joined."""
        return base.outerjoin(self.granted, self.granted.c.obligation_id == ob.c.id).outerjoin(
            self.queued, self.queued.c.obligation_id == ob.c.id
        )


_CASES = (
    "on_time", "late", "overdue", "lapsed", "pending", "waived", "to_confirm", "extended", "escalated",
)  # fmt: skip


def _classified(c: Any) -> list[Any]:
    """The row count and one count per case, labelled as `UnitCounts`' fields."""
    return [func.count().label("due"), *(_n(getattr(c, k)).label(k) for k in _CASES)]


def _n(cond: ColumnElement[bool]) -> Any:
    return func.sum(case((cond, 1), else_=0))


def _scope(plan_ids: Sequence[int] | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [ob.c.role == "lead"]
    if plan_ids is not None:
        where.append(ob.c.plan_id.in_(list(plan_ids)))
    return where


def active_plan_ids(conn: Connection) -> list[int]:
    """Every active plan's id (the office's cross-plan 通报)."""
    rows = conn.execute(
        select(plan_t.c.id).where(plan_t.c.status == "active").order_by(plan_t.c.id)
    )
    return [r[0] for r in rows]


def unit_counts(
    conn: Connection,
    *,
    plan_ids: Sequence[int] | None,
    start: date,
    end: date,
    as_of: datetime,
    unit_ids: Sequence[int] | None = None,
) -> tuple[UnitCounts, ...]:
    """Per unit: the obligations due in [start, end) classified as of `as_of`, plus everything due
    before `end` still overdue then (open_overdue). Two GROUP BY queries."""
    c = Cases(as_of)
    where = _scope(plan_ids)
    if unit_ids is not None:
        where.append(ob.c.unit_id.in_(list(unit_ids)))
    in_period = and_(ob.c.due_on >= start, ob.c.due_on < end)
    month = (
        select(
            ob.c.unit_id,
            *_classified(c),
        )
        .select_from(c.joined(ob))
        .where(*where, in_period)
        .group_by(ob.c.unit_id)
    )
    backlog = (
        select(ob.c.unit_id, func.count().label("open_overdue"))
        .where(*where, ob.c.due_on < end, c.overdue)
        .group_by(ob.c.unit_id)
    )
    counts = {r.unit_id: r._asdict() for r in conn.execute(month)}
    open_overdue = {r.unit_id: r.open_overdue for r in conn.execute(backlog)}
    ids = set(counts) | set(open_overdue)
    if not ids:
        return ()
    names: dict[int, str] = dict(
        conn.execute(select(unit_t.c.id, unit_t.c.name).where(unit_t.c.id.in_(list(ids)))).all()
    )
    out = []
    for uid in ids:
        row = counts.get(uid, {})
        out.append(
            UnitCounts(
                unit_id=uid,
                unit=names.get(uid, f"单位{uid}"),
                **{k: int(v or 0) for k, v in row.items() if k != "unit_id"},
                open_overdue=int(open_overdue.get(uid, 0)),
            )
        )
    return tuple(sorted(out, key=lambda r: r.unit))


def late_items(
    conn: Connection,
    *,
    plan_ids: Sequence[int] | None,
    before: date,
    as_of: datetime,
    limit: int = 200,
    count: bool = True,
) -> tuple[tuple[LateItem, ...], int]:
    """What is overdue as of `as_of` (due before `before`), oldest first: up to `limit`, and the
    count (-1 when `count` is False: the caller has it from `unit_counts`' open_overdue)."""
    c = Cases(as_of)
    where = [*_scope(plan_ids), ob.c.due_on < before, c.overdue]
    total = -1
    if count:
        total = conn.execute(select(func.count()).select_from(ob).where(*where)).scalar_one()
    stmt = (
        select(
            ob.c.id,
            unit_t.c.name,
            task_t.c.ref,
            task_t.c.title,
            ms_t.c.label,
            ob.c.due_on,
            func.coalesce(c.queued.c.level, 0).label("level"),
            c.extended.label("extended"),
        )
        .select_from(c.joined(ob))
        .join(unit_t, unit_t.c.id == ob.c.unit_id)
        .join(task_t, task_t.c.id == ob.c.task_id)
        .join(ms_t, ms_t.c.id == ob.c.milestone_id)
        .where(*where)
        .order_by(ob.c.due_on, unit_t.c.name, ob.c.id)
        .limit(limit)
    )
    day = as_of.astimezone(OFFICE_TZ).date()
    items = tuple(
        LateItem(
            obligation_id=r[0],
            unit=r[1],
            task_ref=r[2],
            task_title=r[3],
            milestone=r[4],
            due_on=r[5],
            days_late=max((day - r[5]).days, 0),
            level=int(r[6] or 0),
            extended=bool(r[7]),
        )
        for r in conn.execute(stmt)
    )
    return items, int(total)


def escalations(
    conn: Connection,
    *,
    plan_ids: Sequence[int] | None,
    start: datetime,
    end: datetime,
    limit: int = 200,
) -> tuple[tuple[Escalation, ...], int]:
    """The 督办 (and higher) queue items opened in [start, end): the first `limit`, and the count."""
    opened = [*_scope(plan_ids), qi.c.level >= ESCALATED_LEVEL]
    opened += [qi.c.created_at >= start, qi.c.created_at < end]
    total = conn.execute(
        select(func.count()).select_from(qi.join(ob, ob.c.id == qi.c.obligation_id)).where(*opened)
    ).scalar_one()
    stmt = (
        select(
            ob.c.id,
            unit_t.c.name,
            task_t.c.ref,
            task_t.c.title,
            ob.c.due_on,
            qi.c.level,
            qi.c.created_at,
            qi.c.status,
        )
        .select_from(qi.join(ob, ob.c.id == qi.c.obligation_id))
        .join(unit_t, unit_t.c.id == ob.c.unit_id)
        .join(task_t, task_t.c.id == ob.c.task_id)
        .where(*opened)
        .order_by(qi.c.created_at, unit_t.c.name, ob.c.id)
        .limit(limit)
    )
    out = []
    for r in conn.execute(stmt):
        out.append(
            Escalation(
                obligation_id=r[0],
                unit=r[1],
                task_ref=r[2],
                task_title=r[3],
                due_on=r[4],
                level=int(r[5]),
                opened_on=r[6].astimezone(OFFICE_TZ).date(),
                status=r[7],
            )
        )
    return tuple(out), int(total)


def month_report(
    conn: Connection, *, plan_ids: Sequence[int] | None, month: date, scope: str, limit: int = 200
) -> MonthReport:
    """The month's 通报 figures for `plan_ids` (None: every plan), with last month's for comparison."""
    as_of = month_as_of(month)
    end = next_month(month)
    start_at = datetime.combine(month, time(0, 0), tzinfo=OFFICE_TZ)
    prev = previous_month(month)
    units = unit_counts(conn, plan_ids=plan_ids, start=month, end=end, as_of=as_of)
    items, _ = late_items(
        conn, plan_ids=plan_ids, before=end, as_of=as_of, limit=limit, count=False
    )
    raised, raised_total = escalations(
        conn, plan_ids=plan_ids, start=start_at, end=as_of, limit=limit
    )
    return MonthReport(
        scope=scope,
        plan_ids=tuple(plan_ids or ()),
        month=month,
        as_of=as_of,
        units=units,
        late_items=items,
        late_total=sum(u.open_overdue for u in units),
        escalations=raised,
        escalation_total=raised_total,
        previous_units=unit_counts(
            conn, plan_ids=plan_ids, start=prev, end=month, as_of=month_as_of(prev)
        ),
    )


def any_rows(conn: Connection, plan_ids: Sequence[int] | None) -> bool:
    """Whether the scope holds any lead obligation at all."""
    stmt = select(ob.c.id).where(*_scope(plan_ids)).limit(1)
    return conn.execute(stmt).first() is not None


def task_counts(
    conn: Connection,
    *,
    plan_id: int,
    as_of: datetime,
    unit_ids: Sequence[int] | None = None,
) -> dict[int, UnitCounts]:
    """Per task of the plan: every lead obligation (any date) classified as of `as_of`; the
    任务清单's 完成情况. One GROUP BY; `unit` holds the task's ref."""
    c = Cases(as_of)
    where = _scope([plan_id])
    if unit_ids is not None:
        where.append(ob.c.unit_id.in_(list(unit_ids)))
    stmt = (
        select(
            ob.c.task_id,
            *_classified(c),
        )
        .select_from(c.joined(ob))
        .where(*where)
        .group_by(ob.c.task_id)
    )
    out = {}
    for r in conn.execute(stmt):
        row = {k: int(v or 0) for k, v in r._asdict().items() if k != "task_id"}
        out[r.task_id] = UnitCounts(
            unit_id=None, unit=str(r.task_id), **row, open_overdue=row["overdue"]
        )
    return out


def task_notes(
    conn: Connection, *, plan_id: int, unit_ids: Sequence[int] | None = None
) -> dict[int, dict[str, Any]]:
    """Per task: the latest 进展 (progress note, else the latest submission's note, with the unit)
    and the obligations with 佐证 files (ids, up to 5) with the file count. Three GROUP BYs."""
    from models.people import EvidenceFile, ProgressReport
    from models.tables import Submission

    pr = ProgressReport.__table__  # type: ignore[attr-defined]
    sub = Submission.__table__  # type: ignore[attr-defined]
    ev = EvidenceFile.__table__  # type: ignore[attr-defined]
    where = _scope([plan_id])
    if unit_ids is not None:
        where.append(ob.c.unit_id.in_(list(unit_ids)))
    out: dict[int, dict[str, Any]] = {}
    for table, key in ((sub, "submitted"), (pr, "progress")):  # progress wins: read second
        latest = (
            select(ob.c.task_id, func.max(table.c.id).label("last"))
            .select_from(table.join(ob, ob.c.id == table.c.obligation_id))
            .where(*where)
            .group_by(ob.c.task_id)
            .subquery()
        )
        text_col = table.c.note if key == "submitted" else table.c.text
        rows = conn.execute(
            select(latest.c.task_id, text_col, table.c.by, table.c.at).join(
                table, table.c.id == latest.c.last
            )
        )
        for task_id, text, by, at in rows:
            if (text or "").strip():
                out.setdefault(task_id, {})["progress"] = f"{by}：{text.strip()}"
                out[task_id]["progress_at"] = at
    files = conn.execute(
        select(ob.c.task_id, func.count(ev.c.id), func.min(ev.c.obligation_id))
        .select_from(ev.join(ob, ob.c.id == ev.c.obligation_id))
        .where(*where)
        .group_by(ob.c.task_id)
    )
    for task_id, n, first in files:
        out.setdefault(task_id, {})
        out[task_id]["files"], out[task_id]["first_evidence"] = int(n), int(first)
    return out


def receipt_counts(
    conn: Connection,
    *,
    plan_ids: Sequence[int] | None,
    start: date,
    end: date,
    as_of: datetime,
    grace_days: int,
) -> dict[int, tuple[int, int]]:
    """Per unit: (未签收, 签收超时) over the lead obligations whose 交办 was due in [start, end)
    and before `as_of`: no receipt before `as_of`, or one more than `grace_days` after the 交办.
    One GROUP BY (the day arithmetic in the database's own dialect)."""
    from models.people import Receipt

    rc = Receipt.__table__  # type: ignore[attr-defined]
    start_at = datetime.combine(start, time(0, 0), tzinfo=OFFICE_TZ)
    end_at = datetime.combine(end, time(0, 0), tzinfo=OFFICE_TZ)
    seconds: ColumnElement[Any]
    if conn.dialect.name == "postgresql":
        seconds = func.extract("epoch", rc.c.at - ob.c.assign_at)
    else:
        seconds = (func.julianday(rc.c.at) - func.julianday(ob.c.assign_at)) * 86400
    confirmed = and_(rc.c.id.is_not(None), rc.c.at < as_of)
    stmt = (
        select(
            ob.c.unit_id,
            _n(not_(confirmed)).label("unconfirmed"),
            _n(and_(confirmed, seconds > grace_days * 86400)).label("late"),
        )
        .select_from(ob.outerjoin(rc, rc.c.obligation_id == ob.c.id))
        .where(*_scope(plan_ids), ob.c.assign_at >= start_at, ob.c.assign_at < end_at)
        .where(ob.c.assign_at < as_of)
        .group_by(ob.c.unit_id)
    )
    return {r.unit_id: (int(r.unconfirmed or 0), int(r.late or 0)) for r in conn.execute(stmt)}


def assessment(
    conn: Connection,
    *,
    plan_ids: Sequence[int] | None,
    start: date,
    end: date,
    weights: Any,
) -> list[Any]:
    """考核 over [start, end) (as of `end`'s first instant): every unit's score, ranked."""
    from schedules.assessment import rank, score_unit

    as_of = datetime.combine(end, time(0, 0), tzinfo=OFFICE_TZ)
    units = unit_counts(conn, plan_ids=plan_ids, start=start, end=end, as_of=as_of)
    receipts = receipt_counts(
        conn,
        plan_ids=plan_ids,
        start=start,
        end=end,
        as_of=as_of,
        grace_days=weights.receipt_days,
    )
    scores = []
    for u in units:
        if not u.due:
            continue
        unconfirmed, late = receipts.get(u.unit_id or 0, (0, 0))
        scores.append(score_unit(u, weights, unconfirmed=unconfirmed, receipt_late=late))
    return rank(scores)


def overdue_ages(
    conn: Connection, *, plan_ids: Sequence[int] | None, as_of: datetime
) -> list[tuple[int, int]]:
    """(days late, how many) of what is overdue as of `as_of`: one GROUP BY on the due date."""
    c = Cases(as_of)
    day = as_of.astimezone(OFFICE_TZ).date()
    stmt = (
        select(ob.c.due_on, func.count()).where(*_scope(plan_ids), c.overdue).group_by(ob.c.due_on)
    )
    return [(max((day - d).days, 0), int(n)) for d, n in conn.execute(stmt)]
