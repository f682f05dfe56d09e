"""Materialise obligations (milestone occurrence × responsible unit) for active plans, idempotently.

Groups named by a task (各街镇 …) expand through the directory; a name the directory does not know
is a pending unit and still owes its obligations (the office is told to complete its contacts).
Occurrences already past at activation go to the office's "confirm status" list (`to_confirm`).

Each new row carries what the policy's ladder needs: `assign_at` on the first open occurrence of
each duty for a unit that had none of it before (the 交办 lists it: at activation, or when the
unit joins later), `starts_on` (the previous occurrence, else today: where the lead time starts)
and, for a recurring duty, `lapses_on` (the next occurrence: when a missed one closes as 逾期未报).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.directory import Unit
from models.repo.audit import record_event
from models.repo.bulk import insert_rows, is_postgres, update_rows
from models.repo.bulk_obligations import (
    SetWriter,
    occurrence_links,
    plan_is_fresh,
    templates_for,
)
from models.repo.chase import due_instant, next_action_time, state_of
from models.repo.units import ensure_pending_unit, find_group, find_unit, group_members
from models.tables import Milestone, Obligation, Plan, Task, TaskUnit
from schedules.clock import OFFICE_TZ
from schedules.policy import Policy
from schedules.progress import PROGRESS_REF, Linked
from schedules.recurrence import MilestoneSpec, expand_occurrences
from schedules.rules import needs_confirmation

if TYPE_CHECKING:
    from flows.context import FlowContext


@dataclass
class MaterialiseReport:
    """What one materialisation created and what it could not expand."""

    created: int = 0
    to_confirm: int = 0
    existing: int = 0
    unexpanded: set[str] = field(default_factory=set)
    pending: list[dict[str, Any]] = field(default_factory=list, repr=False)
    progress: Callable[[int], None] | None = field(default=None, repr=False)
    # PostgreSQL: the rows are built by the server from per-occurrence templates (set-based).
    writer: SetWriter | None = field(default=None, repr=False)

    def add(self, session: Session, row: dict[str, Any]) -> None:
        """Buffer one new row; every CHUNK rows go in one bulk INSERT (bounded memory)."""
        self.pending.append(row)
        if len(self.pending) >= CHUNK:
            self.flush(session)

    def flush(self, session: Session) -> None:
        """Write the buffered rows (one statement on PostgreSQL: the rows as one JSON document)."""
        if self.writer is not None:
            self.count(self.writer.flush(session))
        if self.pending:
            insert_rows(session, _OBLIGATIONS, self.pending)
            self.pending = []
            if self.progress is not None:
                self.progress(self.created)

    def count(self, done: tuple[int, int, int]) -> None:
        """Add what a set-based statement wrote (created, to confirm, already there); show progress."""
        created, to_confirm, existing = done
        self.created += created
        self.to_confirm += to_confirm
        self.existing += existing
        if created and self.progress is not None:
            self.progress(self.created)


CHUNK = 5000  # rows per bulk INSERT during materialisation
_OBLIGATIONS = Obligation.__table__  # type: ignore[attr-defined]


def plan_period(plan: Plan) -> tuple[date, date]:
    """The plan's period: from its issue date (or 1 January of its year) to the end of its last year."""
    year = plan.year or (plan.issued_on.year if plan.issued_on else 2000)
    start = plan.issued_on if plan.issued_on and plan.issued_on.year == year else date(year, 1, 1)
    return start, date(plan.until_year or year, 12, 31)


def resolve_parties(
    session: Session, names: Iterable[str], *, now: datetime
) -> tuple[list[Unit], set[str]]:
    """Units behind names as written: a unit, a group's members, or a pending unit. Returns (units, empty groups)."""
    units: dict[int, Unit] = {}
    empty: set[str] = set()
    for name in names:
        unit = find_unit(session=session, name=name)
        group = None if unit else find_group(session=session, name=name)
        if group is not None:
            members = group_members(session=session, group=group)
            if not members:
                empty.add(name)
            units.update((m.id or 0, m) for m in members)
            continue
        unit = unit or ensure_pending_unit(session=session, name=name, now=now, actor="materialise")
        units[unit.id or 0] = unit
    return list(units.values()), empty


_Roles = tuple[dict[int, str], set[str]]


def _responsible(
    session: Session, task: Task, now: datetime, memo: dict[Any, _Roles] | None = None
) -> _Roles:
    parties = session.exec(
        select(TaskUnit).where(TaskUnit.task_id == task.id).order_by(col(TaskUnit.position))
    ).all()
    names = {role: [p.name for p in parties if p.role == role] for role in ("lead", "support")}
    return roles_of(session, names, now, memo=memo)


def milestone_owners(
    session: Session,
    ms: Milestone,
    task_roles: dict[int, str],
    now: datetime,
    memo: dict[Any, _Roles] | None = None,
) -> _Roles:
    """Who owes a milestone: the units of its own clause when it names them, else the task's."""
    if not (ms.lead_units or ms.support_units):
        return task_roles, set()
    names = {"lead": list(ms.lead_units or []), "support": list(ms.support_units or [])}
    return roles_of(session, names, now, memo=memo)


def roles_of(
    session: Session,
    names: dict[str, list[str]],
    now: datetime,
    memo: dict[Any, _Roles] | None = None,
) -> _Roles:
    """{unit id: role} behind the names by role (groups expanded), and the empty groups.

    With `memo` (one materialisation's), names already resolved are not looked up again: a
    city-wide plan names the same groups in thousands of tasks. The result is shared: read only.
    """
    key = (tuple(names["lead"]), tuple(names["support"]))
    if memo is not None and key in memo:
        return memo[key]
    found = _roles_of(session, names, now)
    if memo is not None:
        memo[key] = found
    return found


def _roles_of(session: Session, names: dict[str, list[str]], now: datetime) -> _Roles:
    roles: dict[int, str] = {}
    empty: set[str] = set()
    for role in ("lead", "support"):
        units, missing = resolve_parties(session, names[role], now=now)
        empty |= missing
        for u in units:
            roles.setdefault(u.id or 0, role)  # a unit that leads and also supports is a lead
    return roles, empty


@dataclass(frozen=True)
class _Occurrence:
    """One occurrence of a milestone and its neighbours (None at either end)."""

    due: date
    previous: date | None
    following: date | None


def _link(dues: tuple[date, ...], recurring: bool) -> list[_Occurrence]:
    return [
        _Occurrence(
            d,
            dues[k - 1] if k else None,
            dues[k + 1] if recurring and k + 1 < len(dues) else None,
        )
        for k, d in enumerate(dues)
    ]


def _new_obligation(
    ctx: FlowContext,
    rows: tuple[Plan, Task, Milestone],
    policy: Policy,
    unit_id: int,
    role: str,
    occ: _Occurrence,
    now: datetime,
    activation: bool,
    assign: bool = False,
    cache: dict[tuple[Any, ...], datetime | None] | None = None,
) -> dict[str, Any]:
    """One new row as plain values (no ORM object: activation writes millions of them).

    The engine's first answer depends only on the occurrence, the role and whether the row is in
    the 交办, so it is asked once per such combination (`cache`), not once per unit.
    """
    plan, task, ms = rows
    today = now.astimezone(OFFICE_TZ).date()
    row: dict[str, Any] = {
        "plan_id": plan.id or 0,
        "task_id": task.id or 0,
        "milestone_id": ms.id or 0,
        "unit_id": unit_id,
        "occurrence": occ.due,
        "role": role,
        "due_on": occ.due,
        "due_at": due_instant(occ.due, policy),
        "status": "open",
        "escalation_level": 0,
        "next_action_at": None,
        "needs_confirmation": False,
        "since": now,
        "assign_at": None,
        "starts_on": occ.previous or today,
        "lapses_on": occ.following,
        "created_at": now,
        "updated_at": now,
        "version": 0,
    }
    if activation and needs_confirmation(occ.due, now):
        row["status"], row["needs_confirmation"] = "to_confirm", True
        return row
    row["assign_at"] = now if assign else None
    key = (occ, role, assign)
    if cache is None or key not in cache:
        view = SimpleNamespace(
            **row, last_stage=None, last_seq=None, last_action_at=None, requested_due=None,
            chase_requested_at=None,
        )  # fmt: skip
        found = next_action_time(state_of(view), policy, ctx.calendar, now)  # type: ignore[arg-type]
        if cache is None:
            row["next_action_at"] = found
            return row
        cache[key] = found
    row["next_action_at"] = cache[key]
    return row


def _relink(session: Session, stored: Iterable[Any], linked: list[_Occurrence]) -> None:
    # A plan edit that changed a recurrence: rows of occurrences the rule still has follow their
    # new neighbours (roll-over date, lead-time start); the first one's start is kept.
    by_due = {o.due: o for o in linked}
    rows = []
    for r in stored:
        occ = by_due.get(r.occurrence)
        if occ is None:
            continue
        starts_on = occ.previous or r.starts_on
        if (r.lapses_on, r.starts_on) != (occ.following, starts_on):
            rows.append({"id": r.id, "lapses_on": occ.following, "starts_on": starts_on})
    update_rows(session, Obligation.__table__, rows)  # type: ignore[attr-defined]


def _materialise_milestone(
    session: Session,
    ctx: FlowContext,
    rows: tuple[Plan, Task, Milestone],
    roles: dict[int, str],
    now: datetime,
    activation: bool,
    report: MaterialiseReport,
    assign: bool = True,
    series: list[Linked] | None = None,
) -> bool:
    # `series`: the occurrences already linked across the milestones of one duty (progress
    # reports). Returns whether the duty is still open: undated, or an occurrence not yet past.
    plan, task, ms = rows
    today = now.astimezone(OFFICE_TZ).date()
    if series is None:
        spec = MilestoneSpec(due=ms.due, rrule=ms.rrule, dtstart=ms.dtstart, until=ms.until)
        linked = _link(expand_occurrences(spec, *plan_period(plan)), ms.rrule is not None)
    else:
        linked = [_Occurrence(o.due, o.previous, o.following) for o in series]
    policy = ctx.policy_for(plan, task, ms)
    cache: dict[tuple[Any, ...], datetime | None] = {}
    if report.writer is not None:
        occurrences = [o for o in linked if activation or o.due >= today]
        # The occurrence a unit with nothing of this duty yet is assigned on (listed in its 交办).
        first = next(
            (o.due for o in occurrences if not (activation and needs_confirmation(o.due, now))),
            None,
        )
        templates = templates_for(
            occurrences,
            roles,
            lambda role, occ, listed: _new_obligation(
                ctx, rows, policy, 0, role, occ, now, activation, listed, cache
            ),
            first if assign else None,
        )
        links = occurrence_links(ms.id or 0, linked)
        report.count(report.writer.add_milestone(session, roles, templates, links))
        return _still_open(ms, linked, now)
    stored = session.execute(  # sqlalchemy's select: sqlmodel's is typed for 4 columns at most
        sa_select(
            col(Obligation.id), col(Obligation.unit_id), col(Obligation.occurrence),
            col(Obligation.starts_on), col(Obligation.lapses_on),
        ).where(col(Obligation.milestone_id) == ms.id)
    ).all()  # fmt: skip
    have = {(r.unit_id, r.occurrence) for r in stored}
    _relink(session, stored, linked)
    # A unit with nothing of this duty yet gets it listed in its 交办 (its first open occurrence).
    to_assign = set(roles) - {unit_id for unit_id, _ in have} if assign else set()
    for occ in (o for o in linked if activation or o.due >= today):
        for unit_id, role in roles.items():
            if (unit_id, occ.due) in have:
                report.existing += 1
                continue
            listed = unit_id in to_assign
            row = _new_obligation(
                ctx, rows, policy, unit_id, role, occ, now, activation, listed, cache
            )
            if row["assign_at"] is not None:
                to_assign.discard(unit_id)
            report.add(session, row)
            report.created += 1
            report.to_confirm += row["status"] == "to_confirm"
    return _still_open(ms, linked, now)


def _still_open(ms: Milestone, linked: list[_Occurrence], now: datetime) -> bool:
    """Whether a duty is still open for its units: undated, or an occurrence not yet past."""
    undated = ms.due is None and ms.rrule is None
    return undated or any(not needs_confirmation(o.due, now) for o in linked)


def materialise_plan(
    *,
    session: Session,
    ctx: FlowContext,
    plan: Plan,
    now: datetime,
    activation: bool = False,
    progress: Callable[[int], None] | None = None,
    set_based: bool | None = None,
) -> MaterialiseReport:
    """Create the missing obligations of `plan` over its period. Running it again creates nothing.

    Outside activation, occurrences already past are not created (a unit that joins a group mid-year
    owes what is still ahead, not what fell due before it joined). On PostgreSQL (`set_based`
    None) the rows are built by the server, ≈100,000 per statement (`models/repo/bulk_obligations`);
    elsewhere, or with `set_based=False`, in Python and written 5,000 per INSERT. Same rows either way.
    """
    report = MaterialiseReport(progress=progress)
    if is_postgres(session) if set_based is None else set_based:
        report.writer = SetWriter(fresh=plan_is_fresh(session, plan.id or 0))
    memo: dict[Any, _Roles] = {}
    owing: dict[int, str] = {}  # every unit with a duty in the plan
    reporting: list[tuple[Milestone, set[int]]] = []  # the plan's own recurring reports, by owners
    for task in session.exec(
        select(Task).where(Task.plan_id == plan.id).order_by(col(Task.position))
    ).all():
        if task.ref == PROGRESS_REF:
            continue
        roles, empty = _responsible(session, task, now, memo)
        report.unexpanded |= empty
        stones = session.exec(select(Milestone).where(Milestone.task_id == task.id)).all()
        if not stones:  # an undated duty: tracked through the unit's progress report
            owing.update((u, "lead") for u in roles)
        for ms in stones:
            owners, missing = milestone_owners(session, ms, roles, now, memo)
            report.unexpanded |= missing
            if ms.is_report and ms.rrule:
                reporting.append((ms, set(owners)))
            if _materialise_milestone(
                session, ctx, (plan, task, ms), owners, now, activation, report
            ):  # still open (or undated): its units report their progress
                owing.update((u, "lead") for u in owners)
    from models.repo.progress_duties import materialise_progress

    materialise_progress(session, ctx, plan, owing, reporting, now, activation, report)
    report.flush(session)
    session.flush()
    return report


def activate_plan(
    *,
    session: Session,
    ctx: FlowContext,
    plan_id: int,
    now: datetime,
    actor: str,
    progress: Callable[[int], None] | None = None,
    set_based: bool | None = None,
) -> MaterialiseReport:
    """Draft → active: materialise every obligation and start the chase (one transaction: the
    caller commits; a failure part-way leaves nothing once it rolls back)."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise ValueError(f"没有编号为 {plan_id} 的计划")
    if plan.status != "draft":
        raise ValueError(f"计划 {plan_id} 的状态是 {plan.status}，只有草稿（draft）可以启用")
    plan.status, plan.activated_at = "active", now
    report = materialise_plan(
        session=session,
        ctx=ctx,
        plan=plan,
        now=now,
        activation=True,
        progress=progress,
        set_based=set_based,
    )
    record_event(
        session=session,
        at=now,
        actor=actor,
        entity="plan",
        entity_id=plan.id,
        action="activated",
        from_status="draft",
        to_status="active",
        data={
            "created": report.created,
            "to_confirm": report.to_confirm,
            "unexpanded": sorted(report.unexpanded),
        },
    )
    return report


def materialise_active_plans(*, session: Session, ctx: FlowContext, now: datetime) -> int:
    """Top up every active plan (new group members, a rolling horizon). Returns how many were created."""
    plans = session.exec(select(Plan).where(Plan.status == "active")).all()
    return sum(materialise_plan(session=session, ctx=ctx, plan=p, now=now).created for p in plans)
