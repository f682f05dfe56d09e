"""Materialise obligations on PostgreSQL in set-based statements: the rows are built by the server.

Every unit owing a milestone occurrence gets the same row but for its `unit_id`, and `assign_at`
(set on its first open occurrence when it had nothing of the duty before); the engine's first
answer depends only on the occurrence, the role and that flag. So the client sends, per statement,
a few *templates* (one per occurrence, role and 交办 flag, with the engine's answer) and the owner
sets (unit, role; shared by all the milestones owed by the same units), and one
`INSERT … SELECT templates JOIN owners` builds the rows: no row travels as JSON, none is built in
Python, and memory stays that of the templates whatever the plan's size.

Statements hold whole milestones (≈`CHUNK` rows each): the 交办 flag reads the rows a unit had of
the milestone before the statement, so a milestone is never split. A plan with no obligation yet
(activation) skips the anti-joins; otherwise a row already there is skipped (`NOT EXISTS` on the
unique key) and counted as existing, and rows of occurrences whose neighbours changed (a plan edit)
follow them (`lapses_on`, `starts_on`), as the row-by-row path does.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.engine import Dialect
from sqlmodel import Session

from models.repo.bulk import _bind_steps, _iso
from models.tables import Obligation

CHUNK = 100_000  # rows per statement (whole milestones: one may go over)
_OBLIGATIONS: Table = Obligation.__table__  # type: ignore[attr-defined]
# What a template carries: every column of the new row but the unit's.
TEMPLATE_COLUMNS = (
    "plan_id", "task_id", "milestone_id", "occurrence", "role", "due_on", "due_at", "status",
    "escalation_level", "next_action_at", "needs_confirmation", "since", "assign_at", "starts_on",
    "lapses_on", "created_at", "updated_at", "version",
)  # fmt: skip


@dataclass
class SetWriter:
    """Templates and owner sets of the milestones buffered for the next statement."""

    fresh: bool  # the plan has no obligation yet: no row to skip, every unit gets its 交办
    templates: list[dict[str, Any]] = field(default_factory=list)
    owners: dict[tuple[tuple[int, str], ...], int] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0  # rows the buffered templates stand for
    slots: int = 0  # occurrences buffered
    confirm: int = 0  # of them, rows to confirm (counted here when nothing can be skipped)

    def add_milestone(
        self,
        session: Session,
        roles: Mapping[int, str],
        templates: list[dict[str, Any]],
        links: list[dict[str, Any]],
    ) -> tuple[int, int, int]:
        """Buffer one milestone; returns (created, to_confirm, existing) when it flushed, else zeros.

        `templates` carry `first` (the occurrence a unit with nothing of the duty is assigned on)
        and `assign`; `links` the occurrences' neighbours (for rows already there).
        """
        done = (0, 0, 0)
        size = len(roles) * len({t["occurrence"] for t in templates})
        if self.rows and self.rows + size > CHUNK:
            done = self.flush(session)
        key = tuple(roles.items())
        owner_id = self.owners.setdefault(key, len(self.owners) + 1)
        # `slot` orders the rows as the row-by-row path writes them: occurrence, then unit.
        slots: dict[date, int] = {}
        for t in templates:
            slot = slots.setdefault(t["occurrence"], self.slots + len(slots))
            self.templates.append(t | {"owners": owner_id, "slot": slot})
        self.slots += len(slots)
        by_role = {
            role: sum(1 for r in roles.values() if r == role) for role in set(roles.values())
        }
        self.confirm += sum(by_role[t["role"]] for t in templates if t["status"] == "to_confirm")
        if not self.fresh:
            self.links += links
        self.rows += size
        return done

    def flush(self, session: Session) -> tuple[int, int, int]:
        """Run the buffered statement(s); returns (created, to_confirm, existing)."""
        dialect = session.get_bind().dialect
        conn = session.connection()
        if self.links:
            conn.execute(_relink_sql(dialect), {"links": json.dumps(self.links, default=_iso)})
            self.links = []
        if not self.templates:
            return (0, 0, 0)
        owners = [
            {"owners": n, "unit_id": unit_id, "role": role, "position": k}
            for key, n in self.owners.items()
            for k, (unit_id, role) in enumerate(key)
        ]
        params = {
            "templates": _template_document(self.templates, dialect),
            "owners": json.dumps(owners, ensure_ascii=False),
        }
        if self.fresh:  # every candidate row is written: no RETURNING to count them
            conn.execute(_insert_sql(dialect, True), params)
            created, to_confirm = self.rows, self.confirm
        else:
            created, to_confirm = conn.execute(_insert_sql(dialect, False), params).one()
        existing = self.rows - created
        self.templates, self.owners, self.links = [], {}, []
        self.rows = self.slots = self.confirm = 0
        return int(created), int(to_confirm or 0), existing


def occurrence_links(milestone_id: int, linked: list[Any]) -> list[dict[str, Any]]:
    """Each occurrence's neighbours as the relink statement reads them."""
    return [
        {"milestone_id": milestone_id, "occurrence": o.due, "previous": o.previous,
         "following": o.following}
        for o in linked
    ]  # fmt: skip


def _template_document(templates: list[dict[str, Any]], dialect: Dialect) -> str:
    steps = _bind_steps(_OBLIGATIONS, TEMPLATE_COLUMNS, dialect)
    out = []
    for t in templates:
        item = {c: t[c] for c in ("owners", "slot", "first", "assign")}
        for c, process in steps:
            value = t[c]
            item[c] = process(value) if process is not None and value is not None else value
        out.append(item)
    return json.dumps(out, ensure_ascii=False, default=_iso)


def _typed(dialect: Dialect, names: tuple[str, ...]) -> str:
    return ", ".join(f"{c} {_OBLIGATIONS.c[c].type.compile(dialect=dialect)}" for c in names)


@functools.lru_cache(maxsize=4)
def _insert_sql(dialect: Dialect, fresh: bool) -> Any:
    columns = ("unit_id", *TEMPLATE_COLUMNS)
    picked = ", ".join(["o.unit_id", *(f"t.{c}" for c in TEMPLATE_COLUMNS)])
    template_cols = ", ".join(
        ["owners integer, slot integer, first boolean, assign boolean",
         _typed(dialect, TEMPLATE_COLUMNS)]
    )  # fmt: skip
    if fresh:
        # Nothing stored yet: every owner of the assigning occurrence is in its 交办.
        where = "t.assign = t.first"
    else:
        where = (
            "t.assign = (t.first AND NOT EXISTS (SELECT 1 FROM obligation x"
            " WHERE x.milestone_id = t.milestone_id AND x.unit_id = o.unit_id))"
            " AND NOT EXISTS (SELECT 1 FROM obligation x WHERE x.milestone_id = t.milestone_id"
            " AND x.unit_id = o.unit_id AND x.occurrence = t.occurrence)"
        )
    insert = f"""
    INSERT INTO obligation ({", ".join(columns)})
    SELECT {picked}
    FROM json_to_recordset(CAST(:templates AS json)) AS t({template_cols})
    JOIN json_to_recordset(CAST(:owners AS json))
        AS o(owners integer, unit_id integer, role varchar, position integer)
        ON o.owners = t.owners AND o.role = t.role
    WHERE {where}
    ORDER BY t.slot, o.position"""
    if fresh:
        return text(insert)
    # Rows may be skipped: count what was written.
    return text(
        f"WITH made AS ({insert}\n    RETURNING status)\n"
        "SELECT count(*), count(*) FILTER (WHERE status = 'to_confirm') FROM made"
    )


@functools.lru_cache(maxsize=2)
def _relink_sql(dialect: Dialect) -> Any:
    # A plan edit that changed a recurrence: stored rows follow their occurrence's new neighbours;
    # the first occurrence keeps its lead-time start.
    return text(
        """
UPDATE obligation AS d
SET lapses_on = v.following, starts_on = COALESCE(v.previous, d.starts_on)
FROM json_to_recordset(CAST(:links AS json))
    AS v(milestone_id integer, occurrence date, previous date, following date)
WHERE d.milestone_id = v.milestone_id AND d.occurrence = v.occurrence
    AND (d.lapses_on IS DISTINCT FROM v.following
         OR d.starts_on IS DISTINCT FROM COALESCE(v.previous, d.starts_on))
"""
    )


def templates_for(
    occurrences: list[Any],
    roles: Mapping[int, str],
    make: Callable[[str, Any, bool], dict[str, Any]],
    first: date | None,
) -> list[dict[str, Any]]:
    """The templates of one milestone: per occurrence and role present, unassigned, plus the
    assigned variant on `first` (the first occurrence that is not to be confirmed)."""
    present = sorted(set(roles.values()), key=("lead", "support").index)
    out = []
    for occ in occurrences:
        for role in present:
            variants = (False, True) if occ.due == first else (False,)
            for assign in variants:
                row = make(role, occ, assign)
                out.append(row | {"first": occ.due == first, "assign": assign})
    return out


def plan_is_fresh(session: Session, plan_id: int) -> bool:
    """Whether the plan has no obligation yet."""
    found = session.connection().execute(
        text("SELECT 1 FROM obligation WHERE plan_id = :p LIMIT 1"), {"p": plan_id}
    )
    return found.first() is None
