"""SQLModel tables, the database session and migrations."""

from __future__ import annotations

from models.directory import Channel, Contact, GroupMember, Unit, UnitAlias, UnitGroup
from models.people import (
    EvidenceFile,
    PortalRevocation,
    ProgressReport,
    Receipt,
    UserAccount,
    WebSession,
)
from models.tables import (
    AuditEvent,
    Delivery,
    ExtensionRequest,
    Milestone,
    Obligation,
    Plan,
    QueueItem,
    ServiceLease,
    Submission,
    Task,
    TaskUnit,
    TickRun,
)

__all__ = [
    "AuditEvent",
    "Channel",
    "Contact",
    "Delivery",
    "EvidenceFile",
    "ExtensionRequest",
    "GroupMember",
    "Milestone",
    "Obligation",
    "Plan",
    "PortalRevocation",
    "ProgressReport",
    "QueueItem",
    "Receipt",
    "ServiceLease",
    "Submission",
    "Task",
    "TaskUnit",
    "TickRun",
    "Unit",
    "UnitAlias",
    "UnitGroup",
    "UserAccount",
    "WebSession",
]
