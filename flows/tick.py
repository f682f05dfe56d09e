"""The tick: claim what has come due, decide, deliver grouped per unit, advance the state.

One flow run per tick with tasks inside (never one flow run per reminder): each round is three
task runs, `claim-decide` → `deliver` → `record`. What is due comes from duban's own
`next_action_at`, so the first tick after downtime is the catch-up: the engine returns only the
latest applicable stage of each obligation, and grouping sends one message per unit.

`tick_flow` is an async flow on purpose (flows/runner.in_worker_thread): a SYNC flow run waits
up to a second for Prefect's heartbeat thread on exit. The heartbeat itself stays on (crashed-run
detection), for in-process and deployed runs alike. The body is the same sync `run_tick`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from sqlmodel import Session, col, select

from flows.context import FlowContext, flow_context
from flows.runner import in_worker_thread, run_task
from models.directory import Unit
from models.repo.bulk import one_of
from models.repo.chase import Done, load_states, record_actions, reschedule_many, state_of
from models.repo.units import find_unit
from models.tables import Milestone, Obligation, Plan, Task, TaskUnit
from notify.notice import Audience, Item, Notice, group_notices
from notify.wording import next_step, plan_level, plan_office
from schedules.clock import OFFICE_TZ, parse_aware
from schedules.policy import Policy
from schedules.rules import Action, Recipient, Stage, decide

RETRY_LATER = timedelta(minutes=10)
AUDIENCE = {
    Recipient.UNIT_CONTACTS: Audience.UNIT_CONTACTS,
    Recipient.UNIT_HEAD: Audience.UNIT_HEAD,
}


@dataclass(frozen=True)
class Planned:
    """One obligation's action in this tick, and who hears of it."""

    obligation_id: int
    action: Action
    item: Item
    targets: tuple[tuple[int | None, Audience], ...]
    policy: Policy
    next_at: datetime | None  # the engine's next instant, assuming this action is sent now


@dataclass
class TickSummary:
    """What one tick did (returned by the flow, stored in tick_run by the caller)."""

    claimed: int = 0
    actions: int = 0
    rescheduled: int = 0
    notices: int = 0
    deferred: int = 0  # obligations waiting for a route still pending (tried again later)
    by_stage: dict[str, int] = field(default_factory=dict)
    # Messages (one per notice × channel × recipient), from the delivery passes of this tick:
    sent: int = 0
    failed: int = 0  # failed for good (the office must act: `duban notify failed`)
    pending: int = 0  # failed transiently or deferred: kept, tried again by a later tick
    deferred_by_host: dict[str, int] = field(default_factory=dict)  # paused hosts
    repeats: int = 0  # delivered again after a crash (the receiver may have it twice)
    reclaimed: int = 0  # rows taken back from a sender that died
    unreached: int = 0  # notices with no channel or address at all
    retried: int = 0  # pending rows the retry step tried again
    superseded: int = 0  # pending rows closed as needless
    resent: int = 0  # 再次交办: obligations whose 交办/督办 not 签收 in time were re-sent (once)
    given_up: int = 0  # pending rows past the bound: now permanent failures
    stopped: bool = False  # a stop (SIGTERM) cut the tick short; the next tick goes on
    template_fallbacks: list[str] = field(default_factory=list)  # override errors (shipped used)

    def add(self, counts: dict[str, Any]) -> None:
        """Add one delivery pass's message counts (DeliveryReport.counts)."""
        for name in ("sent", "failed", "pending", "repeats", "reclaimed", "unreached"):
            setattr(self, name, getattr(self, name) + int(counts.get(name, 0)))
        for host, n in dict(counts.get("deferred_by_host", {})).items():
            self.deferred_by_host[host] = self.deferred_by_host.get(host, 0) + n
        for error in counts.get("template_fallbacks", ()):
            if error not in self.template_fallbacks:
                self.template_fallbacks.append(error)


@dataclass(frozen=True)
class Delivered:
    """A delivery step's answer: per obligation sent | retry | failed, and the message counts."""

    outcome: dict[int, str]
    counts: dict[str, Any] = field(default_factory=dict)


Deliver = Callable[[list[Notice], datetime], "dict[int, str] | Delivered"]


def make_item(
    ctx: FlowContext,
    row: tuple[Obligation, Milestone, Task, Plan, Unit],
    *,
    stage: str,
    seq: str,
    level: int,
    today: date,
) -> Item:
    """What a message says about one obligation (shared by the tick and the digests)."""
    ob, ms, tk, plan, unit = row
    level_of = plan_level(plan.issuer, plan.title)
    step = next_step(
        stage=stage,
        due=ob.due_on,
        role=ob.role,
        level=level_of,
        office=plan_office(level_of, ctx.send.office_name),
        policy=_policy(ctx, plan, tk, ms),
        cal=ctx.calendar,
    )
    return Item(
        obligation_id=ob.id or 0,
        stage=stage,
        seq=seq,
        level=level,
        plan_title=plan.title,
        task_ref=tk.ref,
        task_title=tk.title,
        milestone=ms.label or ms.source_text,
        due=ob.due_on,
        days_left=ctx.calendar.workdays_between(today, ob.due_on),
        unit_name=unit.name,
        is_report=ms.is_report,
        role=ob.role,
        plan_level=level_of,
        next_step=step,
    )


def _item(ctx: FlowContext, row: tuple[Obligation, Milestone, Task, Plan, Unit], a: Action) -> Item:
    today = a.at.astimezone(OFFICE_TZ).date()
    # A chase the office asks for by hand on an item already at 督办 or 通报 is still at that level:
    # the message says so (督办级别), not 催办.
    level = max(a.level, row[0].escalation_level)
    return make_item(ctx, row, stage=a.stage.value, seq=a.seq, level=level, today=today)


_POLICIES: dict[tuple[int | None, int | None, int | None, int], Policy] = {}


def _policy(ctx: FlowContext, plan: Plan, tk: Task, ms: Milestone) -> Policy:
    # Resolving overrides merges dataclasses; a tick asks for the same few milestones thousands of
    # times. Keyed by the context too, so a reloaded configuration is never served stale.
    key = (plan.id, tk.id, ms.id, id(ctx))
    if key not in _POLICIES:
        if len(_POLICIES) > 10_000:
            _POLICIES.clear()
        _POLICIES[key] = ctx.policy_for(plan, tk, ms)
    return _POLICIES[key]


def _leaders(session: Session, task_id: int, cache: dict[int, list[int]]) -> list[int]:
    if task_id not in cache:
        names = session.exec(
            select(TaskUnit.name).where(TaskUnit.task_id == task_id, TaskUnit.role == "leader")
        )
        units = (find_unit(session=session, name=n) for n in names.all())
        cache[task_id] = [u.id for u in units if u is not None and u.id is not None]
    return cache[task_id]


def _targets(
    action: Action, unit_id: int, leaders: list[int]
) -> tuple[tuple[int | None, Audience], ...]:
    out: list[tuple[int | None, Audience]] = []
    for r in action.recipients:
        if r in AUDIENCE:
            out.append((unit_id, AUDIENCE[r]))
        elif r is Recipient.LEADER:
            out.extend((lid, Audience.LEADER) for lid in leaders)
    return tuple(out)


def _claim(now: datetime, batch: int, owner: str) -> list[int]:
    """Lease up to `batch` due obligations."""
    from models.repo.chase import claim_due

    with Session(flow_context().engine) as session:
        return claim_due(
            session=session, now=now, limit=batch, owner=owner, lease=timedelta(minutes=5)
        )


def _rows(session: Session, ids: list[int]) -> list[tuple[Any, Milestone, Task, Plan, Unit]]:
    # Light obligation rows, then the few distinct parents by id: ORM objects for 10k
    # obligations per round would cost more than deciding them.
    obs = load_states(session, ids)

    def by_id(model: Any, keys: set[int]) -> dict[int, Any]:
        conds = one_of(session, col(model.id), keys)
        return {r.id: r for cond in conds for r in session.exec(select(model).where(cond))}

    ms = by_id(Milestone, {o.milestone_id for o in obs})
    tk = by_id(Task, {o.task_id for o in obs})
    pl = by_id(Plan, {o.plan_id for o in obs})
    un = by_id(Unit, {o.unit_id for o in obs})
    return [(o, ms[o.milestone_id], tk[o.task_id], pl[o.plan_id], un[o.unit_id]) for o in obs]


def _decide(ids: list[int], now: datetime) -> list[Planned]:
    """Ask the pure engine about each claimed obligation; reschedule those with nothing to send."""
    ctx, planned, leaders = flow_context(), [], {}  # type: ignore[var-annotated]
    with Session(ctx.engine) as session:
        later: list[tuple[int, datetime | None]] = []
        for ob, ms, tk, plan, unit in _rows(session, ids):
            d = decide(state_of(ob), _policy(ctx, plan, tk, ms), ctx.calendar, now)
            if d.action is None or plan.status != "active":
                later.append((ob.id, d.next_at if plan.status == "active" else None))
                continue
            targets = _targets(d.action, unit.id or 0, _leaders(session, tk.id or 0, leaders))
            item = _item(ctx, (ob, ms, tk, plan, unit), d.action)
            policy = _policy(ctx, plan, tk, ms)
            planned.append(Planned(ob.id or 0, d.action, item, targets, policy, d.next_at))
        reschedule_many(session=session, when=later, now=now)
        session.commit()
    return planned


@task(name="claim-decide", retries=0, cache_policy=NO_CACHE, persist_result=False)
def claim_decide_task(now: datetime, batch: int, owner: str) -> tuple[int, list[Planned]]:
    """Lease up to `batch` due obligations and decide them: (how many claimed, what to send).

    Those with nothing to send now are rescheduled and released inside this task.
    """
    from flows.papers import issue_papers

    ids = _claim(now, batch, owner)
    planned = _decide(ids, now) if ids else []
    issue_papers(planned, now)  # each 督办's 督办单 (and second 催办's 催办单), before delivery
    return len(ids), planned


@task(name="record", retries=0, cache_policy=NO_CACHE, persist_result=False)
def record_task(
    planned: list[Planned], outcome: Delivered | dict[int, str], now: datetime
) -> TickSummary:
    """Advance every obligation whose action was delivered; defer those with a route pending.

    `outcome` is the deliver task's result itself (so Prefect links the two task runs).
    """
    # Duck-typed: a deployed run loads this module from its entrypoint path, so the Delivered
    # that flows/delivery built may be another class object than this module's.
    by_ob: dict[int, str] = outcome if isinstance(outcome, dict) else outcome.outcome
    ctx, summary = flow_context(), TickSummary()
    by_id = {p.obligation_id: p for p in planned}
    with Session(ctx.engine) as session:
        done: list[Done] = []
        later: list[tuple[int, datetime | None]] = []
        for ob in load_states(session, list(by_id)):
            p = by_id[ob.id]
            if by_ob.get(p.obligation_id) == "retry":
                later.append((ob.id, now + RETRY_LATER))
                continue
            done.append(Done(ob, p.action, p.policy, p.next_at))
        reschedule_many(session=session, when=later, now=now)
        summary.deferred = len(later)
        recorded = record_actions(session=session, done=done, cal=ctx.calendar, now=now)
        for stage in recorded:
            summary.by_stage[stage] = summary.by_stage.get(stage, 0) + 1
        summary.actions = len(recorded)
        session.commit()
    return summary


def build_notices(planned: list[Planned]) -> list[Notice]:
    """One notice per unit and audience, listing every item of this pass (grouping)."""
    return group_notices((uid, aud, p.item) for p in planned for uid, aud in p.targets)


@flow(name="duban-tick")
async def tick_flow(now: str, batch: int = 2500, owner: str = "duban") -> dict[str, Any]:
    """Run one tick at the instant `now` (ISO 8601 with offset).

    Async only so that Prefect does not wait on the heartbeat thread (module docstring); the
    tick's body is the sync `run_tick`, run in a worker thread that sees the flow run's context,
    so its claim-decide, deliver and record task runs belong to this flow run.

    Args:
        now: the logical time of the tick (the service passes its clock's reading).
        batch: how many due obligations to claim per round.
        owner: who claims (the service instance), for the claim lease.

    Returns:
        The tick's counts: claimed, actions by stage, notices, deferred.
    """
    stop = threading.Event()
    try:
        summary = await in_worker_thread(
            run_tick, parse_aware(now), batch=batch, owner=owner, stop=stop
        )
    except BaseException:
        stop.set()  # cancelled or timed out: the thread ends after the round it is in
        raise
    return summary.__dict__


def run_tick(
    now: datetime,
    *,
    batch: int = 2500,
    owner: str = "duban",
    deliver: Deliver | None = None,
    stop: threading.Event | None = None,
    roll_over: bool = True,
) -> TickSummary:
    """The tick's body: the roll-over, then rounds of claim-decide → deliver → record until nothing is due.

    The roll-over (`roll_over`, the default) first closes, in set-based statements, every missed
    occurrence whose next one is due (models/repo/rollover.py): the rounds would do the same to
    them row by row (no message goes out for a lapse). `roll_over=False` leaves them to the rounds.

    A round that claims fewer than `batch` is the last: everything due at `now` was free to claim,
    and what the round did moves each obligation's next instant past `now` (the engine's next slot,
    or a retry 10 minutes on). Anything made due meanwhile by another hand waits for the next tick.
    """
    from flows.delivery import deliver_notices

    def send(notices: list[Notice]) -> Delivered:
        if deliver is not None:
            got = deliver(notices, now)
            return Delivered(got) if isinstance(got, dict) else got
        return deliver_notices(notices, now, stop)

    total = TickSummary()
    if roll_over and not (stop is not None and stop.is_set()):
        _roll_over(now, total)
    while not (stop is not None and stop.is_set()):
        claimed, planned = run_task(claim_decide_task, now, batch, owner)
        if not claimed:
            break
        notices = build_notices(planned)
        delivered = send(notices) if notices else Delivered({})
        total.add(delivered.counts)
        part = run_task(record_task, planned, delivered, now)
        total.claimed += claimed
        total.notices += len(notices)
        total.rescheduled += claimed - len(planned)
        total.actions, total.deferred = total.actions + part.actions, total.deferred + part.deferred
        for k, v in part.by_stage.items():
            total.by_stage[k] = total.by_stage.get(k, 0) + v
        if claimed < batch:  # the claim took all that was due; what it moved is due later
            break
    if deliver is None and not (stop is not None and stop.is_set()):
        _resend_unreceived(now, total, stop)
        _retry_pending(now, total, stop)
    total.stopped = stop is not None and stop.is_set()
    return total


def _roll_over(now: datetime, total: TickSummary) -> None:
    from models.repo.rollover import lapse_due

    ctx = flow_context()
    lapsed = lapse_due(engine_session=lambda: Session(ctx.engine), ctx=ctx, now=now)
    if lapsed:
        total.actions += lapsed
        total.by_stage[Stage.LAPSE.value] = total.by_stage.get(Stage.LAPSE.value, 0) + lapsed


def _resend_unreceived(now: datetime, total: TickSummary, stop: threading.Event | None) -> None:
    from flows.delivery import deliver_notices
    from flows.receipts import resend_unreceived

    def send(notices: list[Notice]) -> Delivered:
        got = deliver_notices(notices, now, stop)
        total.notices += len(notices)
        total.add(got.counts)
        return got

    total.resent = resend_unreceived(now, send)


def _retry_pending(now: datetime, total: TickSummary, stop: threading.Event | None) -> None:
    hours = flow_context().pending_give_up_hours
    done = run_task(retry_pending_task, now, timedelta(hours=hours), stop)
    total.retried, total.superseded, total.given_up = done.retried, done.superseded, done.given_up
    total.add(done.report.counts())


@task(name="retry-pending", retries=0, cache_policy=NO_CACHE, persist_result=False)
def retry_pending_task(
    now: datetime, give_up_after: timedelta, stop: threading.Event | None
) -> Any:
    """Settle the pending messages and try again those whose time has come (flows/pending)."""
    from flows.pending import retry_pending

    return retry_pending(now, give_up_after=give_up_after, stop=stop)
