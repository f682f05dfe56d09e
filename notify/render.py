"""Render notices into e-mail (subject, text, HTML) and robot markdown with Jinja2.

The office edits templates, so they run in a sandbox; an undefined variable is an error rather
than a silent blank, and only the HTML is autoescaped. An override folder (DUBAN_TEMPLATES_DIR)
shadows the shipped templates file by file.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import traceback
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import jinja2
import jinja2.sandbox
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from models.tokens import mint_unit_token
from notify.notice import ROLE_NAMES, STAGE_NAMES, Audience, Item, Notice
from notify.transport import Rendered
from notify.wording import plan_office
from schedules.clock import OFFICE_TZ

DEFAULT_DIR = Path(__file__).parent / "templates"
FORMATS = ("subject", "text", "html", "md")
# What each channel shows: e-mail the text and HTML parts, robots markdown, webhooks both texts.
CHANNEL_FORMATS = {
    "email": ("subject", "text", "html"),
    "webhook": ("subject", "text", "md"),
    "dingtalk": ("subject", "md"),
    "wecom": ("subject", "md"),
    "feishu": ("subject", "md"),
}
WEEKDAYS = "一二三四五六日"
LEVEL_NAMES = {0: "提醒", 1: "催办", 2: "督办", 3: "通报"}
_BLANK_RUNS = re.compile(r"\n\s*\n(\s*\n)+")  # an empty block leaves one blank line, not three
AUDIENCE_NAMES = {
    Audience.UNIT_CONTACTS: "联络员",
    Audience.UNIT_HEAD: "负责人",
    Audience.LEADER: "领导",
    Audience.OFFICE: "安委办",
}


@dataclass(frozen=True)
class OfficeInfo:
    """Who sends, and whom a unit contacts with questions."""

    name: str = "安委办"
    contact: str = ""
    email: str = ""
    portal_url: str = ""
    portal_secret: bytes = b""  # signs each message's link to the unit's portal
    portal_link_days: int = 45


# Who gets a link to the unit's own portal; the office and leaders get the console's page.
PORTAL_AUDIENCES = frozenset({Audience.UNIT_CONTACTS, Audience.UNIT_HEAD})


def unit_link(notice: Notice, office: OfficeInfo, at: datetime) -> str:
    """The link to the notice's unit's portal, signed for this message ("" when there is none)."""
    base = office.portal_url.rstrip("/")
    if not (base and office.portal_secret and notice.unit_id is not None):
        return ""
    if notice.audience not in PORTAL_AUDIENCES:
        return ""
    token = mint_unit_token(
        office.portal_secret,
        notice.unit_id,
        issued=at,
        expires=at + timedelta(days=office.portal_link_days),
    )
    return f"{base}/u/{token}"


def item_link(obligation_id: int, portal: str, notice: Notice, office: OfficeInfo) -> str:
    """Where a message sends its reader for one item: the unit's portal, the console for the
    office and leaders, nothing when there are no pages (the text says whom to report to)."""
    if portal:
        return f"{portal}/o/{obligation_id}"
    base = office.portal_url.rstrip("/")
    if not base or notice.audience in PORTAL_AUDIENCES:
        return ""
    return f"{base}/office/obligations/{obligation_id}"


def button_link(ctx: dict[str, Any]) -> str:
    """The one page a robot's button opens: the unit's portal, else the console's page of the
    message's only item; "" (no button) otherwise."""
    if ctx["office"]["unit_link"]:
        return str(ctx["office"]["unit_link"])
    links = {it["link"] for it in ctx["items"] if it["link"]}
    return links.pop() if len(links) == 1 else ""


class RenderError(Exception):
    """A template failed: names the template file and line."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        super().__init__(f"{file}:{line or '?'}: {message}")
        self.file = file
        self.line = line
        self.message = message


def format_date(d: date) -> str:
    """2024-03-29 → 2024年3月29日（星期五）."""
    return f"{d.year}年{d.month}月{d.day}日（星期{WEEKDAYS[d.weekday()]}）"


def describe_days(days_left: int, due: date | None = None, today: date | None = None) -> str:
    """Working days left, due today, or working days overdue, in words. A deadline on a day off
    (a Saturday) is 0 working days away on the Friday before it: that is the last working day
    before it, not "today"."""
    if days_left > 0:
        return f"还剩 {days_left} 个工作日"
    if days_left == 0 and due is not None and today is not None and due > today:
        return f"今天是截止日（{format_date(due)}）前的最后一个工作日"
    if days_left == 0:
        return "今天到期"
    return f"已逾期 {-days_left} 个工作日"


def describe_ref(ref: str) -> str:
    """A task's number as a sentence says it: 14 → 第 14 项, 3.2 → 第 3.2 项, 附件-14 → 附件第 14 项;
    any other label is named as it is (编号 X)."""
    ref = ref.strip()
    if re.fullmatch(r"\d+(?:[.．]\d+)*", ref):
        return f"第 {ref} 项"
    found = re.fullmatch(r"(附件|附表)\s*[-－—_ ]?\s*(\d+(?:[.．]\d+)*)", ref)
    if found:
        return f"{found.group(1)}第 {found.group(2)} 项"
    return f"编号 {ref}" if ref else "（无编号）"


def describe_item(item: Item, today: date | None = None) -> dict[str, Any]:
    """An item as the templates see it (`today`, the office's date, for "today" in words)."""
    return {
        "obligation_id": item.obligation_id,
        "stage": item.stage,
        "stage_name": STAGE_NAMES.get(item.stage, item.stage),
        "seq": item.seq,
        "level": item.level,
        "level_name": LEVEL_NAMES.get(item.level, str(item.level)),
        "plan": item.plan_title,
        "task_ref": item.task_ref,
        "ref_text": describe_ref(item.task_ref),
        "task_title": item.task_title,
        "milestone": item.milestone,
        "due": item.due.isoformat(),
        "due_text": format_date(item.due),
        "days_left": item.days_left,
        "days_text": describe_days(item.days_left, item.due, today),
        "overdue": item.days_left < 0,
        "is_report": item.is_report,
        "unit": item.unit_name,
        "role": item.role,
        "role_name": ROLE_NAMES.get(item.role, item.role),
        "plan_level": item.plan_level,
        "next_step": item.next_step,
    }


class SharedLines(Protocol):
    """The wording every message repeats, from `_macros.j2` (the office may override it)."""

    def report_how(self, item: Mapping[str, Any], office: Mapping[str, Any]) -> str: ...

    def contact(self, office: Mapping[str, Any]) -> str: ...


def build_context(
    notice: Notice,
    *,
    recipient_name: str,
    at: datetime,
    office: OfficeInfo,
    shared: SharedLines,
) -> dict[str, Any]:
    """Everything a template may use (see README, "Delivery").

    The lines from `_macros.j2` are rendered here once per item (`report_how`) and per message
    (`office.contact_line`) rather than by each format's template: calling a Jinja macro and
    importing its file cost more than the rest of a template's rendering.
    """
    office_vars = {
        "name": office.name,
        "contact": office.contact,
        "email": office.email,
        "portal_url": office.portal_url.rstrip("/"),
        "unit_link": unit_link(notice, office, at),
    }
    office_vars["contact_line"] = str(shared.contact(office_vars))
    items = []
    groups: dict[str, list[dict[str, Any]]] = {}
    today = at.astimezone(OFFICE_TZ).date()
    for i in notice.items:
        it = describe_item(i, today)
        it["link"] = item_link(i.obligation_id, office_vars["unit_link"], notice, office)
        it["report_how"] = str(shared.report_how(it, office_vars))
        items.append(it)
        groups.setdefault(it["unit"], []).append(it)
    top = [it for it in items if it["level"] == notice.level]
    levels = {i.plan_level for i in notice.items}
    level = levels.pop() if len(levels) == 1 else ""  # plans of several levels: none named
    local = at.astimezone(OFFICE_TZ)
    b = notice.bulletin
    return {
        "rollcall": rollcall_vars(notice),
        "bulletin": {
            "number": b.number if b else "",
            "title": b.title if b else "",
            "summary": b.summary if b else "",
            "link": b.link if b else "",
            "files": [f.filename for f in notice.files],
        },
        "office": office_vars,
        "recipient": recipient_name,
        "audience": str(notice.audience),
        "audience_name": AUDIENCE_NAMES[notice.audience],
        "kind": notice.template,
        "kind_name": STAGE_NAMES.get(notice.template, notice.template),
        "level": notice.level,
        "level_name": LEVEL_NAMES.get(notice.level, ""),
        "items": items,
        "count": len(items),
        "overdue_count": sum(1 for it in items if it["overdue"]),
        # The items at the message's own level (its 督办 or 通报), apart from what comes with them.
        "top_count": sum(1 for it in items if it["level"] == notice.level),
        "next_steps": list(dict.fromkeys(it["next_step"] for it in top if it["next_step"])),
        "plan_level": level,
        "level_leader": f"{level}领导",
        "plan_office": plan_office(level, office.name) if level else office.name,
        "units": [{"name": name, "entries": its} for name, its in groups.items()],
        "notes": list(notice.notes),
        "date_text": format_date(local.date()),
        "time_text": local.strftime("%Y-%m-%d %H:%M"),
    }


def rollcall_vars(notice: Notice) -> dict[str, Any]:
    """The roll-call's month in words and its two lists (empty for any other notice)."""
    r = notice.rollcall
    if r is None:
        return {"month": "", "month_text": "", "reported": [], "missing": [], "total": 0}
    year, month = (int(x) for x in r.month.split("-"))
    return {
        "month": r.month,
        "month_text": f"{year}年{month}月",
        "reported": list(r.reported),
        "missing": list(r.missing),
        "total": len(r.reported) + len(r.missing),
    }


def formats_for(kinds: set[str]) -> tuple[str, ...]:
    """The formats to render for messages going to channels of `kinds`."""
    needed = {f for kind in kinds for f in CHANNEL_FORMATS.get(kind, FORMATS)}
    return tuple(f for f in FORMATS if f in needed)


def template_name(kind: str, fmt: str) -> str:
    """`chase.html.j2`."""
    return f"{kind}.{fmt}.j2"


def locate_error(exc: BaseException) -> tuple[str, int | None]:
    """The template file and line an error came from (Jinja rewrites tracebacks to them)."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return (exc.filename or exc.name or "?"), exc.lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            return frame.filename, frame.lineno
    return "?", None


# Budgets for the office's templates (they are not our code): what one render may produce and
# spend. A template over a budget fails like any template error, and the shipped one is used.
MAX_OUTPUT = 1_000_000  # characters per template
MAX_LOOP = 200_000  # range() items per render, all loops together
MAX_SECONDS = 2.0  # per render
_budget = threading.local()


class _Budgeted(SandboxedEnvironment):
    """The sandbox, with `range` counted, repetition capped and a deadline (per thread)."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _budget_range

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 100:
            raise SecurityError("模板中的乘方过大")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(n, int)
                if sized and len(seq) * n > MAX_OUTPUT:
                    raise SecurityError("模板中的重复结果过大")
        return super().call_binop(context, operator, left, right)


def _spend(n: int) -> None:
    left = getattr(_budget, "loop", MAX_LOOP) - n
    _budget.loop = left
    if left < 0:
        raise SecurityError(f"模板循环次数超过上限 {MAX_LOOP}")
    if time.monotonic() > getattr(_budget, "deadline", float("inf")):
        raise SecurityError(f"模板渲染超过 {MAX_SECONDS:g} 秒")


def _budget_range(*args: int) -> Iterator[int]:
    items = range(*args)
    _spend(0)
    for i in items:
        _spend(1)
        yield i


class _OverrideLoader(jinja2.FileSystemLoader):
    """Loads the office's folder first, then the shipped templates; an override file must be a
    regular file inside the folder (a symlink out of it, to /etc/shadow say, is refused)."""

    def __init__(self, override: Path | None) -> None:
        self.override = override.resolve() if override else None
        search = [str(override)] if override else []
        super().__init__([*search, str(DEFAULT_DIR)], encoding="utf-8")

    def get_source(self, environment: jinja2.Environment, template: str) -> Any:
        source = super().get_source(environment, template)
        path = Path(source[1])
        if self.override is not None and not path.resolve().is_relative_to(DEFAULT_DIR.resolve()):
            real = path.resolve()
            if not real.is_relative_to(self.override) or not real.is_file():
                raise jinja2.TemplateError(
                    f"覆盖模板 {template} 必须是模板目录内的普通文件（不允许链接到目录外）"
                )
        return source


class Renderer:
    """Renders notices; one instance per installation (templates are compiled once).

    Jinja's own reload check stats every template file on every render, which costs more than
    the render itself; instead `refresh()` (called once per delivery pass) looks at the override
    folder and starts from freshly compiled templates when a file there was added, edited or
    removed. While the office has overridden any template, everything renders in Jinja's sandbox
    (the office's files are not our code); the shipped defaults alone render without it, which
    saves a tenth of the render time.
    """

    def __init__(self, office: OfficeInfo, override_dir: Path | None = None) -> None:
        self.office = office
        self.override_dir = override_dir
        self._seen = self._override_state()
        self.env = self._environment()
        self._templates: dict[str, jinja2.Template] = {}  # compiled, by name, for this `env`
        self._shipped: Renderer | None = None  # the fallback when an override fails
        self.fallbacks: list[str] = []  # override failures since last taken (the office is told)

    def _environment(self) -> jinja2.Environment:
        kind = _Budgeted if self.sandboxed else jinja2.Environment
        return kind(
            loader=_OverrideLoader(self.override_dir),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,
        )

    @property
    def sandboxed(self) -> bool:
        """Whether templates render in the sandbox: whenever the office overrides any."""
        return bool(self._seen)

    def _override_state(self) -> tuple[tuple[str, int, int], ...]:
        if self.override_dir is None or not self.override_dir.is_dir():
            return ()
        files = sorted(self.override_dir.rglob("*.j2"))
        return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)

    def refresh(self) -> bool:
        """Pick up the office's template edits; return whether anything changed."""
        state = self._override_state()
        if state == self._seen:
            return False
        self._seen = state
        self.env = self._environment()
        self._templates = {}
        return True

    def render(
        self,
        notice: Notice,
        *,
        recipient_name: str,
        at: datetime,
        formats: Collection[str] = FORMATS,
    ) -> Rendered:
        """The `formats` of one notice (others are left empty); `RenderError` names file and line."""
        return self._render(notice, recipient_name=recipient_name, at=at, formats=formats)

    def render_or_fallback(
        self,
        notice: Notice,
        *,
        recipient_name: str,
        at: datetime,
        formats: Collection[str] = FORMATS,
    ) -> Rendered:
        """As `render`, for delivery. When the office's override templates fail (an error, a refused file, over a budget), the
        shipped templates render the notice instead and the failure is kept in `fallbacks`, so
        the message still goes out and the office hears of it (the pass audits and reports it).
        """
        try:
            return self._render(notice, recipient_name=recipient_name, at=at, formats=formats)
        except RenderError as exc:
            if not self._seen:
                raise  # the shipped templates themselves: nothing to fall back on
            self.fallbacks.append(str(exc))
            if self._shipped is None:
                self._shipped = Renderer(self.office)
            return self._shipped._render(
                notice, recipient_name=recipient_name, at=at, formats=formats
            )

    def take_fallbacks(self) -> list[str]:
        """The override failures since the last call (distinct, in order)."""
        taken, self.fallbacks = self.fallbacks, []
        return list(dict.fromkeys(taken))

    def _render(
        self,
        notice: Notice,
        *,
        recipient_name: str,
        at: datetime,
        formats: Collection[str],
    ) -> Rendered:
        _budget.loop, _budget.deadline = MAX_LOOP, time.monotonic() + MAX_SECONDS
        ctx = self.context(notice, recipient_name=recipient_name, at=at)
        parts = {
            fmt: self.render_one(template_name(notice.template, fmt), ctx) if fmt in formats else ""
            for fmt in FORMATS
        }
        data = {
            "recipient": recipient_name,
            "audience": ctx["audience"],
            "kind": ctx["kind"],
            "level": ctx["level"],
            "items": ctx["items"],
        }
        return Rendered(
            subject=" ".join(parts["subject"].split()),  # one line, whatever the template did
            text=_BLANK_RUNS.sub("\n\n", parts["text"]).strip() + "\n",
            html=parts["html"],
            markdown=_BLANK_RUNS.sub("\n\n", parts["md"]).strip(),
            data=data,
            link=button_link(ctx),
        )

    def context(self, notice: Notice, *, recipient_name: str, at: datetime) -> dict[str, Any]:
        """The variables `notice`'s templates see, with the shared lines of `_macros.j2`."""
        with _located("_macros.j2"):
            macros = self._template("_macros.j2")
            shared = macros.module
            for needed in ("report_how", "contact"):
                if not callable(getattr(shared, needed, None)):
                    file = macros.filename or "_macros.j2"
                    raise RenderError(
                        file, None, f"缺少宏 {needed}（_macros.j2 须定义 report_how 与 contact）"
                    )
            try:
                ctx = build_context(
                    notice,
                    recipient_name=recipient_name,
                    at=at,
                    office=self.office,
                    shared=shared,  # type: ignore[arg-type]
                )
            except Exception:
                # Macros called from Python: Jinja rewrites the traceback to the file's own lines.
                self.env.handle_exception()
        return ctx

    def render_text(self, name: str, ctx: Mapping[str, Any]) -> str:
        """One template on its own (a 督办单's text), with a fresh render budget."""
        _budget.loop, _budget.deadline = MAX_LOOP, time.monotonic() + MAX_SECONDS
        return self.render_one(name, ctx)

    def render_one(self, name: str, ctx: Mapping[str, Any]) -> str:
        """One template against `ctx`."""
        with _located(name):
            chunks, size = [], 0
            for chunk in self._template(name).generate(ctx):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    file = self._template(name).filename or name
                    raise RenderError(file, None, f"模板输出超过 {MAX_OUTPUT} 字符")
                chunks.append(chunk)
            text = "".join(chunks)
        return text

    def _template(self, name: str) -> jinja2.Template:
        # Jinja's own cache lookup (loader, globals, reload check) costs more than a dict.
        found = self._templates.get(name)
        if found is None:
            found = self._templates[name] = self.env.get_template(name)
        return found


@contextlib.contextmanager
def _located(name: str) -> Iterator[None]:
    """Turn whatever a template raises into a `RenderError` naming its file and line."""
    try:
        yield
    except RenderError:
        raise
    except jinja2.TemplateNotFound as exc:
        raise RenderError(name, None, f"找不到模板 {exc.name}") from exc
    except jinja2.TemplateError as exc:
        file, line = locate_error(exc)
        raise RenderError(file, line, f"{type(exc).__name__}: {exc.message or exc}") from exc
    except Exception as exc:  # e.g. a TypeError in an expression the office wrote
        file, line = locate_error(exc)
        raise RenderError(file, line, f"{type(exc).__name__}: {exc}") from exc
