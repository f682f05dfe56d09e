"""Charts for the console and the PDF, drawn as SVG by our own code (no script, no library).

- `heatmap`: units × months, each cell the month's on-time rate (green → red), blank when nothing
  was due;
- `line`: completion and on-time rate over the months;
- `bars`: how many overdue duties have been late for how long.

The series come from `series()`, which asks `models/repo/reports.unit_counts` once per month (each
month as of its own close, as its 通报 said).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

from sqlalchemy.engine import Connection

from models.repo.reports import overdue_ages, unit_counts
from schedules.report import UnitCounts, month_as_of, next_month, total

AGE_BUCKETS = ((0, 7, "7天内"), (8, 30, "8–30天"), (31, 90, "31–90天"), (91, 10**6, "90天以上"))


@dataclass(frozen=True)
class Series:
    """A plan's (or the office's) months: per month the units' counts and the totals."""

    months: tuple[date, ...]
    by_month: tuple[tuple[UnitCounts, ...], ...]
    ages: tuple[tuple[str, int], ...]

    @property
    def units(self) -> list[str]:
        """Every unit that owed something in any of the months, by name."""
        return sorted({u.unit for month in self.by_month for u in month if u.due})

    def rate(self, unit: str, i: int) -> float | None:
        """The unit's on-time rate in month i (None: nothing past due)."""
        row = next((u for u in self.by_month[i] if u.unit == unit), None)
        return row.on_time_rate if row is not None else None


def series(conn: Connection, *, plan_ids: list[int] | None, first: date, last: date) -> Series:
    """The months from `first` to `last` (inclusive), each as of its own close."""
    months = []
    m = first
    while m <= last:
        months.append(m)
        m = next_month(m)
    by_month = tuple(
        unit_counts(conn, plan_ids=plan_ids, start=m, end=next_month(m), as_of=month_as_of(m))
        for m in months
    )
    ages = overdue_ages(conn, plan_ids=plan_ids, as_of=month_as_of(last))
    buckets = tuple(
        (label, sum(n for days, n in ages if lo <= days <= hi)) for lo, hi, label in AGE_BUCKETS
    )
    return Series(tuple(months), by_month, buckets)


def _colour(rate: float | None) -> str:
    if rate is None:
        return "#f2f2f2"
    # red (0) → yellow (0.5) → green (1)
    r = 220 if rate < 0.5 else int(220 - (rate - 0.5) * 2 * 150)
    g = int(80 + rate * 2 * 110) if rate < 0.5 else 190
    return f"rgb({r},{g},80)"


def heatmap(s: Series, *, cell: int = 26, label_w: int = 150) -> str:
    """Units × months of the on-time rate."""
    units = s.units
    w = label_w + cell * len(s.months) + 10
    h = 30 + cell * len(units) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{w}" height="{h}"'
        f' viewBox="0 0 {w} {h}" font-size="12" font-family="sans-serif">',
        "<title>各单位逐月按时完成率</title>",
    ]
    for j, m in enumerate(s.months):
        x = label_w + j * cell + cell / 2
        out.append(f'<text x="{x}" y="20" text-anchor="middle">{m.month}月</text>')
    for i, unit in enumerate(units):
        y = 30 + i * cell
        out.append(
            f'<text x="{label_w - 6}" y="{y + cell * 0.65}" text-anchor="end">{escape(unit)}</text>'
        )
        for j in range(len(s.months)):
            rate = s.rate(unit, j)
            tip = f"{unit} {s.months[j].month}月：" + ("无到期" if rate is None else f"{rate:.0%}")
            out.append(
                f'<rect x="{label_w + j * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}"'
                f' fill="{_colour(rate)}"><title>{escape(tip)}</title></rect>'
            )
    out.append("</svg>")
    return "".join(out)


def line(s: Series, *, width: int = 520, height: int = 220) -> str:
    """Completion (solid) and on-time rate (dashed) per month, 0–100%."""
    left, top, bottom = 40, 20, 30
    plot_w, plot_h = width - left - 20, height - top - bottom
    n = max(len(s.months) - 1, 1)
    totals = [total(list(m)) for m in s.by_month]

    def pts(values: list[float | None]) -> str:
        return " ".join(
            f"{left + i * plot_w / n:.1f},{top + plot_h * (1 - v):.1f}"
            for i, v in enumerate(values)
            if v is not None
        )

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" font-size="12" font-family="sans-serif">',
        "<title>逐月完成率与按时完成率</title>",
    ]
    for k in range(0, 101, 25):
        y = top + plot_h * (1 - k / 100)
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y}" y2="{y}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4}" text-anchor="end">{k}%</text>')
    for i, m in enumerate(s.months):
        out.append(
            f'<text x="{left + i * plot_w / n:.1f}" y="{height - 10}" text-anchor="middle">{m.month}月</text>'
        )
    out.append(
        f'<polyline fill="none" stroke="#2b6cb0" stroke-width="2" points="{pts([t.completion for t in totals])}"/>'
    )
    out.append(
        f'<polyline fill="none" stroke="#c05621" stroke-width="2" stroke-dasharray="5,3"'
        f' points="{pts([t.on_time_rate for t in totals])}"/>'
    )
    out.append(
        f'<text x="{left + 4}" y="{top - 6}" fill="#2b6cb0">— 完成率</text>'
        f'<text x="{left + 80}" y="{top - 6}" fill="#c05621">- - 按时完成率</text>'
    )
    out.append("</svg>")
    return "".join(out)


def bars(s: Series, *, width: int = 420, height: int = 200) -> str:
    """Overdue duties by how long they have been late."""
    left, top, bottom = 40, 20, 30
    plot_w, plot_h = width - left - 10, height - top - bottom
    most = max((n for _, n in s.ages), default=0) or 1
    bw = plot_w / max(len(s.ages), 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" font-size="12" font-family="sans-serif">',
        "<title>逾期未完成事项的逾期天数分布</title>",
    ]
    for i, (label, n) in enumerate(s.ages):
        h = plot_h * n / most
        x = left + i * bw + 6
        out.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bw - 12:.1f}" height="{h:.1f}" fill="#c53030"/>'
        )
        out.append(
            f'<text x="{x + (bw - 12) / 2:.1f}" y="{top + plot_h - h - 4:.1f}" text-anchor="middle">{n}</text>'
        )
        out.append(
            f'<text x="{x + (bw - 12) / 2:.1f}" y="{height - 10}" text-anchor="middle">{label}</text>'
        )
    out.append("</svg>")
    return "".join(out)
