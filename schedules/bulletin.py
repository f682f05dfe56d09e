"""The monthly 通报's text, from the figures of `schedules/report.MonthReport` (no I/O).

The text is the draft the office edits: a title with the issue number, the summary, a table of
completion by unit (worst first), the comparison with last month, what is late and since when, and
what was escalated. Plain text with aligned tables, so it reads the same in the console, the CLI and
an e-mail.
"""

from __future__ import annotations

from schedules.report import COLOUR_LABEL, MonthReport, month_label, percent

LEVEL_NAMES = {1: "催办", 2: "督办", 3: "通报"}


def issue_number(year: int, number: int) -> str:
    """〔2024〕第3期."""
    return f"〔{year}〕第{number}期"


def render_bulletin(report: MonthReport, *, title: str, number: str | None) -> str:
    """The 通报's draft text."""
    t = report.totals
    p = report.previous_totals
    head = f"{title}工作任务落实情况通报"
    lines = [head, number or "（未编号草稿）", ""]
    lines.append(
        f"截至{report.as_of.year}年{report.as_of.month}月{report.as_of.day}日零时，"
        f"{month_label(report.month)}到期任务共 {t.due} 项次："
        f"按时完成 {t.on_time} 项次，逾期完成 {t.late} 项次，逾期未完成 {t.overdue} 项次，"
        f"逾期未报 {t.lapsed} 项次；按时完成率 {percent(t.on_time_rate)}"
        f"（上月 {percent(p.on_time_rate)}），完成率 {percent(t.completion)}"
        f"（上月 {percent(p.completion)}）。"
    )
    if t.extended or t.escalated:
        lines.append(f"其中经批准延期 {t.extended} 项次，已督办 {t.escalated} 项次。")
    lines.append(f"累计逾期未办结 {report.late_total} 项次（上月末 {p.open_overdue} 项次）。")
    lines += ["", "一、各单位完成情况（按逾期多少排列）"]
    lines.append(
        "单位 | 应完成 | 按时 | 逾期完成 | 逾期未完成 | 逾期未报 | 延期 | 督办 | 累计逾期 | 按时率 | 状态"
    )
    for r in report.ranked_units():
        lines.append(
            f"{r.unit} | {r.due} | {r.on_time} | {r.late} | {r.overdue} | {r.lapsed} | "
            f"{r.extended} | {r.escalated} | {r.open_overdue} | {percent(r.on_time_rate)} | "
            f"{COLOUR_LABEL[r.colour]}"
        )
    lines += ["", "二、与上月比较"]
    moved = [c for c in report.changes if c.completion_delta or c.overdue_now != c.overdue_before]
    if not moved:
        lines.append("各单位与上月持平。")
    for c in moved:
        delta = c.completion_delta
        d = "—" if delta is None else f"{delta * 100:+.1f} 个百分点"
        lines.append(
            f"{c.unit}：完成率 {percent(c.completion_now)}（上月 {percent(c.completion_before)}，{d}），"
            f"累计逾期 {c.overdue_now} 项次（上月 {c.overdue_before}）"
        )
    lines += ["", "三、逾期未完成事项（自截止日起）"]
    if not report.late_items:
        lines.append("无。")
    for i in report.late_items:
        flag = f"，已{LEVEL_NAMES[i.level]}" if i.level in LEVEL_NAMES else ""
        flag += "，已延期" if i.extended else ""
        lines.append(
            f"{i.unit}：任务{i.task_ref}「{i.task_title}」{i.milestone}，"
            f"{i.due_on.isoformat()} 到期，已逾期 {i.days_late} 天{flag}"
        )
    if report.late_total > len(report.late_items):
        lines.append(
            f"（另有 {report.late_total - len(report.late_items)} 项次未列出，见任务清单）"
        )
    lines += ["", f"四、本月督办事项（{report.escalation_total} 项次）"]
    if not report.escalations:
        lines.append("无。")
    for e in report.escalations:
        lines.append(
            f"{e.opened_on.isoformat()} {LEVEL_NAMES.get(e.level, '督办')}：{e.unit} "
            f"任务{e.task_ref}「{e.task_title}」（{e.due_on.isoformat()} 到期）"
        )
    if report.escalation_total > len(report.escalations):
        lines.append(f"（另有 {report.escalation_total - len(report.escalations)} 项次未列出）")
    return "\n".join(lines) + "\n"
