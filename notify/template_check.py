"""`duban templates check`: render every template against sample data, report file:line.

The office edits templates in its override folder; a typo should surface here, not in the
morning's reminders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import jinja2

from notify.notice import TEMPLATE_KINDS, Audience, Item, Notice, RollCall
from notify.render import (
    DEFAULT_DIR,
    FORMATS,
    OfficeInfo,
    Renderer,
    RenderError,
    template_name,
)
from schedules.clock import OFFICE_TZ


@dataclass(frozen=True)
class TemplateProblem:
    """One error found by `check_templates`."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line or '?'}: {self.message}"


_PLAN = "2024年安全生产工作意见"
_SAMPLES = {
    "chase": Item(1, "chase", "chase-2024-04-01@2024-03-29", 1, _PLAN, "5", "开展危险化学品专项检查",
                  "3月底前完成排查", date(2024, 3, 29), -2, "区应急局"),
    "remind": Item(2, "remind", "remind-3@2024-04-26", 0, _PLAN, "附件-3", "消防安全宣传月活动",
                   "4月中旬前制定方案", date(2024, 4, 26), 3, "区消防救援支队"),
    "assign": Item(4, "assign", "assign@2024-12-31", 0, _PLAN, "9", "完善安全生产责任体系",
                   "2024年底前完成", date(2024, 12, 31), 180, "区应急局", role="support"),
    "report": Item(3, "remind", "remind-2@2024-04-26", 0, "三年行动方案", "12", "月度进展报送",
                   "每月26日前报送", date(2024, 4, 26), 2, "徐泾镇", is_report=True),
}  # fmt: skip


def sample_notices() -> list[Notice]:
    """Notices covering every template: each kind, unit and leader audiences, 1 and 2 items."""
    notices = []
    for kind in TEMPLATE_KINDS:
        if kind in ("test", "bulletin", "rollcall"):
            items: tuple[Item, ...] = ()
        elif kind == "monthly":
            items = (_SAMPLES["report"],)
        elif kind == "assign":
            items = (_SAMPLES["assign"], _SAMPLES["remind"])
        else:
            items = (_SAMPLES["chase"], _SAMPLES["remind"])
        for audience in (Audience.UNIT_CONTACTS, Audience.LEADER):
            if kind == "rollcall":
                call = RollCall("2024-04", reported=("甲街道",), missing=("乙街道", "丙镇"))
                notices.append(Notice(1, Audience.OFFICE, (), kind=kind, rollcall=call))
                break
            notices.append(Notice(1, audience, items, kind=kind))
            if items:
                notices.append(Notice(1, audience, items[:1], kind=kind))
    return notices


def check_templates(
    override_dir: Path | None = None, office: OfficeInfo | None = None
) -> list[TemplateProblem]:
    """Compile every override file and render every template against sample data."""
    renderer = Renderer(office or OfficeInfo(name="区安委办", contact="021-00000000"), override_dir)
    problems: list[TemplateProblem] = []
    if override_dir is not None:
        problems += _check_override_files(renderer, override_dir)
    at = datetime(2024, 4, 1, 1, 0, tzinfo=OFFICE_TZ)
    for notice in sample_notices():
        try:
            ctx = renderer.context(notice, recipient_name="区应急局", at=at)
        except RenderError as exc:
            problems.append(TemplateProblem(exc.file, exc.line, exc.message))
            continue
        for fmt in FORMATS:
            try:
                renderer.render_one(template_name(notice.template, fmt), ctx)
            except RenderError as exc:
                problems.append(TemplateProblem(exc.file, exc.line, exc.message))
    seen: set[tuple[str, int | None]] = set()
    unique = []
    for p in problems:  # a syntax error shows up again on every render of the file: report it once
        if (p.file, p.line) not in seen:
            seen.add((p.file, p.line))
            unique.append(p)
    return unique


def _check_override_files(renderer: Renderer, folder: Path) -> list[TemplateProblem]:
    if not folder.is_dir():
        return [TemplateProblem(str(folder), None, "模板目录不存在（DUBAN_TEMPLATES_DIR）")]
    known = {template_name(k, f) for k in TEMPLATE_KINDS for f in FORMATS}
    known |= {p.name for p in DEFAULT_DIR.glob("_*.j2")}
    known |= {p.name for p in DEFAULT_DIR.glob("paper.*.j2")}
    problems = []
    for path in sorted(folder.rglob("*.j2")):
        name = path.relative_to(folder).as_posix()
        if name not in known:
            problems.append(TemplateProblem(str(path), None, "未知的模板文件名，不会被使用"))
        try:
            renderer.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(TemplateProblem(str(path), exc.lineno, f"语法错误: {exc.message}"))
        except jinja2.TemplateError as exc:  # a file refused by the loader (a link out, …)
            problems.append(TemplateProblem(str(path), None, str(exc.message or exc)))
    return problems
