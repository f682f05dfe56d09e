"""The unit directory: units, aliases, groups, contacts and delivery channels."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import JSONValue, UTCDateTime

UNIT_KINDS = ("department", "street_town", "enterprise", "office", "leader", "other")
CONTACT_ROLES = ("联络员", "负责人", "分管领导")
CHANNEL_TYPES = ("email", "webhook", "dingtalk", "wecom", "feishu")


class Unit(SQLModel, table=True):
    """A responsible unit (or a leader, kind='leader'). status='pending' when first seen in a plan."""

    __tablename__ = "unit"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=200)
    kind: str = Field(default="other", max_length=32)
    parent_id: int | None = Field(default=None, foreign_key="unit.id", ondelete="SET NULL")
    status: str = Field(default="active", max_length=16)
    note: str = Field(default="")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class UnitAlias(SQLModel, table=True):
    """Another name the plans use for a unit (区应急管理局 = 区应急局)."""

    __tablename__ = "unit_alias"
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True, ondelete="CASCADE")
    alias: str = Field(unique=True, max_length=200)


class UnitGroup(SQLModel, table=True):
    """A named set of units (各街镇, 区安委会各成员单位 …) that plans name as one responsible party."""

    __tablename__ = "unit_group"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=200)
    aliases: list[str] = Field(default_factory=list, sa_type=JSONValue)
    status: str = Field(default="active", max_length=16)
    note: str = Field(default="")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class GroupMember(SQLModel, table=True):
    """Membership of a unit in a group."""

    __tablename__ = "group_member"
    group_id: int = Field(foreign_key="unit_group.id", primary_key=True, ondelete="CASCADE")
    unit_id: int = Field(foreign_key="unit.id", primary_key=True, ondelete="CASCADE")


class Contact(SQLModel, table=True):
    """A person at a unit: 联络员 / 负责人 / 分管领导."""

    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("unit_id", "name", "role", name="uq_contact_unit_name_role"),
    )
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    role: str = Field(max_length=16)
    email: str | None = Field(default=None, max_length=254)
    mobile: str | None = Field(default=None, max_length=32)


class Channel(SQLModel, table=True):
    """Where a unit's messages go. `email` sends to the unit's contacts' addresses."""

    __tablename__ = "channel"
    __table_args__ = (UniqueConstraint("unit_id", "type", "url", name="uq_channel_unit_type_url"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True, ondelete="CASCADE")
    type: str = Field(max_length=16)
    url: str = Field(default="", max_length=2000)
    secret: str | None = Field(default=None, max_length=500)
    enabled: bool = Field(default=True)
    failing: bool = Field(default=False)
    last_error: str | None = Field(default=None)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
