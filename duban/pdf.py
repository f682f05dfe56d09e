"""PDF of the 通报 (with its charts) and of the 任务清单, drawn on the server by reportlab.

Chinese needs a CJK font on the server: DUBAN_CJK_FONT (a .ttf/.ttc file), else the first of
Debian's fonts-wqy-zenhei, fonts-noto-cjk or fonts-arphic found (`.ci/fonts` installs
fonts-wqy-zenhei). Without one, a Chinese error names what to install: a PDF of empty boxes is
never produced.
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from typing import Any

from duban.charts import Series
from duban.ledger import FILLS, HEADERS, LedgerRow
from notify.fonts import FONT, PdfError, cjk_font_path
from notify.fonts import register as _register
from schedules.clock import OFFICE_TZ
from schedules.report import COLOUR_LABEL, total

__all__ = ["FONT", "PdfError", "cjk_font_path"]


def _styles() -> dict[str, Any]:
    from reportlab.lib.styles import ParagraphStyle

    return {
        "title": ParagraphStyle(
            "t", fontName=FONT, fontSize=18, leading=26, alignment=1, spaceAfter=6
        ),
        "number": ParagraphStyle(
            "n", fontName=FONT, fontSize=12, leading=18, alignment=1, spaceAfter=10
        ),
        "h": ParagraphStyle(
            "h", fontName=FONT, fontSize=13, leading=20, spaceBefore=8, spaceAfter=4
        ),
        "p": ParagraphStyle("p", fontName=FONT, fontSize=10.5, leading=17, wordWrap="CJK"),
        "cell": ParagraphStyle("c", fontName=FONT, fontSize=8.5, leading=11, wordWrap="CJK"),
    }


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _hex(colour: str) -> Any:
    from reportlab.lib import colors

    return colors.HexColor("#" + colour)


def _heatmap(s: Series, width: float) -> Any:
    from reportlab.graphics.shapes import Drawing, Rect, String
    from reportlab.lib import colors

    units = s.units
    label_w = 110
    cell = min(22.0, (width - label_w) / max(len(s.months), 1))
    d = Drawing(width, 24 + cell * len(units))
    top = d.height - 16
    for j, m in enumerate(s.months):
        d.add(
            String(
                label_w + j * cell + cell / 2,
                top + 4,
                f"{m.month}月",
                fontName=FONT,
                fontSize=7,
                textAnchor="middle",
            )
        )
    for i, unit in enumerate(units):
        y = top - (i + 1) * cell
        d.add(
            String(label_w - 4, y + cell * 0.3, unit, fontName=FONT, fontSize=7, textAnchor="end")
        )
        for j in range(len(s.months)):
            rate = s.rate(unit, j)
            if rate is None:
                fill = colors.HexColor("#f2f2f2")
            else:
                r = 220 if rate < 0.5 else int(220 - (rate - 0.5) * 2 * 150)
                g = int(80 + rate * 2 * 110) if rate < 0.5 else 190
                fill = colors.Color(r / 255, g / 255, 80 / 255)
            d.add(
                Rect(
                    label_w + j * cell, y, cell - 1.5, cell - 1.5, fillColor=fill, strokeColor=None
                )
            )
    return d


def _trend(s: Series, width: float) -> Any:
    from reportlab.graphics.shapes import Drawing, Line, PolyLine, String
    from reportlab.lib import colors

    h, left, bottom = 150.0, 34.0, 20.0
    d = Drawing(width, h)
    pw, ph = width - left - 10, h - bottom - 16
    n = max(len(s.months) - 1, 1)
    for k in (0, 25, 50, 75, 100):
        y = bottom + ph * k / 100
        d.add(Line(left, y, left + pw, y, strokeColor=colors.HexColor("#dddddd")))
        d.add(String(left - 3, y - 3, f"{k}%", fontName=FONT, fontSize=7, textAnchor="end"))
    for i, m in enumerate(s.months):
        d.add(
            String(
                left + i * pw / n, 6, f"{m.month}月", fontName=FONT, fontSize=7, textAnchor="middle"
            )
        )
    totals = [total(list(m)) for m in s.by_month]
    for values, colour, dash in (
        ([t.completion for t in totals], "#2b6cb0", None),
        ([t.on_time_rate for t in totals], "#c05621", [4, 2]),
    ):
        pts: list[float] = []
        for i, v in enumerate(values):
            if v is not None:
                pts += [left + i * pw / n, bottom + ph * v]
        if len(pts) >= 4:
            d.add(
                PolyLine(
                    pts, strokeColor=colors.HexColor(colour), strokeWidth=1.6, strokeDashArray=dash
                )
            )
    d.add(
        String(
            left + 4,
            h - 10,
            "— 完成率",
            fontName=FONT,
            fontSize=8,
            fillColor=colors.HexColor("#2b6cb0"),
        )
    )
    d.add(
        String(
            left + 70,
            h - 10,
            "- - 按时完成率",
            fontName=FONT,
            fontSize=8,
            fillColor=colors.HexColor("#c05621"),
        )
    )
    return d


def _ages(s: Series, width: float) -> Any:
    from reportlab.graphics.shapes import Drawing, Rect, String
    from reportlab.lib import colors

    h, bottom = 120.0, 18.0
    d = Drawing(width, h)
    most = max((n for _, n in s.ages), default=0) or 1
    bw = (width - 20) / max(len(s.ages), 1)
    for i, (label, n) in enumerate(s.ages):
        bh = (h - bottom - 16) * n / most
        x = 10 + i * bw + 8
        d.add(Rect(x, bottom, bw - 16, bh, fillColor=colors.HexColor("#c53030"), strokeColor=None))
        d.add(
            String(
                x + (bw - 16) / 2,
                bottom + bh + 3,
                str(n),
                fontName=FONT,
                fontSize=8,
                textAnchor="middle",
            )
        )
        d.add(String(x + (bw - 16) / 2, 5, label, fontName=FONT, fontSize=8, textAnchor="middle"))
    return d


def bulletin_pdf(*, title: str, body: str, charts: Series | None) -> bytes:
    """The 通报: its text as the office approved it (its table by unit drawn as a table, the
    状态 column filled red/yellow/green), then the three charts."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    _register()
    st = _styles()
    out = BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=title,
    )
    lines = body.splitlines()
    story: list[Any] = []
    if lines:
        story.append(Paragraph(_esc(lines[0]), st["title"]))
    if len(lines) > 1:
        story.append(Paragraph(_esc(lines[1]), st["number"]))
    table_rows = [ln for ln in lines[2:] if " | " in ln]
    for ln in lines[2:]:
        if " | " in ln:
            continue  # the text's table is drawn as a table below its heading
        if not ln.strip():
            story.append(Spacer(1, 4))
        elif ln[:2] in ("一、", "二、", "三、", "四、", "五、"):
            story.append(Paragraph(_esc(ln), st["h"]))
            if ln.startswith("一、") and table_rows:
                story.append(_unit_table(table_rows, st))
        else:
            story.append(Paragraph(_esc(ln), st["p"]))
    if charts is not None and charts.months:
        width = A4[0] - 40 * mm
        story += [
            Paragraph("附图一 各单位逐月按时完成率（绿高红低，灰为无到期）", st["h"]),
            _heatmap(charts, width),
        ]
        story += [Paragraph("附图二 逐月完成率与按时完成率", st["h"]), _trend(charts, width)]
        story += [Paragraph("附图三 逾期未完成事项的逾期天数分布", st["h"]), _ages(charts, width)]
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return out.getvalue()


def _unit_table(rows: list[str], st: dict[str, Any]) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    cells = [[Paragraph(_esc(c.strip()), st["cell"]) for c in r.split(" | ")] for r in rows]
    t = Table(cells, repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#d9d9d9")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    colour_of = {COLOUR_LABEL[k]: v for k, v in FILLS.items()}
    for i, r in enumerate(rows[1:], start=1):
        last = r.split(" | ")[-1].strip()
        if last in colour_of:
            style.append(("BACKGROUND", (-1, i), (-1, i), _hex(colour_of[last])))
    t.setStyle(TableStyle(style))
    return t


def _footer(canvas: Any, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 8)
    canvas.drawCentredString(doc.pagesize[0] / 2, 10 * 2.83, f"第 {doc.page} 页")
    canvas.restoreState()


def ledger_pdf(rows: list[LedgerRow], *, title: str, as_of: datetime, unit: str | None) -> bytes:
    """The 任务清单 on landscape A4: the same columns and colours as the workbook."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    _register()
    st = _styles()
    out = BytesIO()
    size = landscape(A4)
    doc = SimpleDocTemplate(
        out,
        pagesize=size,
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=title,
    )
    local = as_of.astimezone(OFFICE_TZ)
    heading = f"{title} 任务清单（截至 {local:%Y-%m-%d %H:%M}）" + (f" · {unit}" if unit else "")
    data: list[list[Any]] = [[Paragraph(h, st["cell"]) for h in HEADERS]]
    for r in rows:
        values = (
            r.ref,
            r.title,
            r.times,
            r.lead,
            r.support,
            r.completion,
            r.progress,
            r.link,
            COLOUR_LABEL[r.colour],
        )
        data.append([Paragraph(_esc(v), st["cell"]) for v in values])
    units = (9, 38, 26, 22, 22, 34, 32, 30, 9)
    widths = [w * (size[0] - 20 * mm) / sum(units) for w in units]
    t = Table(data, colWidths=widths, repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#d9d9d9")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for i, r in enumerate(rows, start=1):
        style.append(("BACKGROUND", (-1, i), (-1, i), _hex(FILLS[r.colour])))
    t.setStyle(TableStyle(style))
    doc.build([Paragraph(_esc(heading), st["h"]), t], onFirstPage=_footer, onLaterPages=_footer)
    return out.getvalue()
