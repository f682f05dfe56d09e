"""The columns the office's read-only views need, as SQLAlchemy Core tables (no ORM, no pydantic).

`duban status`, `queue list` and `obligation list` are typed all day; importing SQLModel and the
table classes costs about 0.3 s of CPU here (SQLAlchemy Core alone about 0.2 s), so these views read
through Core. The tables are defined in models/tables.py and models/directory.py; these are partial
mirrors of them, and tests/duban/test_fast_start.py checks that every column here exists there with
the same type.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Table

from models.types import JSONValue, UTCDateTime

metadata = MetaData()

plan = Table(
    "plan",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String),
    Column("status", String),
    Column("year", Integer),
    Column("until_year", Integer),
)

task = Table(
    "task",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", Integer),
    Column("ref", String),
    Column("title", String),
)

milestone = Table(
    "milestone",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("task_id", Integer),
    Column("key", String),
    Column("label", String),
    Column("source_text", String),
)

unit = Table(
    "unit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String),
    Column("kind", String),
    Column("status", String),
)

unit_alias = Table(
    "unit_alias",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer),
    Column("alias", String),
)

channel = Table(
    "channel",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer),
    Column("type", String),
    Column("failing", Boolean),
)

obligation = Table(
    "obligation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", Integer),
    Column("task_id", Integer),
    Column("milestone_id", Integer),
    Column("unit_id", Integer),
    Column("occurrence", Date),
    Column("role", String),
    Column("due_on", Date),
    Column("status", String),
    Column("escalation_level", Integer),
    Column("next_action_at", UTCDateTime),
)

queue_sheet = Table(
    "queue_sheet",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer),
    Column("level", Integer),
    Column("office_day", Date),
    Column("status", String),
    Column("notes", JSONValue),
    Column("created_at", UTCDateTime),
    Column("acked_by", String),
)

queue_item = Table(
    "queue_item",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("obligation_id", Integer),
    Column("sheet_id", Integer),
    Column("level", Integer),
    Column("status", String),
    Column("notes", JSONValue),
    Column("created_at", UTCDateTime),
    Column("acked_by", String),
)

audit_event = Table(
    "audit_event",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime),
    Column("actor", String),
    Column("entity", String),
    Column("entity_id", Integer),
    Column("action", String),
    Column("from_status", String),
    Column("to_status", String),
    Column("reason", String),
    Column("data", JSONValue),
)

tick_run = Table(
    "tick_run",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("now", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("actions", Integer),
)

service_lease = Table(
    "service_lease",
    metadata,
    Column("name", String, primary_key=True),
    Column("holder", String),
    Column("expires_at", UTCDateTime),
)

delivery = Table(
    "delivery",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("status", String),
    Column("reclaims", Integer),
)

periodic_job = Table(
    "periodic_job",
    metadata,
    Column("name", String, primary_key=True),
    Column("next_run_at", UTCDateTime),
    Column("last_run_at", UTCDateTime),
    Column("last_outcome", String),
)
