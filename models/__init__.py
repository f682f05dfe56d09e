"""SQLModel tables, the database session and migrations.

The table classes load on first use (`from models import Plan` works as before): importing the
package for `models.db` or `models.types` must not import SQLModel, which costs a CLI command 0.3 s.
"""

from __future__ import annotations

import importlib
from typing import Any

_DIRECTORY = ("Channel", "Contact", "GroupMember", "Unit", "UnitAlias", "UnitGroup")
_PEOPLE = (
    "EvidenceFile",
    "PortalRevocation",
    "ProgressReport",
    "Receipt",
    "UserAccount",
    "WebSession",
)
_TABLES = (
    "AuditEvent",
    "Delivery",
    "ExtensionRequest",
    "Milestone",
    "Obligation",
    "Plan",
    "QueueItem",
    "QueueSheet",
    "ServiceLease",
    "Submission",
    "Task",
    "TaskUnit",
    "TickRun",
)
_HOME = (
    {name: "models.directory" for name in _DIRECTORY}
    | {name: "models.documents" for name in ("ReportDocument", "Paper", "PaperItem")}
    | {name: "models.people" for name in _PEOPLE}
    | {name: "models.tables" for name in _TABLES}
)
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
