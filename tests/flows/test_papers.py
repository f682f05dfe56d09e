"""督办单 / 催办单: a unit's 督办 in a tick issue one numbered 督办单 listing them, attached to the
e-mail that reaches the unit's head at a real SMTP sink; a retry after an outage attaches the same
stored files, and the 督办单 is the paper of the unit's queue sheet of the day.

Task 1 (区应急局 leads, due 2024-09-26): 催办 09-27 and 09-29 (the second: a 催办单), 督办 09-30.
Tasks 2 and 4 (各街镇, due 2024-09-26) and the monthly report 5: 甲街道's items reach 督办 together.
"""

from __future__ import annotations

import io
import json
from datetime import date, time
from email.message import EmailMessage

import pdfplumber
from docx import Document
from sqlmodel import Session, col, select

from duban import runtime
from models.documents import Paper, PaperItem
from models.tables import QueueItem, QueueSheet
from tests.flows.conftest import ACTIVATED, Office, run, tick_at


def _files(msg: EmailMessage) -> dict[str, bytes]:
    out = {}
    for part in msg.iter_attachments():
        name = part.get_filename()
        assert name
        out[name] = part.get_content()
    return out


def _docx_text(data: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


def _pdf_text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        text = "".join((p.extract_text() or "") for p in pdf.pages)
    return text.replace(" ", "").replace("\n", "")


def _papers(ob_id: int) -> list[Paper]:
    """The papers that list the obligation, oldest first."""
    with Session(runtime.engine()) as s:
        rows = list(
            s.exec(
                select(Paper)
                .join(PaperItem, col(PaperItem.paper_id) == col(Paper.id))
                .where(PaperItem.obligation_id == ob_id)
                .order_by(col(Paper.id))
            )
        )
        s.expunge_all()
    return rows


def _mails_to(office: Office, address: str) -> list[EmailMessage]:
    # Not the 再次交办 of the unsigned 交办 (flows/receipts): the chase and 督办 messages.
    got = office.smtp.sink.received
    return [m for _, rcpt, m in got if rcpt == [address] and "再次交办" not in str(m["Subject"])]


def test_a_supervision_in_a_tick_sends_its_numbered_paper_attached_even_after_a_retry(
    no_progress: None,
    office: Office,
) -> None:
    tick_at(ACTIVATED.date())
    tick_at(date(2024, 9, 27))  # first 催办: no paper
    ob = office.ob_id("1", "区应急局")
    assert _papers(ob) == []
    first_chase = _mails_to(office, "zhangsan@example.gov.cn")[-1]
    assert "催办" in str(first_chase["Subject"]) and not _files(first_chase)

    tick_at(date(2024, 9, 29))  # the second 催办 (a make-up Sunday): its 催办单
    (chase_paper,) = _papers(ob)
    assert chase_paper.kind == "chase" and chase_paper.title.startswith("催办单〔2024〕第")
    second = _mails_to(office, "zhangsan@example.gov.cn")[-1]
    assert "催办" in str(second["Subject"])
    assert set(_files(second)) == {f"{chase_paper.title}.docx", f"{chase_paper.title}.pdf"}

    office.smtp.stop()  # the relay is down when the 督办 falls due
    out = json.loads(tick_at(date(2024, 9, 30)))
    assert out["by_stage"].get("office", 0) == 0 and out["pending"] > 0
    papers = _papers(ob)
    assert [p.kind for p in papers] == ["chase", "office"]
    paper = papers[1]
    assert paper.title.startswith("督办单〔2024〕第") and paper.title.endswith("号")
    # Numbered per year, in order, one number per 督办 of the day (the streets' too).
    with Session(runtime.engine()) as s:
        numbers = sorted(s.exec(select(Paper.number).where(Paper.kind == "office")).all())
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 3

    office.smtp.start()
    tick_at(date(2024, 9, 30), time(9, 20))  # ten minutes on: the message is tried again
    assert [p.id for p in _papers(ob)] == [papers[0].id, paper.id]  # no second paper, no new number
    head = [m for m in _mails_to(office, "lisi@example.gov.cn") if "督办" in str(m["Subject"])]
    assert len(head) == 1
    files = _files(head[0])
    assert set(files) == {f"{paper.title}.docx", f"{paper.title}.pdf"}
    assert files[f"{paper.title}.docx"] == paper.docx and files[f"{paper.title}.pdf"] == paper.pdf
    text = _docx_text(files[f"{paper.title}.docx"])
    for expected in (paper.title, "区应急局", "开展安全生产大检查", "2024年9月26日", "督办"):
        assert expected in text, expected
    assert "2024年10月" in text  # by when: three working days on (after the National Day break)
    pdf = _pdf_text(files[f"{paper.title}.pdf"])
    assert paper.title in pdf and "区应急局" in pdf and "开展安全生产大检查" in pdf
    # The unit's contact got the same 督办 message, with the same files.
    contact = [
        m for m in _mails_to(office, "zhangsan@example.gov.cn") if "督办" in str(m["Subject"])
    ]
    assert len(contact) == 1 and _files(contact[0])[f"{paper.title}.docx"] == paper.docx
    # Nothing goes twice, and the audit log names the paper.
    tick_at(date(2024, 9, 30), time(10, 0))
    assert (
        len([m for m in _mails_to(office, "lisi@example.gov.cn") if "督办" in str(m["Subject"])])
        == 1
    )
    history = json.loads(run("obligation", "history", str(ob), "--json"))
    issued = [h["reason"] for h in history if h["action"] == "paper_issued"]
    assert issued == [papers[0].title, paper.title]


def test_a_units_items_escalated_together_get_one_paper_listing_all_with_one_number(
    office: Office,
) -> None:
    tick_at(ACTIVATED.date())
    tick_at(date(2024, 9, 27))
    tick_at(date(2024, 9, 29))
    obs = {ref: office.ob_id(ref, "甲街道") for ref in ("2", "4")}
    office.smtp.stop()  # the 督办 cannot go out: the paper is issued, the message waits
    tick_at(date(2024, 9, 30))
    (paper,) = {p.id: p for ob in obs.values() for p in _papers(ob) if p.kind == "office"}.values()
    with Session(runtime.engine()) as s:
        lines = s.exec(select(PaperItem).where(PaperItem.paper_id == paper.id)).all()
        listed = {line.obligation_id for line in lines}
        office_papers = s.exec(select(Paper.id, Paper.unit_id).where(Paper.kind == "office")).all()
    assert set(obs.values()) <= listed  # one paper, one number for all of the unit's items
    assert len(office_papers) == len({u for _, u in office_papers})  # one per unit this pass

    office.smtp.start()
    tick_at(date(2024, 9, 30), time(9, 20))  # the retry: the same paper, no new number
    assert [p.id for p in _papers(obs["2"])][-1] == paper.id
    with Session(runtime.engine()) as s:
        assert s.exec(select(Paper.id).where(Paper.kind == "office")).all() == [
            i for i, _ in office_papers
        ]
    mails = [m for m in _mails_to(office, "qianqi@example.gov.cn") if "督办" in str(m["Subject"])]
    assert len(mails) == 1  # one message for the unit's items, the paper attached once
    files = _files(mails[0])
    assert files == {f"{paper.title}.docx": paper.docx, f"{paper.title}.pdf": paper.pdf}
    text = _docx_text(paper.docx)
    for expected in ("甲街道", "排查整治燃气隐患", "报送重点场所检查台账", "1. ", "2. "):
        assert expected in text, expected
    assert "乙街道" not in text
    pdf = _pdf_text(paper.pdf)
    assert "排查整治燃气隐患" in pdf and "报送重点场所检查台账" in pdf
    # The paper is the one of the unit's queue sheet of the day, whose lines it lists.
    with Session(runtime.engine()) as s:
        sheet_ids = {
            q.sheet_id
            for q in s.exec(select(QueueItem).where(col(QueueItem.obligation_id).in_(listed)))
        }
        paper_sheet = s.get(Paper, paper.id).sheet_id  # type: ignore[union-attr]
        assert sheet_ids == {paper_sheet}
        sheet = s.get(QueueSheet, paper_sheet)
        assert sheet is not None and sheet.level == 2 and str(sheet.office_day) == "2024-09-30"
    for ob in obs.values():  # every listed duty's history names the paper
        history = json.loads(run("obligation", "history", str(ob), "--json"))
        assert paper.title in [h["reason"] for h in history if h["action"] == "paper_issued"]
