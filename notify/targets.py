"""Resolve a notice to routes: which of the unit's channels, and which people, receive it.

E-mail goes to the contacts whose role fits the audience (联络员 for the unit's contacts,
负责人 for its head, 分管领导 or a leader's own contacts for leaders, everyone at the office),
falling back to every contact with an address rather than to nobody. Robots and webhooks post to
the unit's group for every audience but the head's (the head's escalation is personal, by
e-mail; the group already hears of it through the contacts' notice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.directory import Channel, Contact, Unit
from models.repo.bulk import one_of
from notify.keys import channel_id, recipient_id
from notify.mask import mask_url, remember, remember_url
from notify.notice import Audience, Notice
from notify.transport import Mailbox, Target

_CHANNEL_COLUMNS = [
    col(c)
    for c in (
        Channel.id,
        Channel.unit_id,
        Channel.type,
        Channel.url,
        Channel.secret,
        Channel.failing,
    )
]
AUDIENCE_ROLES = {
    Audience.UNIT_CONTACTS: ("联络员",),
    Audience.UNIT_HEAD: ("负责人",),
    Audience.LEADER: ("分管领导",),
    Audience.OFFICE: (),  # everyone
}


@dataclass(frozen=True)
class Route:
    """One channel and recipient of a notice."""

    channel_id: int | None
    channel_key: str  # the channel's part of the dedupe key
    target: Target
    recipient_key: str  # the recipient's part of the dedupe key
    recipient: str  # as stored and shown (address, or the URL with its token masked)


@dataclass(frozen=True)
class UnitRef:
    """A unit as routing needs it."""

    id: int
    name: str
    kind: str


@dataclass(frozen=True)
class ChannelRef:
    """An enabled channel as routing needs it."""

    id: int
    type: str
    url: str
    secret: str | None
    failing: bool

    def __post_init__(self) -> None:
        remember_url(self.url)  # its token and the signing secret never leave the process in full
        remember(self.secret)


@dataclass(frozen=True)
class ContactRef:
    """A contact as routing needs it."""

    name: str
    role: str
    email: str | None


@dataclass(frozen=True)
class UnitEntry:
    """What the directory knows about one unit: name, kind, enabled channels, contacts."""

    unit: UnitRef
    channels: tuple[ChannelRef, ...]
    contacts: tuple[ContactRef, ...]


def load_units(session: Session, unit_ids: Iterable[int]) -> dict[int, UnitEntry]:
    """The directory entries of `unit_ids`, in three column queries (no ORM objects: a pass
    may route hundreds of units, and building model instances would cost more than sending)."""
    ids = sorted(set(unit_ids))
    units: dict[int, UnitRef] = {}
    channels: dict[int, list[ChannelRef]] = {}
    contacts: dict[int, list[ContactRef]] = {}
    for unit_is in one_of(session, col(Unit.id), ids):
        for uid, name, kind in session.exec(select(Unit.id, Unit.name, Unit.kind).where(unit_is)):
            units[uid or 0] = UnitRef(uid or 0, name, kind)
    for owner_is in one_of(session, col(Channel.unit_id), ids):
        for cid, unit_id, ctype, url, secret, failing in session.execute(
            sa_select(*_CHANNEL_COLUMNS)
            .where(owner_is, col(Channel.enabled))
            .order_by(col(Channel.id))
        ):
            channels.setdefault(unit_id, []).append(
                ChannelRef(cid or 0, ctype, url, secret, failing)
            )
    for owner_is in one_of(session, col(Contact.unit_id), ids):
        for unit_id, name, role, email in session.exec(
            select(Contact.unit_id, Contact.name, Contact.role, Contact.email)
            .where(owner_is)
            .order_by(col(Contact.id))
        ):
            contacts.setdefault(unit_id, []).append(ContactRef(name, role, email))
    return {
        uid: UnitEntry(u, tuple(channels.get(uid, ())), tuple(contacts.get(uid, ())))
        for uid, u in units.items()
    }


def pick_contacts(entry: UnitEntry, audience: Audience) -> list[ContactRef]:
    """The contacts with an address who should read a notice for `audience`."""
    with_mail = [c for c in entry.contacts if c.email]
    roles = AUDIENCE_ROLES[audience]
    if not roles or (audience is Audience.LEADER and entry.unit.kind == "leader"):
        return with_mail
    chosen = [c for c in with_mail if c.role in roles]
    return chosen or with_mail


def email_route(channel: ChannelRef | None, box: Mailbox, label: str) -> Route:
    """A route to one mailbox."""
    row_id = channel.id if channel else None
    return Route(
        channel_id=row_id,
        channel_key=channel_id("email", row_id),
        target=Target(kind="email", to=box, label=label),
        recipient_key=recipient_id("email", address=box.address),
        recipient=box.address,
    )


def robot_route(channel: ChannelRef, label: str) -> Route:
    """A route to a robot or webhook channel."""
    return Route(
        channel_id=channel.id,
        channel_key=channel_id(channel.type, channel.id),
        target=Target(kind=channel.type, url=channel.url, secret=channel.secret, label=label),
        recipient_key=recipient_id(channel.type, url=channel.url),
        recipient=mask_url(channel.url),
    )


def routes_for(notice: Notice, entry: UnitEntry | None, office_email: str = "") -> list[Route]:
    """Every route of `notice`; the office's own address when it has no unit."""
    if entry is None:
        if notice.audience is Audience.OFFICE and office_email:
            return [email_route(None, Mailbox(office_email, "安委办"), "安委办")]
        return []
    routes: list[Route] = []
    label = entry.unit.name
    for channel in entry.channels:
        if channel.type == "email":
            for contact in pick_contacts(entry, notice.audience):
                box = Mailbox(address=contact.email or "", name=f"{label} {contact.name}")
                routes.append(email_route(channel, box, label))
        elif notice.audience is not Audience.UNIT_HEAD:
            # A robot is the unit's group chat: the head's personal notice goes by e-mail only,
            # or the group would get the same escalation twice.
            routes.append(robot_route(channel, label))
    if notice.audience is Audience.OFFICE and office_email:
        routes.append(email_route(None, Mailbox(office_email, "安委办"), label))
    return list({(r.channel_key, r.recipient_key): r for r in routes}.values())
