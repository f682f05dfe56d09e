"""Reminder and escalation policy: a frozen dataclass, overrides, and YAML/TOML parsing (pure).

A policy file has a ``default`` section and optional overrides per plan, task ref or milestone;
resolution applies them in that order (most specific last). See ``default_policy.yaml``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from typing import Any, Literal

import yaml

from schedules.assessment import AssessmentError, Weights, parse_weights
from schedules.yaml_safe import load_bounded

SCOPES = ("plans", "tasks", "milestones")
DAY_UNITS = ("workdays", "days")  # offsets count working days, or calendar days


class PolicyError(ValueError):
    """A policy value or file is invalid; the message names the source and the field."""


@dataclass(frozen=True)
class Policy:
    """When to remind, chase and escalate one obligation (times are Asia/Shanghai wall time)."""

    remind_offsets: tuple[int, ...] = (5, 2, 0)  # before due, in remind_unit; 0 = the due day
    remind_unit: str = "workdays"
    early_lead: int = 60  # lead time (calendar days) above which the early reminders are added
    early_offsets: tuple[int, ...] = (30,)  # before due, in early_unit; () = no early reminder
    early_unit: str = "days"
    send_time: time = time(9, 0)
    window_start: time = time(9, 0)
    window_end: time = time(17, 30)
    assign: bool = True  # 交办: one message per unit listing its duties when the plan starts
    chase_after: int = 1  # level 1 催办 on the Nth working day after the deadline
    chase_every: int = 1  # then every N working days while overdue; 0 = chase once
    chase_max: int | None = 2  # at most N automatic 催办 per obligation; None = no limit
    office_at: int = 3  # level 2 督办 at N working days overdue
    leader_at: int = 0  # level 3 通报 per obligation at N working days overdue; 0 = never
    roll_over: bool = True  # a missed occurrence closes as 逾期未报 when the next falls due
    support_reminders: bool = True  # supporting (配合) units get the 提醒 too
    support_escalations: bool = (
        False  # ... and the 催办/督办/通报 (else escalation follows the lead)
    )
    # 定期进展报告: every unit with duties in the plan reports progress once per period, one report
    # covering all its open duties: at the plan's own report cadence (a recurring report milestone)
    # where it has one, else quarterly (progress_rrule) plus a year-end summary (progress_year_end).
    progress: bool = True
    progress_rrule: str = "FREQ=MONTHLY;BYMONTH=3,6,9;BYMONTHDAY=-1"
    progress_year_end: str = "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20"
    # The progress report's own 督办 (office_at of its milestones): 0 = none, a missed report is
    # chased (chase_max) and then closes as 逾期未报 when the next one falls due.
    progress_office_at: int = 0
    # A unit's first progress report falls due at least this many calendar days after the plan's
    # activation (its 交办): a report due the day it is asked for is skipped, the next period's is
    # the first.
    progress_first_after: int = 10

    def __post_init__(self) -> None:
        _check_policy(self)


def _fail(field_name: str, message: str) -> PolicyError:
    return PolicyError(f"策略字段 {field_name} 无效：{message}")


def _check_offsets(name: str, offsets: tuple[int, ...]) -> None:
    if any(o < 0 for o in offsets) or len(set(offsets)) != len(offsets):
        raise _fail(name, f"应为互不相同的非负整数，收到 {list(offsets)}")


def _check_reminders(p: Policy) -> None:
    _check_offsets("remind_offsets", p.remind_offsets)
    _check_offsets("early_offsets", p.early_offsets)
    for name in ("remind_unit", "early_unit"):
        if getattr(p, name) not in DAY_UNITS:
            raise _fail(
                name, f"应为 workdays（工作日）或 days（自然日），收到 {getattr(p, name)!r}"
            )
    if p.early_lead < 0:
        raise _fail("early_lead", "应为非负整数（自然日）")


def _check_policy(p: Policy) -> None:
    _check_reminders(p)
    if not p.window_start < p.window_end:
        raise _fail("window_start", "办公时段开始时间必须早于结束时间 window_end")
    if not p.window_start <= p.send_time <= p.window_end:
        raise _fail(
            "send_time",
            f"{p.send_time:%H:%M} 不在办公时段 {p.window_start:%H:%M}–{p.window_end:%H:%M} 内",
        )
    if p.chase_after < 1:
        raise _fail("chase_after", "催办最早在截止日后第 1 个工作日开始")
    if p.chase_every < 0:
        raise _fail("chase_every", "应为非负整数（0 表示只催办一次）")
    if p.chase_max is not None and p.chase_max < 0:
        raise _fail("chase_max", "应为非负整数（null 表示不限次数）")
    if p.office_at < 0 or 0 < p.office_at < p.chase_after:
        raise _fail("office_at", "应为 0（不自动督办）或满足 chase_after ≤ office_at")
    if p.progress_office_at < 0 or 0 < p.progress_office_at < p.chase_after:
        raise _fail("progress_office_at", "应为 0（不自动督办）或满足 chase_after ≤ 该值")
    if p.progress_first_after < 0:
        raise _fail("progress_first_after", "应为非负整数（天）")
    if p.leader_at < 0 or 0 < p.leader_at <= p.office_at:
        raise _fail("leader_at", "应为 0（不逐项通报）或大于 office_at 的整数")


# The policy before bounded chasing (issue 14): no 交办, no early reminder, 催办 every working day
# without end, 通报 per obligation at 10 working days, missed occurrences chased alongside the next
# ones. For before/after comparisons.
LEGACY_POLICY = Policy(
    early_offsets=(), assign=False, chase_max=None, leader_at=10, roll_over=False
)


def _coerce_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(name, f"应为整数，收到 {value!r}")
    return value


def _coerce_limit(name: str, value: object) -> int | None:
    return None if value is None else _coerce_int(name, value)


def _coerce_unit(name: str, value: object) -> str:
    text = str(value).strip().lower()
    if text not in DAY_UNITS:
        raise _fail(name, f"应为 workdays（工作日）或 days（自然日），收到 {value!r}")
    return text


def _coerce_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _fail(name, f"应为 true 或 false，收到 {value!r}")
    return value


def _coerce_time(name: str, value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        # YAML 1.1 reads an unquoted 17:30 as the sexagesimal integer 1050 (minutes).
        return time(value // 60, value % 60)
    try:
        return time.fromisoformat(str(value))
    except ValueError as exc:
        raise _fail(name, f'应为 "HH:MM" 格式的时间，收到 {value!r}') from exc


def _coerce_offsets(name: str, value: object) -> tuple[int, ...]:
    if not isinstance(value, list | tuple):
        raise _fail(name, f"应为整数列表，例如 [5, 2, 0]，收到 {value!r}")
    return tuple(sorted((_coerce_int(name, v) for v in value), reverse=True))


def _coerce_rule(name: str, value: object) -> str:
    text = str(value).strip()
    if not text.upper().startswith("FREQ="):
        raise _fail(name, f"应为 RRULE 周期规则（如 FREQ=MONTHLY;BYMONTHDAY=26），收到 {value!r}")
    return text


_COERCE: dict[str, Callable[[str, object], Any]] = {
    "remind_offsets": _coerce_offsets,
    "remind_unit": _coerce_unit,
    "early_lead": _coerce_int,
    "early_offsets": _coerce_offsets,
    "early_unit": _coerce_unit,
    "send_time": _coerce_time,
    "window_start": _coerce_time,
    "window_end": _coerce_time,
    "assign": _coerce_bool,
    "chase_after": _coerce_int,
    "chase_every": _coerce_int,
    "chase_max": _coerce_limit,
    "office_at": _coerce_int,
    "leader_at": _coerce_int,
    "roll_over": _coerce_bool,
    "support_reminders": _coerce_bool,
    "support_escalations": _coerce_bool,
    "progress": _coerce_bool,
    "progress_rrule": _coerce_rule,
    "progress_year_end": _coerce_rule,
    "progress_office_at": _coerce_int,
    "progress_first_after": _coerce_int,
}


def merge(base: Policy, override: Mapping[str, object], *, where: str = "策略") -> Policy:
    """Return ``base`` with the fields in ``override`` replaced, validated; errors name the field."""
    changes: dict[str, Any] = {}
    try:
        for key, value in override.items():
            coerce = _COERCE.get(str(key))
            if coerce is None:
                known = "、".join(_COERCE)
                raise PolicyError(f"未知策略字段 {key!r}（可用字段：{known}）")
            changes[str(key)] = coerce(str(key), value)
        return replace(base, **changes)
    except PolicyError as exc:
        raise PolicyError(f"{where}：{exc}") from exc


@dataclass(frozen=True)
class PolicySet:
    """The default policy plus raw overrides per scope (``plans``, ``tasks``, ``milestones``)."""

    default: Policy = Policy()
    plans: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    tasks: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    milestones: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    # 考核 weights (schedules/assessment.py): the file's `assessment:` section, validated.
    assessment: Weights = field(default_factory=Weights)

    def resolve(
        self, *, plan: str | None = None, task: str | None = None, milestone: str | None = None
    ) -> Policy:
        """Return the effective policy: default ← plan ← task ← milestone overrides."""
        policy = self.default
        for scope, key in (("plans", plan), ("tasks", task), ("milestones", milestone)):
            table: Mapping[str, Mapping[str, object]] = getattr(self, scope)
            if key is not None and key in table:
                policy = merge(policy, table[key], where=f"{scope}.{key}")
        return policy


def _require_mapping(value: object, where: str) -> Mapping[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where}：应为 字段: 值 的映射，收到 {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _parse_scope(
    raw: Mapping[str, object], scope: str, source: str
) -> dict[str, Mapping[str, object]]:
    table = _require_mapping(raw.get(scope), f"{source} {scope}")
    return {str(k): _require_mapping(v, f"{source} {scope}.{k}") for k, v in table.items()}


def parse_policy(
    text: str, *, fmt: Literal["yaml", "toml"] = "yaml", source: str = "策略文件"
) -> PolicySet:
    """Parse a policy file's text; every override is validated now so errors surface at load."""
    raw = _load_raw(text, fmt, source)
    unknown = sorted(set(raw) - {"default", "assessment", *SCOPES})
    if unknown:
        raise PolicyError(
            f"{source}：未知顶层字段 {unknown[0]!r}"
            "（只允许 default、plans、tasks、milestones、assessment）"
        )
    try:
        weights = parse_weights(
            _require_mapping(raw.get("assessment"), f"{source} assessment"),
            where=f"{source} assessment",
        )
    except AssessmentError as exc:
        raise PolicyError(str(exc)) from exc
    default = merge(
        Policy(),
        _require_mapping(raw.get("default"), f"{source} default"),
        where=f"{source} default",
    )
    scopes = {s: _parse_scope(raw, s, source) for s in SCOPES}
    for scope, table in scopes.items():
        for key, override in table.items():
            merge(default, override, where=f"{source} {scope}.{key}")
    return PolicySet(default, scopes["plans"], scopes["tasks"], scopes["milestones"], weights)


def _load_raw(text: str, fmt: str, source: str) -> Mapping[str, object]:
    try:
        raw: object = tomllib.loads(text) if fmt == "toml" else load_bounded(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{source}：{fmt.upper()} 格式错误：{exc}") from exc
    return _require_mapping(raw, source)
