"""What `duban simulate PLAN` runs: dry-run the reminder engine over a plan's period (no sending, no storing).

PLAN is a stored plan's id (draft or active) or a plan file, parsed in memory and never stored.
Party names expand through the unit directory read-only; a name the directory cannot expand yet
(unknown, or a group without members) is simulated as one recipient under its own name, so the
office can preview a plan before the directory is complete.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from sqlmodel import Session

from duban import runtime
from duban.cli.common import fail, print_json
from intake.errors import IntakeError
from intake.model import ParsedPlan
from models.repo.obligations import plan_period
from models.repo.plan_rows import PlanError, is_report_milestone, load_task_rows
from models.repo.plans import fill_meta, get_plan
from models.repo.units import find_group, find_unit, group_members
from models.tables import Milestone, Plan, Task
from schedules.clock import OFFICE_TZ
from schedules.policy import Policy
from schedules.progress import PROGRESS_REF, link_rules, progress_policy, progress_rules
from schedules.receipt import count_resends
from schedules.recurrence import MilestoneSpec, RecurrenceError, expand_occurrences
from schedules.rules import Stage
from schedules.simulate import STAGE_LABEL, SimObligation, SimResult, render_timeline, simulate
from schedules.volume import measure_volume, render_volume

if TYPE_CHECKING:
    from flows.context import FlowContext

STATUS_NAMES = {"draft": "草稿", "active": "执行中", "archived": "已归档"}
_DAY_END = time(23, 59, 59)


@dataclass(frozen=True)
class TaskSpec:
    """One task as the simulation needs it: parties as written, milestones with their policies."""

    ref: str
    lead: tuple[str, ...]
    support: tuple[str, ...]
    leaders: tuple[str, ...]
    milestones: tuple[tuple[MilestoneSpec, Policy], ...]
    # Per milestone, the (lead, support) of its own clause; empty: the task's parties owe it.
    owners: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()
    # Per milestone, whether it is a recurring report (每月26日前报送…: the plan's own cadence).
    reports: tuple[bool, ...] = ()


@dataclass(frozen=True)
class SimPlan:
    """What to simulate: a label for the header, the plan's period and its tasks."""

    label: str
    period: tuple[date, date]
    tasks: tuple[TaskSpec, ...]
    progress: Policy | None = None  # the progress report's policy (None: no progress reports)


@dataclass
class Directory:
    """Read-only name → unit names lookup through the unit directory (never writes, caches)."""

    session: Session
    unexpanded: set[str] = field(default_factory=set)
    _cache: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def expand(self, name: str) -> tuple[str, ...]:
        """The unit names behind `name`: the unit, the group's members, or `name` itself."""
        if name not in self._cache:
            self._cache[name] = self._lookup(name)
        return self._cache[name]

    def _lookup(self, name: str) -> tuple[str, ...]:
        unit = find_unit(session=self.session, name=name)
        if unit is not None:
            return (unit.name,)
        group = find_group(session=self.session, name=name)
        members = group_members(session=self.session, group=group) if group else []
        if members:
            return tuple(m.name for m in members)
        self.unexpanded.add(name)
        return (name,)


def load_stored_plan(*, session: Session, ctx: FlowContext, plan_id: int) -> SimPlan:
    """A stored plan (draft or active) with each milestone's effective policy."""
    plan = get_plan(session=session, plan_id=plan_id)
    tasks = []
    for rows in load_task_rows(session, plan_id):
        if rows.task.ref == PROGRESS_REF:  # simulated from its rule (below), as activation makes it
            continue
        stones = tuple(
            (_spec(m.due, m.rrule, m.dtstart, m.until), ctx.policy_for(plan, rows.task, m))
            for m in rows.milestones
        )
        lead, support, leaders = (tuple(u.name for u in rows.units.get(r, [])) for r in _ROLES)
        owners = tuple(
            (tuple(m.lead_units or ()), tuple(m.support_units or ())) for m in rows.milestones
        )
        reports = tuple(bool(m.is_report) for m in rows.milestones)
        tasks.append(TaskSpec(rows.task.ref, lead, support, leaders, stones, owners, reports))
    status = STATUS_NAMES.get(plan.status, plan.status)
    probe = (Task(plan_id=plan_id, ref=PROGRESS_REF), Milestone(task_id=0, key="progress"))
    progress = ctx.policy_for(plan, *probe)
    label = f"计划 {plan_id}（{status}）{plan.title}"
    return SimPlan(label, plan_period(plan), tuple(tasks), progress)


_ROLES = ("lead", "support", "leader")


def load_file_plan(parsed: ParsedPlan, policy: Policy) -> SimPlan:
    """A parsed plan file (never stored), every milestone under `policy`."""
    transient = Plan(created_at=datetime.min.replace(tzinfo=OFFICE_TZ))  # never stored
    fill_meta(transient, parsed.meta)
    tasks = tuple(
        TaskSpec(
            t.ref,
            tuple(t.lead_units),
            tuple(t.support_units),
            tuple(t.leaders),
            tuple((_spec(m.due, m.rrule, m.dtstart, m.until), policy) for m in t.milestones),
            tuple((tuple(m.lead_units), tuple(m.support_units)) for m in t.milestones),
            tuple(is_report_milestone(m) for m in t.milestones),
        )
        for t in parsed.tasks
    )
    label = f"计划文件 {Path(parsed.source).name}（未保存）{parsed.meta.title}"
    return SimPlan(label, plan_period(transient), tasks, policy)


def _spec(
    due: date | None, rrule: str | None, dtstart: date | None, until: date | None
) -> MilestoneSpec:
    return MilestoneSpec(due=None if rrule else due, rrule=rrule, dtstart=dtstart, until=until)


def build_obligations(
    plan: SimPlan, directory: Directory, start: date | None = None
) -> list[SimObligation]:
    """Every milestone occurrence in the plan's period × every responsible unit (lead wins).

    As activation on `start` would: the first occurrence not yet past is the one the 交办 lists,
    each occurrence's lead time runs from the previous one (the first's from `start`), and a
    recurring duty's occurrence rolls over when the next one falls due. Then each unit's periodic
    progress report (schedules/progress.py), as activation creates it.
    """
    begin = start or plan.period[0]
    out: list[SimObligation] = []
    owing: dict[str, bool] = {}  # every unit with a duty in the plan
    reporting: list[tuple[MilestoneSpec, set[str]]] = []  # the plan's own recurring reports
    for task in plan.tasks:
        task_roles = _assign_roles(task.lead, task.support, directory)
        if not task.milestones:  # an undated duty: tracked through the progress report
            owing.update(dict.fromkeys(task_roles, True))
        for index, (spec, policy) in enumerate(task.milestones):
            own = task.owners[index] if index < len(task.owners) else ((), ())
            roles = _assign_roles(*own, directory) if own[0] or own[1] else task_roles
            if spec.rrule and index < len(task.reports) and task.reports[index]:
                reporting.append((spec, set(roles)))
            dues = _occurrences(task, spec, plan.period)
            first = next((d for d in dues if d >= begin), None)
            if first is not None or (spec.due is None and spec.rrule is None):
                owing.update(dict.fromkeys(roles, True))  # open or undated: progress reported
            for k, due in enumerate(dues):
                prev = dues[k - 1] if k else None
                nxt = dues[k + 1] if spec.rrule and k + 1 < len(dues) else None
                out.extend(
                    SimObligation(
                        unit, task.ref, due, is_lead, task.leaders, policy,
                        assign=due == first, starts_on=prev, lapses_on=nxt,
                    )
                    for unit, is_lead in roles.items()
                )  # fmt: skip
    out.extend(_progress_obligations(plan, owing, reporting, max(begin, plan.period[0]), begin))
    return out


def _progress_obligations(
    plan: SimPlan,
    owing: dict[str, bool],
    reporting: list[tuple[MilestoneSpec, set[str]]],
    start: date,
    begin: date,
) -> list[SimObligation]:
    # The plan's own report cadence where it has one (its owners report there: nothing more),
    # else the policy's quarterly rule plus the year-end summary, linked as one series.
    if plan.progress is None or not plan.progress.progress:
        return []
    policy = progress_policy(plan.progress)
    own = reporting[0][0] if reporting else None
    covered = set().union(*(units for _, units in reporting))
    units = [u for u in owing if u not in covered]
    cadence = (own.rrule or "", own.dtstart, own.until) if own is not None else None
    rules = progress_rules(policy, start, cadence)
    series = link_rules(rules, plan.period)
    # One duty in the 交办: the first rule's first occurrence not yet past.
    first = next((o.due for o in series[rules[0].key] if o.due >= begin), None)
    return [
        SimObligation(
            unit, PROGRESS_REF, o.due, True, (), policy,
            assign=key == rules[0].key and o.due == first, starts_on=o.previous,
            lapses_on=o.following,
        )
        for key, linked in series.items()
        for o in linked
        for unit in units
    ]  # fmt: skip


def list_unowned(plan: SimPlan) -> list[str]:
    """Refs of tasks that name no responsible unit: nothing can be chased for them."""
    return [t.ref for t in plan.tasks if t.milestones and not (t.lead or t.support)]


def _assign_roles(
    lead: tuple[str, ...], support: tuple[str, ...], directory: Directory
) -> dict[str, bool]:
    roles: dict[str, bool] = {}
    for is_lead, names in ((True, lead), (False, support)):
        for name in names:
            for unit in directory.expand(name):
                roles.setdefault(unit, is_lead)  # a unit that leads and also supports is a lead
    return roles


def _occurrences(
    task: TaskSpec, spec: MilestoneSpec, period: tuple[date, date]
) -> tuple[date, ...]:
    try:
        return expand_occurrences(spec, *period)
    except RecurrenceError as exc:
        fail(f"任务 {task.ref} 的里程碑无法展开：{exc}")


def count_per_unit(result: SimResult) -> dict[str, dict[str, int]]:
    """Actions per unit and stage, units in order of their first action."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for item in result.actions:
        counts[item.obligation.unit][item.action.stage.value] += 1
    return {unit: {s.value: c.get(s.value, 0) for s in Stage} for unit, c in counts.items()}


def _pick_days(plan: SimPlan, date_from: date | None, date_to: date | None) -> tuple[date, date]:
    start = date_from or plan.period[0]
    end = date_to or plan.period[1]
    if end < start:
        fail(f"--to {end} 早于 --from {start}")
    return start, end


def _load_plan(plan: str, ctx: FlowContext, directory_session: Session) -> SimPlan:
    if plan.strip().isdigit():
        try:
            return load_stored_plan(session=directory_session, ctx=ctx, plan_id=int(plan))
        except PlanError as exc:
            fail(str(exc))
    from intake import parse_path

    path = Path(plan)
    if not path.is_file():
        fail(f"{plan}：既不是计划编号，也不是存在的计划文件")
    try:
        parsed = parse_path(path)
    except IntakeError as exc:
        fail(str(exc))
    if parsed.warnings:
        typer.echo(
            f"注意：{path.name} 有 {len(parsed.warnings)} 条解析警告"
            f"（duban import {path} --dry-run 查看）",
            err=True,
        )
    return load_file_plan(parsed, ctx.policies.default)


def run_simulation(
    plan: str,
    date_from: date | None,
    date_to: date | None,
    submit_rate: float,
    seed: int,
    as_json: bool,
) -> None:
    """Simulate `plan` (an id or a file) over the period and print the timeline and totals."""
    from flows.context import flow_context

    if not 0.0 <= submit_rate <= 1.0:
        fail(f"--submit-rate 应在 0 到 1 之间，收到 {submit_rate}")
    ctx = flow_context()
    with runtime.transaction() as session:
        sim_plan = _load_plan(plan, ctx, session)
        directory = Directory(session)
        start, end = _pick_days(sim_plan, date_from, date_to)
        obligations = build_obligations(sim_plan, directory, start)
        session.rollback()  # read-only: nothing of this command is ever stored
    result = simulate(
        obligations,
        ctx.policies.default,
        ctx.calendar,
        start=datetime.combine(start, time.min, tzinfo=OFFICE_TZ),
        end=datetime.combine(end, _DAY_END, tzinfo=OFFICE_TZ),
        submit_rate=submit_rate,
        seed=seed,
    )
    run: dict[str, Any] = {"plan": sim_plan.label, "from": start.isoformat(), "to": end.isoformat()}
    run |= {"submit_rate": submit_rate, "seed": seed, "unowned_tasks": list_unowned(sim_plan)}
    resends = count_resends(
        (
            (
                a.obligation.unit,
                a.obligation.task_ref,
                a.action.stage,
                a.action.at,
                a.obligation.due,
            )
            for a in result.actions
        ),
        ctx.policies.assessment,
        ctx.policies.default,
        ctx.calendar,
        datetime.combine(end, _DAY_END, tzinfo=OFFICE_TZ),
    )
    _print_result(result, run, sorted(directory.unexpanded), as_json=as_json, resends=resends)


def _print_result(
    result: SimResult,
    run: dict[str, Any],
    unexpanded: list[str],
    *,
    as_json: bool,
    resends: tuple[int, int] | None = None,
) -> None:
    per_unit = count_per_unit(result)
    volume = measure_volume(result.actions)
    if as_json:
        data = result.to_json()
        data["totals"]["per_unit"] = per_unit
        data["volume"] = volume.to_json()
        if resends is not None:
            data["volume"]["receipt_resends"] = {"items": resends[0], "messages": resends[1]}
        print_json({**data, "simulation": run, "unexpanded": unexpanded})
        return
    for warning in result.warnings:
        typer.echo(warning, err=True)
    if unexpanded:
        typer.echo(
            f"注意：目录中无法展开、按一个收件单位模拟的名称（{len(unexpanded)}）：{'、'.join(unexpanded)}",
            err=True,
        )
    if run["unowned_tasks"]:
        typer.echo(
            f"注意：以下任务没有写明责任单位，不会生成提醒：{'、'.join(run['unowned_tasks'])}",
            err=True,
        )
    typer.echo(
        f"模拟 {run['plan']}：{run['from']} 至 {run['to']}，报送率 {run['submit_rate']}，"
        f"种子 {run['seed']}（不发送任何消息）"
    )
    typer.echo(render_timeline(replace(result, warnings=())))
    typer.echo("按单位：")
    for line in _describe_units(per_unit.items()):
        typer.echo(line)
    for line in render_volume(volume):
        typer.echo(line)
    if resends is not None:
        typer.echo(f"再次交办（假设没有单位签收）：最多 {resends[0]} 项，{resends[1]} 条消息")


def _describe_units(rows: Iterable[tuple[str, dict[str, int]]]) -> list[str]:
    return [
        f"  {unit}：" + "，".join(f"{STAGE_LABEL[Stage(s)]} {n}" for s, n in counts.items())
        for unit, counts in rows
    ]
