"""Issued documents: the monthly 通报 (drafted, edited, approved, sent), numbered per year."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import JSONValue, UTCDateTime

DOCUMENT_KINDS = ("bulletin",)
DOCUMENT_STATUSES = ("draft", "approved", "sent")


class ReportDocument(SQLModel, table=True):
    """One document: its scope (`plan:3` or `office` for every active plan), period and text.

    `number` (期号) is given on approval, in order within (kind, year): a discarded draft never
    takes a number. `data` keeps the figures the draft was generated from; `body` is the text as
    the office last edited it (every edit is in the audit log with the text it replaced).
    """

    __tablename__ = "report_document"
    __table_args__ = (
        UniqueConstraint("kind", "scope", "period", name="uq_report_document_period"),
        UniqueConstraint("kind", "year", "number", name="uq_report_document_number"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="bulletin", max_length=16)
    scope: str = Field(max_length=32)
    plan_id: int | None = Field(default=None, foreign_key="plan.id", ondelete="SET NULL")
    period: str = Field(max_length=16)
    year: int
    number: int | None = None
    title: str = Field(default="", max_length=500)
    status: str = Field(default="draft", max_length=16, index=True)
    body: str = ""
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)
    edits: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, max_length=200)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


PAPER_KINDS = ("office", "chase")  # 督办单 (each 督办), 催办单 (each second 催办)


class Paper(SQLModel, table=True):
    """A numbered 督办单 or 催办单: one per unit and pass, listing the unit's items (`PaperItem`).

    Numbered in order within (kind, year) when issued; the DOCX and PDF are stored as issued, so
    every (re)send of the message attaches the same bytes. `obligation_id` / `seq` are its first
    line (papers issued before migration 0021 have that one line only); `sheet_id` is the queue
    sheet (督办单 of the unit, level and day) its 督办 lines went on, set when they are queued.
    """

    __tablename__ = "paper"
    __table_args__ = (
        UniqueConstraint("obligation_id", "seq", name="uq_paper_action"),
        UniqueConstraint("kind", "year", "number", name="uq_paper_number"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    year: int
    number: int
    obligation_id: int = Field(foreign_key="obligation.id", index=True, ondelete="CASCADE")
    seq: str = Field(max_length=200)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", ondelete="SET NULL")
    sheet_id: int | None = Field(default=None, index=True)  # no foreign key: migration 0021
    title: str = Field(default="", max_length=500)
    body: str = ""
    docx: bytes = Field(default=b"", sa_type=LargeBinary)
    pdf: bytes = Field(default=b"", sa_type=LargeBinary)
    created_at: datetime = Field(sa_type=UTCDateTime)


class PaperItem(SQLModel, table=True):
    """One line of a paper: an obligation's action (its 督办 or second 催办), once per action."""

    __tablename__ = "paper_item"
    __table_args__ = (UniqueConstraint("obligation_id", "seq", name="uq_paper_item_action"),)
    id: int | None = Field(default=None, primary_key=True)
    paper_id: int = Field(foreign_key="paper.id", index=True, ondelete="CASCADE")
    obligation_id: int = Field(foreign_key="obligation.id", ondelete="CASCADE")
    seq: str = Field(max_length=200)
    position: int = 0
