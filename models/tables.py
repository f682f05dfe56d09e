"""Plans, their tasks and milestones, obligations, deliveries, the office queue and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.types import JSONValue, UTCDateTime

PLAN_STATUSES = ("draft", "active", "archived")


class Plan(SQLModel, table=True):
    """One imported work plan. Nothing is chased while it is a draft."""

    __tablename__ = "plan"
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(default="", max_length=500)
    issuer: str = Field(default="", max_length=200)
    doc_no: str = Field(default="", max_length=100)
    issued_on: date | None = None
    year: int | None = None
    until_year: int | None = None
    status: str = Field(default="draft", max_length=16, index=True)
    source_name: str = Field(default="", max_length=500)
    source_sha256: str = Field(default="", max_length=64)
    policy: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)
    created_at: datetime = Field(sa_type=UTCDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A unit's own sub-plan (子方案) of a task of another plan; no foreign key (adding one to a
    # SQLite table copies it, and the copy's drop would cascade to every obligation).
    parent_task_id: int | None = Field(default=None, index=True)


class Task(SQLModel, table=True):
    """A numbered task of a plan ("5", "附件-3")."""

    __tablename__ = "task"
    __table_args__ = (UniqueConstraint("plan_id", "ref", name="uq_task_plan_ref"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True, ondelete="CASCADE")
    ref: str = Field(max_length=50)
    position: int = 0
    section: list[str] = Field(default_factory=list, sa_type=JSONValue)
    title: str = Field(default="", max_length=500)
    text: str = ""
    line: int | None = None
    policy: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)


class TaskUnit(SQLModel, table=True):
    """A party named by a task as written: a unit, a group or a leader (role lead|support|leader)."""

    __tablename__ = "task_unit"
    __table_args__ = (UniqueConstraint("task_id", "role", "name", name="uq_task_unit"),)
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True, ondelete="CASCADE")
    role: str = Field(max_length=16)
    name: str = Field(max_length=200)
    position: int = 0


class Milestone(SQLModel, table=True):
    """A one-off deadline (`due`) or a recurrence (`rrule` from `dtstart` until `until`)."""

    __tablename__ = "milestone"
    __table_args__ = (UniqueConstraint("task_id", "key", name="uq_milestone_task_key"),)
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True, ondelete="CASCADE")
    key: str = Field(max_length=100)
    label: str = Field(default="", max_length=500)
    due: date | None = None
    rrule: str | None = Field(default=None, max_length=200)
    dtstart: date | None = None
    until: date | None = None
    source_text: str = Field(default="", max_length=500)
    due_is_default: bool = False
    is_report: bool = False
    policy: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)
    # The units of the milestone's own clause; empty: the task's units owe it.
    lead_units: list[str] = Field(
        default_factory=list, sa_type=JSONValue, sa_column_kwargs={"server_default": "[]"}
    )
    support_units: list[str] = Field(
        default_factory=list, sa_type=JSONValue, sa_column_kwargs={"server_default": "[]"}
    )


class Obligation(SQLModel, table=True):
    """One milestone occurrence owed by one unit, with its own chase state."""

    __tablename__ = "obligation"
    __table_args__ = (
        UniqueConstraint("milestone_id", "unit_id", "occurrence", name="uq_obligation_occurrence"),
        Index("ix_obligation_next_action_at", "next_action_at"),
        # A unit's portal: its duties by status, the open ones up to a due date (issue 16).
        Index("ix_obligation_unit_status_due_plan", "unit_id", "status", "due_on", "plan_id"),
        # The 交办 not yet 签收 after the policy's receipt_days (issue 16).
        Index("ix_obligation_assign_at", "assign_at"),
        # The office's queue page lists what waits on a person (submitted, extension asked).
        Index("ix_obligation_status", "status"),
        # The 通报 and the 任务清单 read one plan's rows by due date (issue 17).
        Index("ix_obligation_plan_due", "plan_id", "due_on"),
    )
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True, ondelete="CASCADE")
    task_id: int = Field(foreign_key="task.id", ondelete="CASCADE")
    milestone_id: int = Field(foreign_key="milestone.id", ondelete="CASCADE")
    unit_id: int = Field(foreign_key="unit.id")
    occurrence: date
    role: str = Field(default="lead", max_length=16)
    due_on: date
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="open", max_length=32)
    escalation_level: int = 0
    last_stage: str | None = Field(default=None, max_length=16)
    last_seq: str | None = Field(default=None, max_length=64)
    last_action_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_action_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    needs_confirmation: bool = False
    # Actions scheduled before `since` are never sent (activation, reopen or extension time).
    since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    requested_due: date | None = None
    # The 交办 is due at this instant (None: not listed in a 交办, e.g. rows from before it existed).
    assign_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The office asked for one more 催办 then ("催办 again"; sent once, when later than last_action_at).
    chase_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Where the lead time starts (交办 day or the previous occurrence's due date).
    starts_on: date | None = None
    # A recurring duty's next occurrence: when it falls due, this one closes as 逾期未报 (lapsed).
    lapses_on: date | None = None
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    version: int = 0


class ObligationCount(SQLModel, table=True):
    """How many obligations share a plan, unit, status, escalated flag (level >= 2) and due date.

    Kept by database triggers on `obligation` (migration 0022: PostgreSQL statement-level ones
    over the transition tables, SQLite row triggers), in the transaction of every write, so no
    write path can miss it; a key whose count falls to 0 is deleted. The office's dashboard sums
    these rows by due-date bucket instead of grouping every obligation (issue 16).
    """

    __tablename__ = "obligation_count"
    __table_args__ = (
        # The triggers delete the keys that fell to 0 through this (normally empty) index.
        Index(
            "ix_obligation_count_zero",
            "plan_id",
            postgresql_where=text("n = 0"),
            sqlite_where=text("n = 0"),
        ),
    )
    plan_id: int = Field(primary_key=True)
    unit_id: int = Field(primary_key=True)
    status: str = Field(primary_key=True, max_length=32)
    escalated: bool = Field(primary_key=True)
    due_on: date = Field(primary_key=True)
    n: int


class Submission(SQLModel, table=True):
    """A unit's report that an obligation is done, with optional evidence."""

    __tablename__ = "submission"
    id: int | None = Field(default=None, primary_key=True)
    obligation_id: int = Field(foreign_key="obligation.id", index=True, ondelete="CASCADE")
    by: str = Field(max_length=200)
    note: str = ""
    file_name: str | None = Field(default=None, max_length=500)
    file_sha256: str | None = Field(default=None, max_length=64)
    file_path: str | None = Field(default=None, max_length=1000)
    at: datetime = Field(sa_type=UTCDateTime)


class ExtensionRequest(SQLModel, table=True):
    """A unit's request for more time, and the office's decision."""

    __tablename__ = "extension_request"
    id: int | None = Field(default=None, primary_key=True)
    obligation_id: int = Field(foreign_key="obligation.id", index=True, ondelete="CASCADE")
    requested_due: date
    reason: str = ""
    status: str = Field(default="requested", max_length=16)
    requested_by: str = Field(default="", max_length=200)
    requested_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_reason: str | None = None


FIRST_SENT_WHERE = "status = 'sent' AND stage IN ('assign', 'office')"


class Delivery(SQLModel, table=True):
    """One (obligation, stage, occurrence, channel, recipient) message part, claimed before sending."""

    __tablename__ = "delivery"
    # 再次交办 reads the 交办/督办 rows sent in its look-back window (flows/receipts.py, migration 0021)
    __table_args__ = (
        Index(
            "ix_delivery_first_sent",
            "sent_at",
            "obligation_id",
            "stage",
            postgresql_where=text(FIRST_SENT_WHERE),
            sqlite_where=text(FIRST_SENT_WHERE),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=400)
    batch: str = Field(index=True, max_length=64)
    obligation_id: int | None = Field(default=None, foreign_key="obligation.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    channel_id: int | None = Field(default=None, foreign_key="channel.id", ondelete="SET NULL")
    stage: str = Field(max_length=16)
    seq: str = Field(default="", max_length=64)
    channel_type: str = Field(max_length=16)
    recipient: str = Field(default="", max_length=500)
    status: str = Field(default="sending", max_length=16, index=True)
    attempts: int = 0
    permanent: bool = False
    last_error: str | None = None
    duration_ms: int | None = None
    reclaims: int = 0
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ref: str | None = Field(default=None, max_length=1000)


class QueueSheet(SQLModel, table=True):
    """A 督办单: what one unit reached at one level on one office day, as one item for the office.

    Its lines are the queue items (one per obligation) that point at it; the office takes, notes
    and closes a sheet as a whole (models/repo/queue.py), and a sheet whose lines are all closed
    closes with them.
    """

    __tablename__ = "queue_sheet"
    __table_args__ = (
        UniqueConstraint("unit_id", "level", "office_day", name="uq_queue_sheet_unit_level_day"),
    )
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True, ondelete="CASCADE")
    level: int
    office_day: date
    status: str = Field(default="open", max_length=16, index=True)
    notes: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONValue)
    created_at: datetime = Field(sa_type=UTCDateTime)
    acked_by: str | None = Field(default=None, max_length=200)
    acked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class QueueItem(SQLModel, table=True):
    """An item in the office's escalation queue (督办 and above): one line of a 督办单."""

    __tablename__ = "queue_item"
    __table_args__ = (UniqueConstraint("obligation_id", "level", name="uq_queue_obligation_level"),)
    id: int | None = Field(default=None, primary_key=True)
    obligation_id: int = Field(foreign_key="obligation.id", index=True, ondelete="CASCADE")
    sheet_id: int | None = Field(
        default=None, foreign_key="queue_sheet.id", index=True, ondelete="SET NULL"
    )
    level: int
    status: str = Field(default="open", max_length=16, index=True)
    notes: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONValue)
    created_at: datetime = Field(sa_type=UTCDateTime)
    acked_by: str | None = Field(default=None, max_length=200)
    acked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """Append-only record of every state change: who, when, what and why."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=200)
    entity: str = Field(max_length=32)
    entity_id: int | None = None
    action: str = Field(max_length=64)
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str | None = Field(default=None, max_length=32)
    reason: str = ""
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)


class ServiceLease(SQLModel, table=True):
    """The one-sender lease: whoever holds an unexpired row is the leader."""

    __tablename__ = "service_lease"
    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=200)
    acquired_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class TickRun(SQLModel, table=True):
    """One tick of the service: when, what it found and did."""

    __tablename__ = "tick_run"
    id: int | None = Field(default=None, primary_key=True)
    holder: str = Field(default="", max_length=200)
    now: datetime = Field(sa_type=UTCDateTime)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed: int = 0
    actions: int = 0
    deliveries: int = 0
    errors: int = 0
    note: str = ""


class PeriodicJobRow(SQLModel, table=True):
    """A periodic job's own schedule state (schedules/periodic.py): when it is next due, on the
    logical clock, and what its last run did."""

    __tablename__ = "periodic_job"
    name: str = Field(primary_key=True, max_length=64)
    next_run_at: datetime = Field(sa_type=UTCDateTime)
    last_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_outcome: str = ""
