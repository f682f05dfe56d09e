"""What the people do on the pages: office accounts and sessions, portal links, 签收, progress, 佐证."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

USER_ROLES = ("office", "leader")


class UserAccount(SQLModel, table=True):
    """An office account (`duban users add`): role office acts, leader only reads."""

    __tablename__ = "user_account"
    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(unique=True, max_length=100)
    display_name: str = Field(default="", max_length=200)
    role: str = Field(default="office", max_length=16)
    password_hash: str = Field(max_length=300)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A logged-in browser: only the SHA-256 of its cookie is stored, with its CSRF token."""

    __tablename__ = "web_session"
    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    csrf: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class PortalRevocation(SQLModel, table=True):
    """A revoked portal link: one token (`token_sig`), or every link of the unit issued before
    `issued_before`. Links are signed, not stored, so this list is what revocation checks."""

    __tablename__ = "portal_revocation"
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True, ondelete="CASCADE")
    token_sig: str | None = Field(default=None, max_length=64)
    issued_before: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str = ""
    by: str = Field(default="", max_length=200)
    at: datetime = Field(sa_type=UTCDateTime)


class Receipt(SQLModel, table=True):
    """签收: the unit confirmed it received the duty (once per obligation)."""

    __tablename__ = "receipt"
    __table_args__ = (UniqueConstraint("obligation_id", name="uq_receipt_obligation"),)
    id: int | None = Field(default=None, primary_key=True)
    obligation_id: int = Field(foreign_key="obligation.id", ondelete="CASCADE")
    by: str = Field(max_length=200)
    via: str = Field(default="portal", max_length=16)
    at: datetime = Field(sa_type=UTCDateTime)


class ProgressReport(SQLModel, table=True):
    """A unit's progress note on an open duty (进展), without claiming it done."""

    __tablename__ = "progress_report"
    id: int | None = Field(default=None, primary_key=True)
    obligation_id: int = Field(foreign_key="obligation.id", index=True, ondelete="CASCADE")
    by: str = Field(max_length=200)
    text: str = ""
    at: datetime = Field(sa_type=UTCDateTime)


class EvidenceFile(SQLModel, table=True):
    """One 佐证 file of a submission, stored under the evidence folder (never served as-is)."""

    __tablename__ = "evidence_file"
    __table_args__ = (Index("ix_evidence_file_unit", "unit_id"),)
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True, ondelete="CASCADE")
    obligation_id: int = Field(foreign_key="obligation.id", index=True, ondelete="CASCADE")
    unit_id: int = Field(foreign_key="unit.id")
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    size: int
    sha256: str = Field(max_length=64)
    path: str = Field(max_length=1000)
    at: datetime = Field(sa_type=UTCDateTime)
