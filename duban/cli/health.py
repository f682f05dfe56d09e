"""What `duban doctor` reports, and the delivery state `duban status` shows when messages are in
trouble (read-only). The rest of `status` is duban/cli/status_view.py, which starts without the ORM."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from duban import runtime
from models.directory import Channel, Contact, Unit
from models.migrate import current_revision, head_revision
from models.repo.deliveries import Trouble, delivery_troubles, repeat_count, sending_now
from models.repo.resend import select_failed
from models.tables import Plan
from schedules.clock import OFFICE_TZ


def _count(session: Session, stmt: Any) -> int:
    return int(session.exec(stmt).one())


def delivery_state(session: Session) -> dict[str, Any]:
    """Messages waiting, failed for good, in flight, repeated; and the hosts they wait on."""
    failed = [r.id or 0 for r in select_failed(session)]
    troubles = delivery_troubles(session=session, failed_ids=failed)
    return {
        "messages_waiting": sum(t.waiting for t in troubles),
        "messages_failed": sum(t.failed for t in troubles),
        "messages_sending": sending_now(session=session),
        "messages_repeated": repeat_count(session=session),
        "failing_hosts": [_trouble(t) for t in troubles],
    }


def _trouble(t: Trouble) -> dict[str, Any]:
    settings = runtime.settings()
    name = t.host
    if t.channel_type == "email":
        relay = f"{settings.smtp_host}:{settings.smtp_port}" if settings.smtp_host else "发件箱"
        name = f"邮件服务器 {relay}"
    return {
        "host": name,
        "channel_type": t.channel_type,
        "waiting": t.waiting,
        "failed": t.failed,
        "items": t.rows,
        "since": t.since.astimezone(OFFICE_TZ).isoformat() if t.since else None,
        "last_error": t.last_error,
    }


def trouble_lines(info: dict[str, Any]) -> list[str]:
    """The hosts' lines for `status` and `doctor`, in Chinese."""
    lines = []
    for h in info["failing_hosts"]:
        since = (h["since"] or "")[:16].replace("T", " ")
        lines.append(
            f"{h['host']}：待重试 {h['waiting']} 条，永久失败 {h['failed']} 条，"
            f"自 {since} 起；最近错误：{h['last_error'] or '无'}"
        )
    return lines


def _check(name: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "ok": ok, "detail": detail}


def _policy() -> dict[str, Any]:
    """Which chase policy is in force: the shipped default or the file DUBAN_POLICY_FILE names."""
    from schedules.policy import PolicyError
    from schedules.policy_io import read_default_policy, read_policy_file

    path = runtime.settings().policy_file
    where = (
        f"DUBAN_POLICY_FILE 指定的 {path}"
        if path
        else "内置默认策略（schedules/default_policy.yaml）"
    )
    try:
        policies = read_policy_file(path) if path else read_default_policy()
    except PolicyError as exc:
        return _check("督办策略", False, f"{where}：{exc}")
    p = policies.default
    chase = "不限次数" if p.chase_max is None else f"最多 {p.chase_max} 次"
    leader = f"逾期 {p.leader_at} 个工作日逐项通报" if p.leader_at else "不逐项通报（领导每周汇总）"
    overrides = sum(len(t) for t in (policies.plans, policies.tasks, policies.milestones))
    detail = (
        f"生效：{where}；交办{'开' if p.assign else '关'}，催办{chase}，逾期 {p.office_at} 个工作日督办，"
        f"{leader}；文件内按计划/任务/节点的覆盖 {overrides} 处"
    )
    return _check("督办策略", True, detail)


def _pdf_font() -> dict[str, Any]:
    """The CJK font the PDF 通报 and 任务清单 need (duban/pdf.py)."""
    from duban.pdf import PdfError, cjk_font_path

    try:
        return _check("PDF 中文字体", True, str(cjk_font_path()))
    except PdfError as exc:
        return _check("PDF 中文字体", False, str(exc))


def _database() -> dict[str, Any]:
    try:
        eng = runtime.engine()
        cur, head = current_revision(eng), head_revision(eng)
    except Exception as exc:  # doctor reports, never crashes
        return _check("数据库", False, f"无法连接: {exc}")
    return _check(
        "数据库与迁移",
        cur == head,
        f"当前版本 {cur or '空'}，最新 {head}"
        + ("" if cur == head else "；请运行 duban db upgrade"),
    )


def _templates() -> dict[str, Any]:
    from notify.channels import office_info
    from notify.template_check import check_templates

    settings = runtime.settings()
    problems = check_templates(settings.templates_dir, office_info(settings.send_config()))
    detail = "全部模板渲染通过" if not problems else "；".join(str(p) for p in problems[:5])
    return _check("消息模板", not problems, detail)


def _channels(session: Session) -> dict[str, Any]:
    settings = runtime.settings()
    mail = (
        f"SMTP {settings.smtp_host}:{settings.smtp_port}"
        if settings.smtp_host
        else "发件箱（未设置 DUBAN_SMTP_HOST）"
    )
    no_mail = session.exec(
        select(Unit.name)
        .join(Channel, col(Channel.unit_id) == col(Unit.id))
        .where(Channel.type == "email")
        .where(
            ~select(Contact.id)
            .where(Contact.unit_id == Unit.id, col(Contact.email).is_not(None))
            .exists()
        )
    ).all()
    failing = _count(session, select(func.count()).where(col(Channel.failing).is_(True)))
    detail = f"邮件经 {mail}；失败渠道 {failing} 个" + (
        f"；有邮件渠道但无邮箱: {'、'.join(no_mail[:10])}" if no_mail else ""
    )
    return _check("渠道设置", not no_mail and failing == 0, detail)


def _mail_ca() -> dict[str, Any] | None:
    """DUBAN_SMTP_CA_FILE, when set: present, readable, and PEM certificates."""
    from notify.email import tls_context
    from notify.transport import TransportError

    settings = runtime.settings()
    path = settings.smtp_ca_file
    if path is None:
        return None
    try:
        count = tls_context(path).cert_store_stats()["x509"]
    except TransportError as exc:
        return _check("邮件服务器证书", False, str(exc))
    detail = f"DUBAN_SMTP_CA_FILE={path}，载入 {count} 个证书"
    if settings.smtp_tls == "none":
        detail += "；但 DUBAN_SMTP_TLS=none，邮件不加密，此证书不会被使用"
    return _check("邮件服务器证书", True, detail)


def _calendar(session: Session) -> dict[str, Any]:
    # The calendar file alone, not the flows' whole context: a broken policy file is its own check.
    from schedules.calendar_data import check_coverage, load_calendar

    today = runtime.current_time().astimezone(OFFICE_TZ).date()
    years = {today.year}
    for y, until in session.exec(
        select(Plan.year, Plan.until_year).where(Plan.status != "archived")
    ).all():
        if y:
            years.update(range(y, (until or y) + 1))
    calendar = load_calendar(runtime.settings().calendar_file)
    warnings = check_coverage(calendar, sorted(years))
    covered = sorted(calendar.covered_years)
    detail = (
        "；".join(warnings)
        if warnings
        else f"{min(years)}–{max(years)} 年均有官方节假日数据（已知 {covered[0]}–{covered[-1]}）"
    )
    return _check("工作日日历", not warnings, detail)


def collect_doctor() -> list[dict[str, Any]]:
    """Database and migrations, templates, the mail CA file (when set), channels, calendar."""
    checks = [_database()]
    if not checks[0]["ok"] and "无法连接" in checks[0]["detail"]:
        return checks
    checks.append(_templates())
    checks.append(_policy())
    checks.append(_pdf_font())
    mail_ca = _mail_ca()
    if mail_ca is not None:
        checks.append(mail_ca)
    with Session(runtime.migrated_engine()) as s:
        checks += [_channels(s), _delivery(s), _calendar(s), _office(s)]
    checks.append(_periodic())
    return checks


def _office(session: Session) -> dict[str, Any]:
    """Someone receives the office's digests and roll-call: DUBAN_OFFICE_EMAIL, or the office's own
    unit in the directory (kind office) with a contact that has an e-mail or a working channel."""
    from flows.digests import office_unit_id

    settings = runtime.settings()
    if settings.office_email:
        return _check(
            "办公室收件人", True, f"日报与点名发往 DUBAN_OFFICE_EMAIL={settings.office_email}"
        )
    unit_id = office_unit_id(settings.send_config(), session)
    if unit_id is None:
        return _check(
            "办公室收件人",
            False,
            "办公室日报、领导简报汇总与月度点名无人可收：未设置 DUBAN_OFFICE_EMAIL，单位目录中也没有"
            "类型为办公室的本单位（在 units.yaml 中加入 kind: 办公室 的单位及其邮箱后重新导入）",
        )
    unit = session.get(Unit, unit_id)
    emails = session.exec(
        select(Contact.email).where(Contact.unit_id == unit_id, col(Contact.email).is_not(None))
    ).all()
    robots = session.exec(
        select(Channel.type).where(Channel.unit_id == unit_id, Channel.type != "email")
    ).all()
    name = unit.name if unit else str(unit_id)
    if not emails and not robots:
        return _check(
            "办公室收件人", False, f"办公室单位 {name} 没有邮箱也没有机器人渠道：日报无人可收"
        )
    return _check(
        "办公室收件人",
        True,
        f"日报与点名发往单位目录中的办公室 {name}（{'、'.join([*emails, *robots][:5])}）",
    )


def _periodic() -> dict[str, Any]:
    from duban.cli.service import periodic_line
    from duban.cli.status_view import periodic_state

    with runtime.reading() as conn:
        jobs = periodic_state(conn, runtime.current_time())
    late = [j for j in jobs if j["late"]]
    detail = "；".join(periodic_line(j) for j in jobs)
    return _check("定期任务", not late, detail)


def _delivery(session: Session) -> dict[str, Any]:
    """Problem while any message waits for a retry or failed for good without being re-sent."""
    info = delivery_state(session)
    waiting, failed = info["messages_waiting"], info["messages_failed"]
    if not waiting and not failed:
        return _check("消息投递", True, "没有待重试或失败的消息")
    detail = f"待重试 {waiting} 条，永久失败未重发 {failed} 条；" + "；".join(
        trouble_lines(info)[:5]
    )
    if failed:
        detail += "；修复渠道后运行 duban notify failed / duban notify resend"
    return _check("消息投递", False, detail)
