"""The parties a plan names (units, groups, leaders): resolve them in the directory, add the unknown as pending."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from models.directory import Unit, UnitGroup
from models.repo.audit import record_event
from models.repo.units import ensure_pending_unit, find_group, find_unit
from models.tables import Task, TaskUnit

# Names that stand for several units at once ("各街镇", "区安委会相关成员单位"): they expand
# through the directory's groups later, so they must never become a single pending unit.
_COLLECTIVE = re.compile(
    r"^(?:各|全|所有)|成员单位|有关单位|相关单位|牵头部门|签约单位|有关部门|相关部门|主管部门|"
    r"监管部门|行业管理部门|职能部门|其他单位"
)


def is_collective_name(name: str) -> bool:
    """True for names that read as a set of units (各…, 全…, …成员单位, …牵头部门)."""
    return bool(_COLLECTIVE.search(name))


@dataclass
class PendingParties:
    """Names a plan uses that the directory does not know yet (status 'pending' or absent)."""

    units: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    leaders: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many names are pending in all."""
        return len(self.units) + len(self.groups) + len(self.leaders)

    def to_dict(self) -> dict[str, list[str]]:
        """Return the JSON-ready form."""
        return {"units": self.units, "groups": self.groups, "leaders": self.leaders}


def ensure_parties(
    *, session: Session, names: Iterable[tuple[str, str]], now: datetime, actor: str
) -> PendingParties:
    """Make every (role, name) known to the directory; return those that are new and pending.

    Known units and groups (by name or alias) are left alone. Leaders become pending units of
    kind 'leader'; collective names become pending groups; anything else a pending unit.
    """
    added = PendingParties()
    for role, name in names:
        kind = _ensure_party(session, role, name, now, actor)
        if kind is not None:
            bucket = getattr(added, kind)
            if name not in bucket:
                bucket.append(name)
    return added


def _ensure_party(session: Session, role: str, name: str, now: datetime, actor: str) -> str | None:
    """Return the bucket ('units' | 'groups' | 'leaders') when `name` was added as pending."""
    if find_unit(session=session, name=name) or find_group(session=session, name=name):
        return None
    if role != "leader" and is_collective_name(name):
        _add_pending_group(session, name, now, actor)
        return "groups"
    unit = ensure_pending_unit(session=session, name=name, now=now, actor=actor)
    if role == "leader":
        unit.kind = "leader"
        session.flush()
        return "leaders"
    return "units"


def _add_pending_group(session: Session, name: str, now: datetime, actor: str) -> UnitGroup:
    group = UnitGroup(name=name, status="pending", created_at=now, updated_at=now)
    session.add(group)
    session.flush()
    record_event(
        session=session,
        at=now,
        actor=actor,
        entity="unit_group",
        entity_id=group.id,
        action="pending_added",
        reason="计划中出现、目录中没有的分组（集合名称，待在目录中补充成员）",
        to_status="pending",
    )
    return group


def list_pending(*, session: Session, plan_id: int) -> PendingParties:
    """The names a plan uses that are pending in the directory (or missing from it), in order."""
    stmt = (
        select(TaskUnit.role, TaskUnit.name)
        .join(Task, col(Task.id) == col(TaskUnit.task_id))
        .where(Task.plan_id == plan_id)
        .order_by(col(Task.position), col(TaskUnit.role), col(TaskUnit.position))
    )
    pending = PendingParties()
    for role, name in session.exec(stmt).all():
        bucket = _pending_bucket(session, role, name)
        if bucket is not None and name not in getattr(pending, bucket):
            getattr(pending, bucket).append(name)
    return pending


def _pending_bucket(session: Session, role: str, name: str) -> str | None:
    unit = find_unit(session=session, name=name)
    if unit is not None:
        if unit.status != "pending":
            return None
        return "leaders" if unit.kind == "leader" or role == "leader" else "units"
    group = find_group(session=session, name=name)
    if group is not None:
        return "groups" if group.status == "pending" else None
    if role == "leader":
        return "leaders"
    return "groups" if is_collective_name(name) else "units"


def unit_status(session: Session, name: str) -> str:
    """'unit', 'group', 'pending' or 'unknown': how the directory knows a party's name."""
    unit: Unit | None = find_unit(session=session, name=name)
    if unit is not None:
        return "pending" if unit.status == "pending" else "unit"
    group = find_group(session=session, name=name)
    if group is not None:
        return "pending" if group.status == "pending" else "group"
    return "unknown"
