"""Helpers shared by the CLI modules: clean errors, typed arguments, paging, JSON output.

Imports only the standard library and Typer: every CLI module imports this at start-up.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from typing import Any, NoReturn

import typer

MAX_ID = 2**63 - 1  # the databases' BIGINT; a larger id would overflow in the driver
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


class InputError(ValueError):
    """Bad input a command found itself; reported as one `错误:` line, exit code 2."""


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear error line to stderr and exit non-zero (inside a transaction: rolled back)."""
    typer.echo(f"错误: {message}", err=True)
    raise typer.Exit(code)


def print_json(obj: Any) -> None:
    """Print one JSON document (UTF-8, Chinese readable)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


def parse_date(text: str, name: str = "日期") -> date:
    """2024-10-31, 2024/10/31, 2024.10.31 or 2024年10月31日."""
    found = _DATE.match(text.strip())
    try:
        if found is None:
            raise ValueError
        return date(*(int(g) for g in found.groups()))
    except ValueError:
        raise InputError(
            f"{name} 应为日期，如 2024-10-31、2024/10/31 或 2024年10月31日，收到 {text!r}"
        ) from None


def _date_value(text: str | date) -> date:
    if isinstance(text, date):
        return text
    try:
        return parse_date(text, "")
    except InputError:
        raise typer.BadParameter(
            f"应为日期，如 2024-10-31、2024/10/31 或 2024年10月31日，收到 {text!r}"
        ) from None


def _id_value(text: str | int) -> int:
    value = str(text).strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise typer.BadParameter(f"应为正整数编号，收到 {text!r}")
    return int(value)


def _count_value(text: str | int) -> int:
    value = str(text).strip()
    if not value.isdigit() or int(value) > MAX_ID:
        raise typer.BadParameter(f"应为非负整数，收到 {text!r}")
    return int(value)


def id_argument(help: str, metavar: str = "编号") -> Any:
    """A required positive id (1 … 2^63-1): anything else is refused before any work."""
    return typer.Argument(..., metavar=metavar, help=help, parser=_id_value)


def id_option(*names: str, help: str, metavar: str = "编号") -> Any:
    """An optional positive id."""
    return typer.Option(None, *names, metavar=metavar, help=help, parser=_id_value)


def date_option(*names: str, help: str, required: bool = False) -> Any:
    """A date typed as 2024-10-31, 2024/10/31 or 2024年10月31日."""
    return typer.Option(
        ... if required else None, *names, metavar="日期", help=help, parser=_date_value
    )


def limit_option(default: int = 50) -> Any:
    """--limit: rows per page."""
    return typer.Option(
        default,
        "--limit",
        metavar="条数",
        help=f"每页显示的条数（默认 {default}）",
        parser=_count_value,
        show_default=False,
    )


def offset_option() -> Any:
    """--offset: rows to skip."""
    return typer.Option(
        0,
        "--offset",
        metavar="条数",
        help="跳过前面的条数（翻页，默认 0）",
        parser=_count_value,
        show_default=False,
    )


def all_option() -> Any:
    """--all: every row, no paging."""
    return typer.Option(False, "--all", help="列出全部（不分页）")


def json_option() -> Any:
    """--json: one JSON document on stdout."""
    return typer.Option(False, "--json", help="以 JSON 输出")


def page_footer(shown: int, total: int, offset: int, noun: str = "条") -> str:
    """共 N 条, and which slice of them was shown, with how to see the next page."""
    if total == 0:
        return f"共 0 {noun}"
    if shown >= total:
        return f"共 {total} {noun}"
    if shown == 0:
        return f"共 {total} {noun}，--offset {offset} 之后没有了"
    end = offset + shown
    more = f"；下一页加 --offset {end}，全部加 --all" if end < total else ""
    return f"共 {total} {noun}，显示第 {offset + 1}–{end} {noun}{more}"


def format_duration(seconds: float) -> str:
    """A span in days and hours (minutes when under a day), as the office says it."""
    total = int(seconds)
    if total < 60:
        return "不到 1 分钟" if total > 0 else "0"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} 天 {hours} 小时" if hours else f"{days} 天"
    minutes = rest // 60
    if hours:
        return f"{hours} 小时 {minutes} 分钟" if minutes else f"{hours} 小时"
    return f"{minutes} 分钟"
