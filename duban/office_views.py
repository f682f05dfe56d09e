"""Read-side views of obligations, the queue and the audit trail, shared by the CLI (and the pages).

They read through SQLAlchemy Core (duban/read_tables.py) so that the commands clerks type all day
start in well under a second. Lists come a page at a time with the honest total; a filter value
that means nothing (an unknown status, unit or plan) is an error naming the values that exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from duban.fast_db import FastConn
from models.labels import LEVEL_LABEL, QUEUE_LEVEL_LABEL, QUEUE_STATUS_LABEL, ROLE_LABEL
from schedules.clock import OFFICE_TZ
from schedules.machine import EVENT_LABEL, STATUS_LABEL, Event
from schedules.obligation import Status

STAGE_LABEL = {"remind": "提醒", "chase": "催办", "office": "督办", "leader": "通报"}
# What a clerk may type for --status: the stored value, its label, or a short form of it.
STATUS_ALIASES: dict[str, str] = {
    **{s.value: s.value for s in Status},
    **{label: s.value for s, label in STATUS_LABEL.items()},
    "逾期": "overdue",
    "督办": "escalated",
    "已督办": "escalated",
    "已报送": "submitted",
    "待验收": "submitted",
    "销号": "accepted",
    "退回": "reopened",
    "延期": "extension_requested",
    "免除": "waived",
    "待确认": "to_confirm",
}
QUEUE_STATUSES: dict[str, tuple[str, ...]] = {
    "open": ("open", "acked"),
    "未办结": ("open", "acked"),
    "acked": ("acked",),
    "已认领": ("acked",),
    "resolved": ("resolved",),
    "已办结": ("resolved",),
    "all": (),
    "全部": (),
}
QUEUE_LEVELS = {"0": 0, "无法送达": 0, "2": 2, "督办": 2, "3": 3, "通报": 3}
AUDIT_ACTIONS = {
    **{e.value: label for e, label in EVENT_LABEL.items()},
    "enqueued": "进入督办队列",
    "acked": "认领",
    "noted": "备注",
    "resolved": "办结",
    "superseded": "升级后由新事项接替",
    "open": "重新打开",
    "unreachable": "无法送达，进入队列",
    "sheet_opened": "开立督办单",
}
# The engine's reasons (schedules/obligation.py Reason), stored as the audit row's reason.
REASON_LABEL = {
    "assigned": "交办",
    "early_reminder": "提前一个月提醒",
    "first_reminder": "首次提醒",
    "repeat_due": "到期前再次提醒",
    "due_today": "到期当日提醒",
    "first_chase": "逾期首次催办",
    "repeat_chase": "逾期再次催办",
    "escalate_office": "逾期升级督办",
    "escalate_leader": "逾期升级通报",
    "manual_chase": "办公室要求再次催办",
    "rolled_over": "下一期已到期，本期记为逾期未报",
    "outside_window": "不在办公时间",
    "awaiting_acceptance": "等待办公室验收",
    "awaiting_confirmation": "等待办公室确认",
    "resolved": "已办结",
}
AUDIT_ENTITIES = {"obligation": "义务", "queue_item": "督办事项", "queue_sheet": "督办单"}

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.engine import Connection, RowMapping


class ViewError(ValueError):
    """A filter the data cannot answer (unknown status, unit, plan); the message lists what exists."""


@dataclass(frozen=True)
class Page:
    """One page of a list and the number of rows the whole list has."""

    items: list[dict[str, Any]]
    total: int
    offset: int
    limit: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the rows under `items`, with `total`, `offset` and `limit`."""
        return {
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "items": self.items,
        }


def _names(values: Iterable[str]) -> str:
    return "、".join(values)


def parse_statuses(text: str) -> list[str]:
    """`--status` as stored values; several may be given as 已逾期,已升级督办."""
    out = []
    for part in filter(None, (p.strip() for p in text.replace("、", ",").split(","))):
        if part not in STATUS_ALIASES:
            valid = _names(f"{label}（{s.value}）" for s, label in STATUS_LABEL.items())
            raise ViewError(f"--status 的值 {part!r} 无效，可选: {valid}")
        out.append(STATUS_ALIASES[part])
    return out


def parse_queue_status(text: str) -> tuple[str, ...]:
    """`queue list --status`: the item statuses it stands for (empty: all)."""
    if text not in QUEUE_STATUSES:
        raise ViewError(
            f"--status 的值 {text!r} 无效，可选: 未办结（open）、已认领（acked）、已办结（resolved）、全部（all）"
        )
    return QUEUE_STATUSES[text]


def parse_queue_level(text: str) -> int:
    """`queue list --level`: 2 / 督办 or 3 / 通报."""
    if text not in QUEUE_LEVELS:
        raise ViewError(f"--level 的值 {text!r} 无效，可选: 2（督办）、3（通报）、0（无法送达）")
    return QUEUE_LEVELS[text]


def unit_id(conn: Connection | FastConn, name: str) -> int:
    """A unit's id by its name or an alias; unknown names are an error."""
    name = name.strip()
    if isinstance(conn, FastConn):
        found = conn.scalar("SELECT id FROM unit WHERE name = ?", (name,))
        if found is None:
            found = conn.scalar("SELECT unit_id FROM unit_alias WHERE alias = ?", (name,))
        if found is None:
            raise ViewError(f"目录中没有名为“{name}”的单位（可用 duban units list 查看）")
        return int(found)
    from sqlalchemy import select

    from duban import read_tables as t

    found = conn.execute(select(t.unit.c.id).where(t.unit.c.name == name)).scalar()
    if found is None:
        found = conn.execute(
            select(t.unit_alias.c.unit_id).where(t.unit_alias.c.alias == name)
        ).scalar()
    if found is None:
        raise ViewError(f"目录中没有名为“{name}”的单位（可用 duban units list 查看）")
    return int(found)


def check_plan(conn: Connection | FastConn, plan_id: int) -> None:
    """Refuse a plan id that does not exist, naming those that do."""
    if isinstance(conn, FastConn):
        if conn.scalar("SELECT id FROM plan WHERE id = ?", (plan_id,)) is not None:
            return
        ids = [r["id"] for r in conn.rows("SELECT id FROM plan ORDER BY id")]
        known = f"现有计划: {_names(str(i) for i in ids)}" if ids else "还没有导入任何计划"
        raise ViewError(f"没有编号为 {plan_id} 的计划（{known}）")
    from sqlalchemy import select

    from duban import read_tables as t

    if conn.execute(select(t.plan.c.id).where(t.plan.c.id == plan_id)).scalar() is None:
        plan_ids = conn.execute(select(t.plan.c.id).order_by(t.plan.c.id)).scalars().all()
        known = (
            f"现有计划: {_names(str(i) for i in plan_ids)}" if plan_ids else "还没有导入任何计划"
        )
        raise ViewError(f"没有编号为 {plan_id} 的计划（{known}）")


def _obligation_columns() -> tuple[Any, ...]:
    from duban import read_tables as t

    return (
        t.obligation.c.id,
        t.obligation.c.plan_id,
        t.plan.c.title.label("plan"),
        t.task.c.ref.label("task_ref"),
        t.task.c.title.label("task"),
        t.milestone.c.label.label("milestone_label"),
        t.milestone.c.source_text.label("milestone_text"),
        t.unit.c.name.label("unit"),
        t.obligation.c.role,
        t.obligation.c.due_on,
        t.obligation.c.status,
        t.obligation.c.escalation_level,
        t.obligation.c.next_action_at,
    )


# The same columns and joins in plain SQL (duban/fast_db.py).
_FAST_COLUMNS = (
    "o.id AS id, o.plan_id AS plan_id, p.title AS plan, t.ref AS task_ref, t.title AS task, "
    "m.label AS milestone_label, m.source_text AS milestone_text, u.name AS unit, o.role AS role, "
    "o.due_on AS due_on, o.status AS status, o.escalation_level AS escalation_level, "
    "o.next_action_at AS next_action_at"
)
_FAST_JOINS = (
    "JOIN milestone m ON m.id = o.milestone_id JOIN task t ON t.id = o.task_id "
    "JOIN plan p ON p.id = o.plan_id JOIN unit u ON u.id = o.unit_id"
)


def _fast_page(
    conn: FastConn,
    body: str,
    order: str,
    params: list[Any],
    limit: int | None,
    offset: int,
    extra: str = "",
) -> tuple[int, list[dict[str, Any]]]:
    total = conn.scalar(f"SELECT count(*) AS n FROM {body}", params)
    page = f" LIMIT {int(limit)}" if limit is not None else ""
    if limit is None and conn.dialect == "sqlite":
        page = " LIMIT -1"  # SQLite has no OFFSET without LIMIT
    sql = f"SELECT {_FAST_COLUMNS}{extra} FROM {body} ORDER BY {order}{page} OFFSET {int(offset)}"
    return int(total or 0), conn.rows(sql, params)


_QUEUE_COLUMNS = (
    ", q.id AS queue_id, q.sheet_id AS sheet_id, q.level AS queue_level, q.status AS queue_status, "
    "q.acked_by AS acked_by, q.notes AS notes, q.created_at AS queued_at"
)


def _in(values: Iterable[Any]) -> str:
    return "(" + ", ".join("?" for _ in values) + ")"


def _joined(stmt: Select[Any]) -> Select[Any]:
    from duban import read_tables as t

    ob = t.obligation.c
    return (
        stmt.join(t.milestone, t.milestone.c.id == ob.milestone_id)
        .join(t.task, t.task.c.id == ob.task_id)
        .join(t.plan, t.plan.c.id == ob.plan_id)
        .join(t.unit, t.unit.c.id == ob.unit_id)
    )


def obligation_row(r: RowMapping | Mapping[str, Any]) -> dict[str, Any]:
    """One obligation as the office reads it."""
    nxt = r["next_action_at"]
    return {
        "id": r["id"],
        "plan_id": r["plan_id"],
        "plan": r["plan"],
        "task_ref": r["task_ref"],
        "task": r["task"],
        "milestone": r["milestone_label"] or r["milestone_text"],
        "unit": r["unit"],
        "role": r["role"],
        "role_label": ROLE_LABEL.get(r["role"], r["role"]),
        "due": r["due_on"].isoformat(),
        "status": r["status"],
        "status_label": STATUS_LABEL[Status(r["status"])],
        "level": r["escalation_level"],
        "level_label": LEVEL_LABEL.get(r["escalation_level"], ""),
        "next_action_at": nxt.astimezone(OFFICE_TZ).isoformat() if nxt else None,
    }


def _page(conn: Connection, stmt: Select[Any], limit: int | None, offset: int) -> tuple[int, Any]:
    from sqlalchemy import func, select

    total = conn.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar()
    rows = conn.execute(
        stmt.offset(offset).limit(limit) if limit is not None else stmt.offset(offset)
    )
    return int(total or 0), rows.mappings().all()


def list_obligations(
    conn: Connection | FastConn,
    *,
    unit: str | None = None,
    plan: int | None = None,
    statuses: list[str] | None = None,
    due_from: date | None = None,
    due_to: date | None = None,
    limit: int | None = 50,
    offset: int = 0,
) -> Page:
    """Obligations filtered as the office asks, earliest due first, one page and the total."""
    if isinstance(conn, FastConn):
        where = ["1 = 1"]
        params: list[int | str] = []  # bind values: ids and levels, status values, ISO dates
        if unit:
            where.append("o.unit_id = ?")
            params.append(unit_id(conn, unit))
        if plan is not None:
            check_plan(conn, plan)
            where.append("o.plan_id = ?")
            params.append(plan)
        if statuses:
            where.append(f"o.status IN {_in(statuses)}")
            params.extend(statuses)
        if due_from:
            where.append("o.due_on >= ?")
            params.append(due_from.isoformat())
        if due_to:
            where.append("o.due_on <= ?")
            params.append(due_to.isoformat())
        body = f"obligation o {_FAST_JOINS} WHERE {' AND '.join(where)}"
        total, found = _fast_page(conn, body, "o.due_on, u.name, o.id", params, limit, offset)
        return Page([obligation_row(r) for r in found], total, offset, limit)
    from sqlalchemy import and_, select

    from duban import read_tables as t

    ob = t.obligation.c
    conds = []
    if unit:
        conds.append(ob.unit_id == unit_id(conn, unit))
    if plan is not None:
        check_plan(conn, plan)
        conds.append(ob.plan_id == plan)
    if statuses:
        conds.append(ob.status.in_(statuses))
    if due_from:
        conds.append(ob.due_on >= due_from)
    if due_to:
        conds.append(ob.due_on <= due_to)
    stmt = _joined(select(*_obligation_columns()).select_from(t.obligation)).where(
        and_(True, *conds)
    )
    stmt = stmt.order_by(ob.due_on, t.unit.c.name, ob.id)
    total, rows = _page(conn, stmt, limit, offset)
    return Page([obligation_row(r) for r in rows], total, offset, limit)


def list_queue(
    conn: Connection | FastConn,
    *,
    level: int | None = None,
    unit: str | None = None,
    plan: int | None = None,
    statuses: tuple[str, ...] = ("open", "acked"),
    limit: int | None = 50,
    offset: int = 0,
) -> Page:
    """The escalation queue, most severe and oldest first, one page and the total."""
    if isinstance(conn, FastConn):
        where = ["1 = 1"]
        params: list[int | str] = []  # bind values: ids and levels, status values, ISO dates
        if level is not None:
            where.append("q.level = ?")
            params.append(level)
        if statuses:
            where.append(f"q.status IN {_in(statuses)}")
            params.extend(statuses)
        if plan is not None:
            check_plan(conn, plan)
            where.append("o.plan_id = ?")
            params.append(plan)
        if unit:
            where.append("o.unit_id = ?")
            params.append(unit_id(conn, unit))
        body = (
            f"queue_item q JOIN obligation o ON o.id = q.obligation_id {_FAST_JOINS} "
            f"WHERE {' AND '.join(where)}"
        )
        order = "q.level DESC, q.created_at, q.id"
        total, found = _fast_page(conn, body, order, params, limit, offset, _QUEUE_COLUMNS)
        return Page([_queue_row(r) for r in found], total, offset, limit)
    from sqlalchemy import and_, select

    from duban import read_tables as t

    q, ob = t.queue_item.c, t.obligation.c
    stmt = _joined(
        select(
            q.id.label("queue_id"),
            q.sheet_id,
            q.level.label("queue_level"),
            q.status.label("queue_status"),
            q.acked_by,
            q.notes,
            q.created_at.label("queued_at"),
            *_obligation_columns(),
        )
        .select_from(t.queue_item)
        .join(t.obligation, ob.id == q.obligation_id)
    )
    conds = []
    if level is not None:
        conds.append(q.level == level)
    if statuses:
        conds.append(q.status.in_(statuses))
    if plan is not None:
        check_plan(conn, plan)
        conds.append(ob.plan_id == plan)
    if unit:
        conds.append(ob.unit_id == unit_id(conn, unit))
    stmt = stmt.where(and_(True, *conds)).order_by(q.level.desc(), q.created_at, q.id)
    total, rows = _page(conn, stmt, limit, offset)
    return Page([_queue_row(r) for r in rows], total, offset, limit)


def _queue_row(r: RowMapping | Mapping[str, Any]) -> dict[str, Any]:
    return {
        "queue_id": r["queue_id"],
        "sheet_id": r["sheet_id"],
        "queue_level": r["queue_level"],
        "queue_label": QUEUE_LEVEL_LABEL.get(r["queue_level"], str(r["queue_level"])),
        "queue_status": r["queue_status"],
        "queue_status_label": QUEUE_STATUS_LABEL.get(r["queue_status"], r["queue_status"]),
        "acked_by": r["acked_by"],
        "notes": r["notes"] or [],
        "queued_at": r["queued_at"].astimezone(OFFICE_TZ).isoformat(),
        **obligation_row(r),
    }


def list_sheets(
    conn: Connection,
    *,
    level: int | None = None,
    unit: str | None = None,
    plan: int | None = None,
    statuses: tuple[str, ...] = ("open", "acked"),
    limit: int | None = 50,
    offset: int = 0,
) -> Page:
    """The queue as 督办单 (one per unit, level and office day), most severe and oldest first.

    Each sheet carries its lines (obligations) in `lines`; `--plan` keeps the sheets with a line
    of that plan (and only those lines).
    """
    from sqlalchemy import and_, select

    from duban import read_tables as t

    sh, q, ob = t.queue_sheet.c, t.queue_item.c, t.obligation.c
    conds = []
    if level is not None:
        conds.append(sh.level == level)
    if statuses:
        conds.append(sh.status.in_(statuses))
    if unit:
        conds.append(sh.unit_id == unit_id(conn, unit))
    if plan is not None:
        check_plan(conn, plan)
        on_plan = (
            select(q.sheet_id)
            .join(t.obligation, ob.id == q.obligation_id)
            .where(ob.plan_id == plan, q.sheet_id.is_not(None))
        )
        conds.append(sh.id.in_(on_plan))
    stmt = (
        select(
            sh.id,
            sh.level,
            sh.status,
            sh.office_day,
            sh.notes,
            sh.created_at,
            sh.acked_by,
            t.unit.c.name.label("unit"),
        )
        .select_from(t.queue_sheet)
        .join(t.unit, t.unit.c.id == sh.unit_id)
        .where(and_(True, *conds))
        .order_by(sh.level.desc(), sh.created_at, sh.id)
    )
    total, rows = _page(conn, stmt, limit, offset)
    ids = [r["id"] for r in rows]
    lines: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        line_stmt = _joined(
            select(
                q.id.label("queue_id"),
                q.sheet_id,
                q.status.label("queue_status"),
                *_obligation_columns(),
            )
            .select_from(t.queue_item)
            .join(t.obligation, ob.id == q.obligation_id)
        ).where(q.sheet_id.in_(ids))
        if plan is not None:
            line_stmt = line_stmt.where(ob.plan_id == plan)
        for r in conn.execute(line_stmt.order_by(ob.due_on, q.id)).mappings():
            lines[r["sheet_id"]].append(
                {
                    "queue_id": r["queue_id"],
                    "queue_status": r["queue_status"],
                    "queue_status_label": QUEUE_STATUS_LABEL.get(
                        r["queue_status"], r["queue_status"]
                    ),
                    **obligation_row(r),
                }
            )
    items = [
        {
            "sheet_id": r["id"],
            "queue_level": r["level"],
            "queue_label": QUEUE_LEVEL_LABEL.get(r["level"], str(r["level"])),
            "queue_status": r["status"],
            "queue_status_label": QUEUE_STATUS_LABEL.get(r["status"], r["status"]),
            "office_day": r["office_day"].isoformat(),
            "unit": r["unit"],
            "acked_by": r["acked_by"],
            "notes": r["notes"] or [],
            "queued_at": r["created_at"].astimezone(OFFICE_TZ).isoformat(),
            "open_lines": sum(1 for line in lines[r["id"]] if line["queue_status"] != "resolved"),
            "lines": lines[r["id"]],
        }
        for r in rows
    ]
    return Page(items, total, offset, limit)


def history(conn: Connection, obligation_id: int) -> list[dict[str, Any]]:
    """Every audit event of an obligation and of its queue items, in order, labelled in Chinese."""
    from sqlalchemy import and_, or_, select

    from duban import read_tables as t

    a = t.audit_event.c
    queue_ids = select(t.queue_item.c.id).where(t.queue_item.c.obligation_id == obligation_id)
    stmt = (
        select(t.audit_event)
        .where(
            or_(
                and_(a.entity == "obligation", a.entity_id == obligation_id),
                and_(a.entity == "queue_item", a.entity_id.in_(queue_ids)),
            )
        )
        .order_by(a.at, a.id)
    )
    return [_event(e) for e in conn.execute(stmt).mappings()]


def _status_label(value: str | None) -> str:
    if not value:
        return ""
    try:
        return STATUS_LABEL[Status(value)]
    except ValueError:
        return QUEUE_STATUS_LABEL.get(value, value)


def _event(e: RowMapping | Mapping[str, Any]) -> dict[str, Any]:
    label, data = AUDIT_ACTIONS.get(e["action"], e["action"]), e["data"] or {}
    if e["action"] == Event.ESCALATED.value:  # 督办 or 通报: the stage the engine sent
        level = data.get("level_after")
        stage = STAGE_LABEL.get(data.get("stage", "")) or (
            LEVEL_LABEL.get(level) if isinstance(level, int) else None
        )
        label = f"升级{stage or '督办'}"
    return {
        "at": e["at"].astimezone(OFFICE_TZ).isoformat(),
        "actor": e["actor"],
        "entity": e["entity"],
        "entity_id": e["entity_id"],
        "entity_label": AUDIT_ENTITIES.get(e["entity"], e["entity"]),
        "action": e["action"],
        "action_label": label,
        "from": e["from_status"],
        "to": e["to_status"],
        "from_label": _status_label(e["from_status"]),
        "to_label": _status_label(e["to_status"]),
        "reason": e["reason"],
        "reason_label": REASON_LABEL.get(e["reason"], e["reason"])
        if e["actor"] == "duban"
        else e["reason"],
        "data": e["data"],
    }
