"""A unit directory as read from a file: plain values, validated by the reader (duban/directory.py)
and written by `models.repo.units.apply_directory`. Kept in models/ so that the repository takes
them without importing the edge that reads the files."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ContactSpec:
    name: str
    role: str
    email: str | None = None
    mobile: str | None = None


@dataclass
class ChannelSpec:
    type: str
    url: str = ""
    secret: str | None = None
    enabled: bool = True


@dataclass
class UnitSpec:
    name: str
    where: str
    kind: str = "other"
    aliases: list[str] = field(default_factory=list)
    parent: str | None = None
    note: str = ""
    contacts: list[ContactSpec] = field(default_factory=list)
    channels: list[ChannelSpec] = field(default_factory=list)


@dataclass
class GroupSpec:
    name: str
    where: str
    members: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class DirectorySpec:
    path: str
    units: list[UnitSpec] = field(default_factory=list)
    groups: list[GroupSpec] = field(default_factory=list)
