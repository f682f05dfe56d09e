"""督办单 and 催办单: the numbered papers a 督办 (and a second 催办) sends with its e-mail.

The text comes from a template the office can override like the messages' (`paper.office.j2`,
`paper.chase.j2` in DUBAN_TEMPLATES_DIR): its first line is the title, the second the number,
the last two (the office and the date) are set right-aligned, every other line is a paragraph.
The same text becomes a DOCX (python-docx) and a PDF (reportlab, the server's CJK font).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from typing import Any

from notify.fonts import FONT, PdfError
from notify.fonts import register as register_font
from notify.render import Renderer, RenderError, format_date
from notify.transport import Attachment

PAPER_NAMES = {"office": "督办单", "chase": "催办单"}
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_MIME = "application/pdf"


def paper_label(kind: str, year: int, number: int) -> str:
    """督办单〔2024〕第12号."""
    return f"{PAPER_NAMES[kind]}〔{year}〕第{number}号"


@dataclass(frozen=True)
class PaperFacts:
    """What a paper says: who, what, since when, what is asked, by when."""

    kind: str  # office | chase
    unit: str
    plan: str
    task_ref: str
    task_title: str
    milestone: str
    role: str
    due: date
    overdue_days: int
    issued: date
    reply_by: date


def paper_context(facts: PaperFacts, *, number: str, office: Mapping[str, Any]) -> dict[str, Any]:
    """The variables a paper template sees."""
    return {
        "kind": facts.kind,
        "kind_name": PAPER_NAMES[facts.kind],
        "number": number,
        "office": dict(office),
        "unit": facts.unit,
        "plan": facts.plan,
        "task_ref": facts.task_ref,
        "task_title": facts.task_title,
        "milestone": facts.milestone,
        "role_name": {"lead": "牵头", "support": "配合"}.get(facts.role, facts.role),
        "due": facts.due.isoformat(),
        "due_text": format_date(facts.due),
        "overdue_days": facts.overdue_days,
        "date_text": f"{facts.issued.year}年{facts.issued.month}月{facts.issued.day}日",
        "reply_by": facts.reply_by.isoformat(),
        "reply_by_text": format_date(facts.reply_by),
    }


def render_paper_text(renderer: Renderer, kind: str, ctx: Mapping[str, Any]) -> str:
    """The paper's text from the office's template, or the shipped one if the office's fails."""
    name = f"paper.{kind}.j2"
    try:
        text = renderer.render_text(name, ctx)
    except RenderError as exc:
        if not renderer.sandboxed:
            raise
        renderer.fallbacks.append(str(exc))
        text = Renderer(renderer.office).render_text(name, ctx)
    lines = [line.strip() for line in text.strip().splitlines()]
    return "\n".join(line for line in lines if line) + "\n"


def _parts(text: str) -> tuple[str, str, list[str], list[str]]:
    lines = [line for line in text.splitlines() if line.strip()]
    lines += [""] * max(0, 4 - len(lines))
    return lines[0], lines[1], lines[2:-2], lines[-2:]


def paper_docx(text: str) -> bytes:
    """The paper as a Word document (title, number, paragraphs, signature)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    title, number, body, sign = _parts(text)
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "FangSong"
    style.font.size = Pt(16)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "仿宋")
    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run(title)
    run.bold, run.font.size = True, Pt(22)
    doc.add_paragraph(number).alignment = WD_ALIGN_PARAGRAPH.CENTER
    for i, line in enumerate(body):
        para = doc.add_paragraph(line)
        if i > 0:  # the addressee line stands flush left; the paragraphs are indented
            para.paragraph_format.first_line_indent = Pt(32)
    for line in sign:
        doc.add_paragraph(line).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def paper_pdf(text: str) -> bytes:
    """The paper as a PDF with the CJK font embedded (PdfError when the server has none)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    register_font()
    title, number, body, sign = _parts(text)
    p = {"fontName": FONT, "wordWrap": "CJK"}
    styles = {
        "t": ParagraphStyle("t", fontSize=22, leading=32, alignment=1, **p),
        "n": ParagraphStyle("n", fontSize=13, leading=20, alignment=1, **p),
        "a": ParagraphStyle("a", fontSize=14, leading=26, **p),
        "b": ParagraphStyle("b", fontSize=14, leading=26, firstLineIndent=28, **p),
        "s": ParagraphStyle("s", fontSize=14, leading=24, alignment=2, **p),
    }
    story: list[Any] = [Paragraph(_esc(title), styles["t"]), Paragraph(_esc(number), styles["n"])]
    story.append(Spacer(1, 6 * mm))
    story += [Paragraph(_esc(line), styles["b" if i else "a"]) for i, line in enumerate(body)]
    story.append(Spacer(1, 10 * mm))
    story += [Paragraph(_esc(line), styles["s"]) for line in sign]
    out = BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=28 * mm,
        rightMargin=26 * mm,
        topMargin=37 * mm,
        bottomMargin=35 * mm,
        title=title + number,
        invariant=1,  # no creation date or random id: the same text gives the same bytes
    )
    doc.build(story)
    return out.getvalue()


def paper_files(text: str) -> tuple[bytes, bytes, str]:
    """(docx, pdf, problem): without a CJK font the PDF is left out and the problem said."""
    docx = paper_docx(text)
    try:
        return docx, paper_pdf(text), ""
    except PdfError as exc:
        return docx, b"", str(exc)


def attachments_of(label: str, docx: bytes, pdf: bytes, ref: str) -> tuple[Attachment, ...]:
    """The files an e-mail carries for one paper."""
    files = [Attachment(f"{label}.docx", DOCX_MIME, docx, ref)] if docx else []
    if pdf:
        files.append(Attachment(f"{label}.pdf", PDF_MIME, pdf, ref))
    return tuple(files)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
