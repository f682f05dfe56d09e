"""Templates: every stage and format, what each message must say, sandbox, strictness, overrides."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from models.tokens import read_unit_token
from notify.notice import NO_ITEM_KINDS, TEMPLATE_KINDS, Audience, Item, Notice
from notify.render import OfficeInfo, Renderer, RenderError, describe_days, format_date
from notify.template_check import check_templates

AT = datetime(2024, 4, 1, 1, 0, tzinfo=UTC)
OFFICE = OfficeInfo(name="区安委办", contact="值班电话 021-12345678", email="office@example.gov.cn")


def item(
    stage: str = "chase", days_left: int = -2, title: str = "开展危化品专项检查", **kw: object
) -> Item:
    level = {"remind": 0, "chase": 1, "office": 2, "leader": 3}[stage]
    fields = dict(
        obligation_id=41,
        stage=stage,
        seq=f"{stage}@2024-03-29",
        level=level,
        plan_title="普陀区2023年安全生产工作意见",
        task_ref="5",
        task_title=title,
        milestone="3月底前完成排查",
        due=date(2024, 3, 29),
        days_left=days_left,
        unit_name="区应急局",
    )
    fields.update(kw)
    return Item(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("d", "text"),
    [(date(2024, 3, 29), "2024年3月29日（星期五）"), (date(2024, 2, 4), "2024年2月4日（星期日）")],
)
def test_it_writes_dates_with_the_weekday(d: date, text: str) -> None:
    assert format_date(d) == text


@pytest.mark.parametrize(
    ("days", "text"), [(3, "还剩 3 个工作日"), (0, "今天到期"), (-2, "已逾期 2 个工作日")]
)
def test_it_says_working_days_left_or_overdue(days: int, text: str) -> None:
    assert describe_days(days) == text


@pytest.mark.parametrize(
    ("stage", "days", "subject"),
    [
        ("remind", 3, "【提醒】区应急局：1 项工作即将到期（2024年3月29日（星期五）截止）"),
        ("chase", -2, "【催办】区应急局：1 项工作已逾期"),
        ("office", -6, "【督办】区应急局：1 项逾期工作已列入区安委办督办"),
        ("leader", -12, "【通报】区应急局：1 项工作经督办仍未办结"),
    ],
)
def test_it_says_everything_a_unit_needs_in_every_format(
    stage: str, days: int, subject: str
) -> None:
    out = Renderer(OFFICE).render(
        Notice(7, Audience.UNIT_CONTACTS, (item(stage, days),)), recipient_name="区应急局", at=AT
    )
    assert out.subject == subject
    for body in (out.text, out.html, out.markdown):
        for must in (
            "普陀区2023年安全生产工作意见",
            "第 5 项",
            "开展危化品专项检查",
            "3月底前完成排查",
            "2024年3月29日（星期五）",
            describe_days(days),
            "区安委办",
            "duban obligation submit 41 --unit 区应急局",
        ):
            assert must in body, (must, body)
    assert "值班电话 021-12345678" in out.text and "值班电话 021-12345678" in out.markdown
    assert out.data["items"][0]["obligation_id"] == 41


def test_it_links_each_unit_to_its_own_portal_with_a_signed_link() -> None:
    office = OfficeInfo(
        name="区安委办", portal_url="https://duban.example.gov.cn/", portal_secret=b"k" * 32
    )
    r = Renderer(office)
    out = r.render(Notice(7, Audience.UNIT_CONTACTS, (item(),)), recipient_name="区应急局", at=AT)
    link = re.search(r"https://duban\.example\.gov\.cn/u/([\w.-]+)/o/41", out.text)
    assert link is not None and link.group(0) in out.text
    assert f'<a href="{link.group(0)}">打开任务页面</a>' in out.html
    assert f"[打开任务页面]({link.group(0)})" in out.markdown
    assert f"[打开本单位全部任务]({link.group(0).rsplit('/o/', 1)[0]})" in out.markdown
    assert "duban obligation submit" not in out.text
    token = read_unit_token(b"k" * 32, link.group(1), now=AT)
    assert token.unit_id == 7 and token.expires_at == AT + timedelta(days=45)
    leader = r.render(Notice(9, Audience.LEADER, (item(),)), recipient_name="张区长", at=AT)
    assert "https://duban.example.gov.cn/office/obligations/41" in leader.markdown
    assert "/u/" not in leader.markdown
    # the robots' button: the unit's whole portal; the leader's: the console's page of the item
    assert out.link == link.group(0).rsplit("/o/", 1)[0]
    assert leader.link == "https://duban.example.gov.cn/office/obligations/41"
    assert (
        Renderer(OfficeInfo(name="区安委办"))
        .render(Notice(7, Audience.UNIT_CONTACTS, (item(),)), recipient_name="区应急局", at=AT)
        .link
        == ""
    )  # no pages: no button


def test_it_gives_units_no_link_without_a_secret() -> None:
    office = OfficeInfo(name="区安委办", portal_url="https://duban.example.gov.cn/")
    out = Renderer(office).render(
        Notice(7, Audience.UNIT_CONTACTS, (item(),)), recipient_name="区应急局", at=AT
    )
    assert "duban.example.gov.cn" not in out.text and "报区安委办" in out.text


def test_it_picks_the_monthly_report_template_and_the_most_severe_stage() -> None:
    r = Renderer(OFFICE)
    monthly = Notice(7, Audience.UNIT_CONTACTS, (item("remind", 4, is_report=True),))
    mixed = Notice(
        7, Audience.UNIT_CONTACTS, (item("remind", 4), item("office", -6, obligation_id=42))
    )
    assert r.render(monthly, recipient_name="徐泾镇", at=AT).subject.startswith(
        "【月报提醒】徐泾镇"
    )
    assert r.render(mixed, recipient_name="区应急局", at=AT).subject.startswith("【督办】")


def test_it_escapes_html_but_not_text_or_markdown() -> None:
    out = Renderer(OFFICE).render(
        Notice(7, Audience.UNIT_CONTACTS, (item(title="<script>alert(1)</script>&检查"),)),
        recipient_name="区应急局",
        at=AT,
    )
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;&amp;检查" in out.html and "<script>" not in out.html
    )
    assert "<script>alert(1)</script>&检查" in out.text
    assert "<script>alert(1)</script>&检查" in out.markdown


def test_it_lists_every_unit_in_the_office_digest() -> None:
    items = (
        item(),
        item("remind", 2, obligation_id=42, unit_name="区公安分局", title="道路交通整治"),
    )
    out = Renderer(OFFICE).render(
        Notice(None, Audience.OFFICE, items, kind="digest"), recipient_name="区安委办", at=AT
    )
    assert out.subject == "【每日汇总】2024年4月1日（星期一）：督办事项 2 项，涉及 2 个单位"
    assert out.text.index("区应急局（1 项）") < out.text.index("区公安分局（1 项）")


@pytest.mark.parametrize("kind", TEMPLATE_KINDS)
def test_it_renders_every_kind_for_leaders_with_the_units_named(kind: str) -> None:
    items = () if kind in NO_ITEM_KINDS else (item(),)
    out = Renderer(OFFICE).render(
        Notice(9, Audience.LEADER, items, kind=kind), recipient_name="副区长乙", at=AT
    )
    assert out.subject and out.text.startswith("副区长乙：")
    if items and kind != "digest":
        assert "责任单位：区应急局" in out.text


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_it_prefers_the_office_override_file_by_file(tmp_path: Path) -> None:
    write(tmp_path, "chase.subject.j2", "请{{ recipient }}抓紧：{{ count }} 项")
    out = Renderer(OFFICE, tmp_path).render(
        Notice(7, Audience.UNIT_CONTACTS, (item(),)), recipient_name="区应急局", at=AT
    )
    assert out.subject == "请区应急局抓紧：1 项"
    assert "开展危化品专项检查" in out.text  # the other formats stay the shipped ones


@pytest.mark.parametrize(
    ("text", "line", "error"),
    [
        ("第一行\n{{ recipient }}\n{{ unit.name }}", 3, "UndefinedError"),
        ("{% for x in items %}\n{{ x.task_title }", 2, "TemplateSyntaxError"),
        ("{{ recipient.__class__.__mro__ }}", 1, "SecurityError"),
    ],
)
def test_it_names_the_file_and_line_of_a_template_error(
    tmp_path: Path, text: str, line: int, error: str
) -> None:
    path = write(tmp_path, "remind.text.j2", text)
    with pytest.raises(RenderError) as err:
        Renderer(OFFICE, tmp_path).render(
            Notice(7, Audience.UNIT_CONTACTS, (item("remind", 3),)), recipient_name="x", at=AT
        )
    assert (err.value.file, err.value.line) == (str(path), line)
    assert error in err.value.message


def test_it_checks_every_template_and_reports_file_and_line(tmp_path: Path) -> None:
    assert check_templates() == []
    bad = write(
        tmp_path,
        "office.md.j2",
        '{% extends "_layout.md.j2" %}\n{% block intro %}{{ oops }}{% endblock %}',
    )
    broken = write(tmp_path, "leader.html.j2", "<p>{% if %}</p>")
    stray = write(tmp_path, "chase.txt.j2", "拼错的文件名")
    problems = {(p.file, p.line): p.message for p in check_templates(tmp_path)}
    assert "'oops' is undefined" in problems[(str(bad), 2)]
    assert "语法错误" in problems[(str(broken), 1)]
    assert "未知的模板文件名" in problems[(str(stray), None)]
    assert len(problems) == 3


def test_it_picks_up_override_edits_on_refresh(tmp_path: Path) -> None:
    renderer = Renderer(OFFICE, tmp_path)
    notice = Notice(7, Audience.UNIT_CONTACTS, (item(),))
    assert renderer.render(notice, recipient_name="区应急局", at=AT).subject.startswith("【催办】")
    assert renderer.refresh() is False  # nothing changed: compiled templates are kept
    write(tmp_path, "chase.subject.j2", "新增的主题：{{ recipient }}")
    assert renderer.refresh() is True
    assert (
        renderer.render(notice, recipient_name="区应急局", at=AT).subject == "新增的主题：区应急局"
    )
    (tmp_path / "chase.subject.j2").unlink()
    assert renderer.refresh() is True
    assert renderer.render(notice, recipient_name="区应急局", at=AT).subject.startswith("【催办】")


def test_it_sandboxes_every_template_once_the_office_adds_one(tmp_path: Path) -> None:
    renderer = Renderer(OFFICE, tmp_path)
    notice = Notice(7, Audience.UNIT_CONTACTS, (item("remind", 3),))
    assert renderer.sandboxed is False  # only the shipped templates: our own code
    renderer.render(notice, recipient_name="区应急局", at=AT)
    write(tmp_path, "remind.subject.j2", "{{ recipient.__class__.__mro__ }}")
    assert renderer.refresh() is True and renderer.sandboxed is True
    with pytest.raises(RenderError) as err:
        renderer.render(notice, recipient_name="区应急局", at=AT)
    assert "SecurityError" in err.value.message
    (tmp_path / "remind.subject.j2").unlink()
    assert renderer.refresh() is True and renderer.sandboxed is False
    assert renderer.render(notice, recipient_name="区应急局", at=AT).subject.startswith("【提醒】")


def test_the_office_rewords_the_shared_lines_in_macros_for_every_format(tmp_path: Path) -> None:
    write(
        tmp_path,
        "_macros.j2",
        "{% macro report_how(it, office) %}请登录督办系统报送第{{ it.obligation_id }}号{% endmacro %}"
        "{% macro contact(office) %}{{ office.name }}（张科长）{% endmacro %}",
    )
    out = Renderer(OFFICE, tmp_path).render(
        Notice(7, Audience.UNIT_CONTACTS, (item(),)), recipient_name="区应急局", at=AT
    )
    for part in (out.text, out.markdown, out.html):
        assert "请登录督办系统报送第41号" in part and "区安委办（张科长）" in part
        assert "duban obligation submit" not in part
    assert out.data["items"][0]["report_how"] == "请登录督办系统报送第41号"  # webhooks get it too


def test_an_override_layout_may_still_import_the_macros(tmp_path: Path) -> None:
    write(
        tmp_path,
        "remind.text.j2",
        '{% import "_macros.j2" as m %}{% for it in items %}{{ m.report_how(it, office) }}'
        "{% endfor %}|{{ m.contact(office) }}",
    )
    out = Renderer(OFFICE, tmp_path).render(
        Notice(7, Audience.UNIT_CONTACTS, (item("remind", 3),)), recipient_name="区应急局", at=AT
    )
    assert out.text.startswith("请将完成情况（可附佐证材料）报区安委办，登记命令：duban obligation")
    assert out.text.strip().endswith("|区安委办，值班电话 021-12345678，office@example.gov.cn")


def test_an_error_in_the_macros_names_that_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "_macros.j2",
        "{% macro report_how(it, office) %}\n{{ it.no_such_field }}{% endmacro %}"
        "{% macro contact(office) %}x{% endmacro %}",
    )
    with pytest.raises(RenderError) as err:
        Renderer(OFFICE, tmp_path).render(
            Notice(7, Audience.UNIT_CONTACTS, (item(),)), recipient_name="区应急局", at=AT
        )
    assert (err.value.file, err.value.line) == (str(path), 2)
    problems = check_templates(tmp_path)
    assert [(p.file, p.line) for p in problems] == [(str(path), 2)]


def test_macros_without_one_of_the_shared_lines_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "_macros.j2", "{% macro report_how(it, office) %}报送{% endmacro %}")
    with pytest.raises(RenderError) as err:
        Renderer(OFFICE, tmp_path).render(
            Notice(7, Audience.UNIT_CONTACTS, (item(),)), recipient_name="区应急局", at=AT
        )
    assert err.value.file == str(path) and "缺少宏 contact" in err.value.message


AT_RENDER = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)


def _one(renderer: Renderer) -> str:
    notice = Notice(unit_id=1, audience=Audience.UNIT_CONTACTS, items=(item(),))
    return renderer.render_or_fallback(notice, recipient_name="区应急局", at=AT_RENDER).text


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "循环次数超过上限",
        ),
        ("{{ 'x' * 100000000 }}", "重复结果过大"),
        ("{% for i in range(150000) %}{{ '督办' * 5 }}{% endfor %}", "输出超过"),
    ],
)
def test_an_override_over_its_budget_fails_fast_and_the_shipped_template_is_used(
    tmp_path: Path, body: str, why: str
) -> None:
    (tmp_path / "chase.text.j2").write_text(body, encoding="utf-8")
    renderer = Renderer(OFFICE, tmp_path)
    with pytest.raises(RenderError, match=why):
        renderer.render(
            Notice(unit_id=1, audience=Audience.UNIT_CONTACTS, items=(item(),)),
            recipient_name="区应急局",
            at=AT_RENDER,
        )
    text = _one(renderer)
    assert "开展危化品专项检查" in text  # the shipped chase wording, not nothing
    [error] = renderer.take_fallbacks()
    assert "chase.text.j2" in error and why in error


def test_an_override_linked_out_of_its_folder_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:$6$hash:19000:0:99999:7:::", encoding="utf-8")
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "chase.text.j2").symlink_to(secret)
    renderer = Renderer(OFFICE, folder)
    text = _one(renderer)
    assert "root:$6$hash" not in text and "开展危化品专项检查" in text
    [error] = renderer.take_fallbacks()
    assert "必须是模板目录内的普通文件" in error
    assert check_templates(folder, OFFICE)  # `duban templates check` names it too


@pytest.mark.parametrize(
    ("ref", "said"),
    [("5", "第 5 项"), ("3.2", "第 3.2 项"), ("附件-14", "附件第 14 项"), ("甲", "编号 甲")],
)
def test_it_says_a_task_number_as_a_sentence_does(ref: str, said: str) -> None:
    for kind in ("remind", "chase", "office"):
        out = Renderer(OFFICE).render(
            Notice(
                7,
                Audience.UNIT_CONTACTS,
                (item(kind, -2 if kind != "remind" else 3, task_ref=ref),),
            ),
            recipient_name="区应急局",
            at=AT,
        )
        for body in (out.text, out.html, out.markdown):
            assert said in body and "第 附件" not in body, (kind, body)
    digest = Renderer(OFFICE).render(
        Notice(None, Audience.OFFICE, (item("office", -3, task_ref=ref),), kind="digest"),
        recipient_name="区安委办",
        at=AT,
    )
    assert said in digest.text and said in digest.html


def test_it_does_not_say_today_on_the_friday_before_a_saturday_deadline() -> None:
    friday = datetime(2024, 3, 29, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Friday
    saturday = item("remind", 0, due=date(2024, 3, 30))
    out = Renderer(OFFICE).render(
        Notice(7, Audience.UNIT_CONTACTS, (saturday,)), recipient_name="区应急局", at=friday
    )
    for body in (out.text, out.html, out.markdown):
        assert "今天到期" not in body
        assert "今天是截止日（2024年3月30日（星期六））前的最后一个工作日" in body
    on_the_day = item("remind", 0, due=date(2024, 3, 29))
    out = Renderer(OFFICE).render(
        Notice(7, Audience.UNIT_CONTACTS, (on_the_day,)), recipient_name="区应急局", at=friday
    )
    assert "今天到期" in out.text


def test_it_says_overdue_only_above_items_that_are_overdue() -> None:
    late, soon = item("chase", -2), item("remind", 2, title="报送台账", obligation_id=42)
    both = Renderer(OFFICE).render(
        Notice(7, Audience.UNIT_CONTACTS, (late, soon)), recipient_name="区应急局", at=AT
    )
    for body in (both.text, both.html, both.markdown):
        assert "以下工作已超过截止日期" not in body
        assert "以下工作中 1 项已超过截止日期、其余即将到期" in body
    only_late = Renderer(OFFICE).render(
        Notice(7, Audience.UNIT_CONTACTS, (late,)), recipient_name="区应急局", at=AT
    )
    assert "以下工作已超过截止日期" in only_late.text
