"""Sending an approved 通报: its PDF by e-mail, a short text and the link to robots, to the
committee's member units (the units with duties in the plan, or in every active plan for the
office's 通报) and the plan's leaders, through the delivery pipeline.

Each (document, channel, recipient) is one delivery row (`bulletin`, `doc<id>`): sending again
skips what was delivered and retries only what was not, so a second `duban report send` (or
click) sends nobody the 通报 twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from models.directory import Unit
from models.documents import ReportDocument
from models.repo.documents import DocumentError, get_document, mark_sent
from models.repo.reports import active_plan_ids
from models.repo.units import find_unit
from models.tables import Delivery, Obligation, TaskUnit
from notify.notice import Audience, BulletinRef, Notice
from notify.transport import Attachment
from schedules.bulletin import issue_number

SUMMARY_LINES = 6


@dataclass
class BulletinSent:
    """What one send did."""

    doc_id: int
    recipients: int = 0  # notices (unit × audience)
    sent: int = 0
    skipped: int = 0  # delivered before: not sent again
    failed: int = 0
    pending: int = 0
    unreached: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """For the audit log and --json."""
        return dict(self.__dict__)


def plan_ids_of(session: Session, doc: ReportDocument) -> list[int]:
    """The plans the 通报 covers."""
    return [doc.plan_id] if doc.plan_id is not None else active_plan_ids(session.connection())


def recipients(session: Session, plan_ids: list[int]) -> list[tuple[int, Audience]]:
    """The member units (contacts and head) and the leaders of the plans, in name order."""
    members = session.exec(
        select(Unit.id, Unit.name, Unit.kind)
        .where(
            col(Unit.id).in_(
                select(Obligation.unit_id).where(col(Obligation.plan_id).in_(plan_ids))
            )
        )
        .order_by(col(Unit.name))
    ).all()
    leaders = {uid: name for uid, name, kind in members if kind == "leader" and uid is not None}
    names = session.exec(
        select(TaskUnit.name)
        .join(Obligation, col(Obligation.task_id) == col(TaskUnit.task_id))
        .where(col(Obligation.plan_id).in_(plan_ids), TaskUnit.role == "leader")
        .distinct()
    ).all()
    for name in names:
        unit = find_unit(session=session, name=name)
        if unit is not None and unit.id is not None:
            leaders[unit.id] = unit.name
    out: list[tuple[int, Audience]] = []
    for uid, _, _kind in members:
        if uid not in leaders and uid is not None:
            out += [(uid, Audience.UNIT_CONTACTS), (uid, Audience.UNIT_HEAD)]
    out += [(uid, Audience.LEADER) for uid in sorted(leaders, key=leaders.__getitem__)]
    return out


def bulletin_notices(
    session: Session, doc: ReportDocument, pdf: bytes, *, portal_url: str = ""
) -> list[Notice]:
    """One notice per recipient, the PDF attached."""
    if doc.status not in ("approved", "sent") or doc.number is None:
        raise DocumentError(f"通报 {doc.id} 尚未审定，不能印发")
    number = issue_number(doc.year, doc.number)
    lines = [line.strip() for line in doc.body.splitlines() if line.strip()]
    ref = BulletinRef(
        doc_id=doc.id or 0,
        number=number,
        title=doc.title,
        summary="\n".join(lines[2 : 2 + SUMMARY_LINES]),
        link=f"{portal_url.rstrip('/')}/office/reports/{doc.id}" if portal_url else "",
    )
    files = (Attachment(f"通报{number}.pdf", "application/pdf", pdf, f"doc{doc.id}"),)
    return [
        Notice(unit_id=uid, audience=aud, items=(), kind="bulletin", bulletin=ref, files=files)
        for uid, aud in recipients(session, plan_ids_of(session, doc))
    ]


def bulletin_pdf_of(session: Session, doc: ReportDocument) -> bytes:
    """The 通报's PDF, as `duban report pdf` draws it (PdfError without a CJK font)."""
    from duban.charts import series
    from duban.pdf import bulletin_pdf

    month = date.fromisoformat(doc.period + "-01")
    charts = series(
        session.connection(),
        plan_ids=plan_ids_of(session, doc),
        first=date(month.year, 1, 1),
        last=month,
    )
    return bulletin_pdf(title=doc.title, body=doc.body, charts=charts)


def send_bulletin(doc_id: int, *, now: datetime, by: str) -> BulletinSent:
    """Send the approved 通报 `doc_id` to every recipient that has not had it yet."""
    from duban import runtime
    from flows.delivery import pipeline

    settings = runtime.settings()
    with runtime.transaction() as s:
        doc = get_document(s, doc_id)
        pdf = bulletin_pdf_of(s, doc) if doc.status in ("approved", "sent") else b""
        notices = bulletin_notices(s, doc, pdf, portal_url=settings.portal_url)
    out = BulletinSent(doc_id, recipients=len(notices))
    if notices:
        report = pipeline().deliver(notices, now=now)
        out.sent, out.pending = report.sent, report.pending
        out.failed, out.skipped = report.failed_permanently, report.duplicate
        out.unreached = [f"{u.unit_name}（{u.reason}）" for u in report.unreached]
    with runtime.transaction() as s:
        doc = get_document(s, doc_id)
        mark_sent(session=s, doc=doc, by=by, now=now, data=out.as_dict())
    return out


def bulletin_deliveries(session: Session, doc_id: int) -> list[dict[str, Any]]:
    """Where the 通报 went: unit, channel, recipient, status, when."""
    rows = session.exec(
        select(Delivery, Unit.name)
        .join(Unit, col(Unit.id) == col(Delivery.unit_id), isouter=True)
        .where(Delivery.stage == "bulletin", Delivery.seq == f"doc{doc_id}")
        .order_by(col(Delivery.id))
    ).all()
    return [
        {
            "unit": name or "",
            "channel": d.channel_type,
            "recipient": d.recipient,
            "status": d.status,
            "sent_at": d.sent_at.isoformat() if d.sent_at else None,
            "error": d.last_error or "",
        }
        for d, name in rows
    ]
