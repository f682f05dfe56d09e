"""Unit directory writes: import (idempotent upsert), pending units, lookups by name/alias/group."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from models.directory import Channel, Contact, GroupMember, Unit, UnitAlias, UnitGroup
from models.repo.audit import record_event

if TYPE_CHECKING:
    from models.directory_spec import DirectorySpec, GroupSpec, UnitSpec


@dataclass
class ImportReport:
    """What a directory import changed."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    groups_created: list[str] = field(default_factory=list)
    groups_updated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.groups_created or self.groups_updated)


def find_unit(*, session: Session, name: str) -> Unit | None:
    """A unit by canonical name or alias."""
    unit = session.exec(select(Unit).where(Unit.name == name)).first()
    if unit is not None:
        return unit
    alias = session.exec(select(UnitAlias).where(UnitAlias.alias == name)).first()
    return session.get(Unit, alias.unit_id) if alias else None


def find_group(*, session: Session, name: str) -> UnitGroup | None:
    """A group by name or one of its aliases."""
    group = session.exec(select(UnitGroup).where(UnitGroup.name == name)).first()
    if group is not None:
        return group
    for g in session.exec(select(UnitGroup)).all():
        if name in (g.aliases or []):
            return g
    return None


def group_members(*, session: Session, group: UnitGroup) -> list[Unit]:
    """The units of a group, by name."""
    stmt = (
        select(Unit)
        .join(GroupMember, col(GroupMember.unit_id) == col(Unit.id))
        .where(GroupMember.group_id == group.id)
        .order_by(col(Unit.name))
    )
    return list(session.exec(stmt).all())


def ensure_pending_unit(*, session: Session, name: str, now: datetime, actor: str) -> Unit:
    """Return the unit named `name`, adding it as 'pending' if the directory does not know it."""
    unit = find_unit(session=session, name=name)
    if unit is not None:
        return unit
    unit = Unit(name=name, kind="other", status="pending", created_at=now, updated_at=now)
    session.add(unit)
    session.flush()
    record_event(
        session=session,
        at=now,
        actor=actor,
        entity="unit",
        entity_id=unit.id,
        action="pending_added",
        reason="计划中出现、目录中没有的单位",
        to_status="pending",
    )
    return unit


def apply_directory(
    *, session: Session, spec: DirectorySpec, now: datetime, actor: str
) -> ImportReport:
    """Upsert every unit and group of `spec`; identical input changes nothing."""
    report = ImportReport()
    by_name: dict[str, Unit] = {}
    for u in spec.units:
        unit, state = _upsert_unit(session, u, now)
        by_name[u.name] = unit
        getattr(report, state).append(u.name)
    for u in spec.units:
        parent = by_name.get(u.parent or "") or (
            find_unit(session=session, name=u.parent) if u.parent else None
        )
        if by_name[u.name].parent_id != (parent.id if parent else None):
            by_name[u.name].parent_id = parent.id if parent else None
            _mark_updated(report, u.name)
    for g in spec.groups:
        state = _upsert_group(session, g, by_name, now)
        if state == "created":
            report.groups_created.append(g.name)
        elif state == "updated":
            report.groups_updated.append(g.name)
    if report.changed:
        record_event(
            session=session,
            at=now,
            actor=actor,
            entity="directory",
            entity_id=None,
            action="imported",
            reason=spec.path,
            data={k: v for k, v in report.__dict__.items() if k != "unchanged"},
        )
    return report


def _mark_updated(report: ImportReport, name: str) -> None:
    if name in report.unchanged:
        report.unchanged.remove(name)
        report.updated.append(name)


def _upsert_unit(session: Session, spec: UnitSpec, now: datetime) -> tuple[Unit, str]:
    unit = find_unit(session=session, name=spec.name)
    state = "unchanged"
    if unit is None:
        unit = Unit(name=spec.name, kind=spec.kind, note=spec.note, created_at=now, updated_at=now)
        session.add(unit)
        session.flush()
        state = "created"
    changes = {"name": spec.name, "kind": spec.kind, "note": spec.note, "status": "active"}
    if any(getattr(unit, k) != v for k, v in changes.items()):
        for k, v in changes.items():
            setattr(unit, k, v)
        state = "updated" if state == "unchanged" else state
    synced = [
        _sync_aliases(session, unit, spec.aliases),
        _sync_contacts(session, unit, spec),
        _sync_channels(session, unit, spec),
    ]
    if any(synced) and state == "unchanged":
        state = "updated"
    if state != "unchanged":
        unit.updated_at = now
        record_event(
            session=session,
            at=now,
            actor="directory",
            entity="unit",
            entity_id=unit.id,
            action=state,
        )
    return unit, state


def _sync_aliases(session: Session, unit: Unit, aliases: Iterable[str]) -> bool:
    want = {a for a in aliases if a != unit.name}
    have = {
        a.alias: a
        for a in session.exec(select(UnitAlias).where(UnitAlias.unit_id == unit.id)).all()
    }
    for gone in set(have) - want:
        session.delete(have[gone])
    for new in want - set(have):
        session.add(UnitAlias(unit_id=unit.id or 0, alias=new))
    session.flush()
    return set(have) != want


def _sync_rows(
    session: Session, have: dict[Any, Any], want: dict[Any, Any], make: Any, fields: tuple[str, ...]
) -> bool:
    """Make a unit's child rows match the file: delete the missing, add the new, update `fields`."""
    changed = False
    for key in set(have) - set(want):
        session.delete(have[key])
        changed = True
    for key, spec in want.items():
        row = have.get(key)
        if row is None:
            session.add(make(spec))
            changed = True
        elif any(getattr(row, f) != getattr(spec, f) for f in fields):
            for f in fields:
                setattr(row, f, getattr(spec, f))
            changed = True
    session.flush()
    return changed


def _sync_contacts(session: Session, unit: Unit, spec: UnitSpec) -> bool:
    rows = session.exec(select(Contact).where(Contact.unit_id == unit.id)).all()
    return _sync_rows(
        session,
        {(c.name, c.role): c for c in rows},
        {(c.name, c.role): c for c in spec.contacts},
        lambda c: Contact(
            unit_id=unit.id or 0, name=c.name, role=c.role, email=c.email, mobile=c.mobile
        ),
        ("email", "mobile"),
    )


def _sync_channels(session: Session, unit: Unit, spec: UnitSpec) -> bool:
    rows = session.exec(select(Channel).where(Channel.unit_id == unit.id)).all()
    return _sync_rows(
        session,
        {(c.type, c.url): c for c in rows},
        {(c.type, c.url): c for c in spec.channels},
        lambda c: Channel(
            unit_id=unit.id or 0, type=c.type, url=c.url, secret=c.secret, enabled=c.enabled
        ),
        ("secret", "enabled"),
    )


def _upsert_group(
    session: Session, spec: GroupSpec, by_name: dict[str, Unit], now: datetime
) -> str:
    group = session.exec(select(UnitGroup).where(UnitGroup.name == spec.name)).first()
    state = "unchanged"
    if group is None:
        group = UnitGroup(
            name=spec.name, aliases=spec.aliases, note=spec.note, created_at=now, updated_at=now
        )
        session.add(group)
        session.flush()
        state = "created"
    elif (list(group.aliases or []), group.note, group.status) != (
        spec.aliases,
        spec.note,
        "active",
    ):
        group.aliases, group.note, group.status = list(spec.aliases), spec.note, "active"
        state = "updated"
    want = {by_name[m].id for m in spec.members}
    have = {
        m.unit_id: m
        for m in session.exec(select(GroupMember).where(GroupMember.group_id == group.id)).all()
    }
    for gone in set(have) - want:
        session.delete(have[gone])
    for new in want - set(have):
        session.add(GroupMember(group_id=group.id or 0, unit_id=new or 0))
    if set(have) != want and state == "unchanged":
        state = "updated"
    if state != "unchanged":
        group.updated_at = now
    session.flush()
    return state
