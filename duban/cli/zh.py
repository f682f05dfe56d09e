"""The command line's Chinese face: help pages with no English line, and one `错误:` line for every error.

Typer 0.29 carries its own copy of Click whose strings ("Usage:", "Show this message and exit.",
"No such option") are fixed in the code, not looked up through gettext; the group and command
classes here write the help in Chinese, and `RootGroup.main` turns every Click usage error and every
error a command raises into one line naming what was wrong, with exit code 2 for bad input.
`--debug` (anywhere on the line, or DUBAN_DEBUG=1) prints the traceback as well.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
import traceback
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import typer
from typer import core as typer_core
from typer._click import exceptions as click_errors
from typer.core import TyperCommand, TyperGroup

# Typer's own labels do go through gettext, as `typer.core._`.
_TYPER_TEXT = {
    "Options": "选项",
    "Arguments": "参数",
    "Commands": "命令",
    "required": "必填",
    "(dynamic)": "（动态）",
    "Aborted!": "已中止",
    "Missing command.": "缺少子命令",
}
_TYPER_PATTERNS = {"default: {default}": "默认: {default}", "env var: {var}": "环境变量: {var}"}


def _typer_gettext(message: str) -> str:
    return _TYPER_TEXT.get(message) or _TYPER_PATTERNS.get(message, message)


# typer.core has `from gettext import gettext as _`, a private name it does not export.
typer_core._ = _typer_gettext  # type: ignore[attr-defined]  # replacing Typer's private gettext


def _light_coercion() -> None:
    """Parse str options and options with our own parser without building pydantic adapters.

    Typer 0.29 builds a pydantic TypeAdapter for every parameter of the command that runs (about
    0.1 s for a list's ten options here); the values of ours are plain text or go through our
    parsers anyway. Anything else (paths, numbers) keeps Typer's own coercion. If Typer's
    internals move, this does nothing and commands are only slower.
    """
    try:
        from typer._coercion import RuntimeParam
    except ImportError:  # pragma: no cover - another Typer
        return
    build = getattr(typer_core, "build_runtime_param", None)
    if build is None:  # pragma: no cover
        return

    class _Parsed(RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            parser = self.parameter_info.parser
            if self.annotation is bool:  # a flag: Click hands over a bool already
                return value if isinstance(value, bool) else str(value).lower() in _TRUE
            if parser is None:
                return value if isinstance(value, str) else str(value)
            try:
                return parser(value)
            except click_errors.BadParameter as exc:
                exc.param, exc.ctx = exc.param or param, exc.ctx or ctx
                raise

    def runtime_param(descriptor: Any) -> Any:
        info, kind = descriptor.parameter_info, descriptor.annotation
        plain = kind in (str, bool) or kind == (str | None) or getattr(info, "parser", None)
        if plain and descriptor.file_annotation is None:
            return _Parsed(parameter_info=info, annotation=kind)
        return build(descriptor)

    typer_core.build_runtime_param = runtime_param  # type: ignore[attr-defined]


_TRUE = ("1", "true", "yes", "on")
_light_coercion()
HELP_TEXT = "显示本帮助并退出"
_TYPE_DISPLAY = re.compile(r" <[a-z][a-z ]*>")
BAD_INPUT = 2
# Errors that mean "the input is wrong", by the module that defines them: the handler must not
# import a module (and what it imports) only to test for its error class.
USER_ERRORS = (
    ("duban.settings", "SettingsError"),
    ("duban.directory", "DirectoryError"),
    ("duban.office_views", "ViewError"),
    ("duban.cli.common", "InputError"),
    ("models.repo.plan_rows", "PlanError"),
    ("models.repo.queue", "QueueError"),
    ("schedules.machine", "TransitionError"),
    ("schedules.policy", "PolicyError"),
    ("schedules.timeexpr", "TimeExprError"),
    ("schedules.recurrence", "RecurrenceError"),
    ("schedules.calendar_data", "CalendarDataError"),
    ("intake.errors", "IntakeError"),
    ("intake.review_format", "CellError"),
)
_OS_ERRORS = {
    errno.ENOENT: "文件或目录不存在",
    errno.EACCES: "没有权限",
    errno.EISDIR: "是一个目录，不是文件",
    errno.ENOTDIR: "路径中有一段不是目录",
    errno.ENAMETOOLONG: "文件名太长",
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "文件系统只读",
}


def _width(text: str) -> int:
    """Columns on a terminal: a Chinese character takes two (Click counts one)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _write_rows(formatter: Any, rows: list[tuple[str, str]]) -> None:
    """Click's write_dl, with columns aligned for Chinese metavars (help text left unwrapped)."""
    col = min(max(_width(first) for first, _ in rows), 30)
    indent = " " * formatter.current_indent
    for first, help_text in rows:
        pad = col - _width(first)
        if pad < 0:  # too long for the column: help on the next line
            formatter.write(f"{indent}{first}\n")
            formatter.write(f"{indent}{' ' * (col + 2)}{help_text}\n" if help_text else "")
        else:
            formatter.write(f"{indent}{first}{' ' * pad}  {help_text}".rstrip() + "\n")


class _Chinese:
    """Usage line and help option in Chinese (mixed into Typer's command and group classes)."""

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        usage = re.sub(r"\{([^{}]+)\}", r"\1", " ".join(pieces))  # Typer braces required arguments
        formatter.write_usage(ctx.command_path, usage, prefix="用法: ")

    def format_options(self, ctx: Any, formatter: Any) -> None:
        args: list[tuple[str, str]] = []
        opts: list[tuple[str, str]] = []
        for param in self.get_params(ctx):  # type: ignore[attr-defined]
            record = param.get_help_record(ctx)
            if record is not None:
                # Typer shows the Python type (<int>, <path>) after the name: the metavar says it.
                name = _TYPE_DISPLAY.sub("", record[0])
                (args if param.param_type_name == "argument" else opts).append((name, record[1]))
        for title, rows in (("参数", args), ("选项", opts)):
            if rows:
                with formatter.section(title):
                    _write_rows(formatter, rows)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_TEXT
        return option


class ChineseCommand(_Chinese, TyperCommand):
    """A command whose help is Chinese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["options_metavar"] = "[选项]"
        super().__init__(*args, **kwargs)


class ChineseGroup(_Chinese, TyperGroup):
    """A group of commands whose help is Chinese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["options_metavar"] = "[选项]"
        kwargs["subcommand_metavar"] = "命令 [参数]..."
        kwargs["rich_markup_mode"] = None
        super().__init__(*args, **kwargs)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        super().format_options(ctx, formatter)
        self.format_commands(ctx, formatter)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            known = "、".join(self.list_commands(ctx))
            raise click_errors.UsageError(f"没有命令“{name}”（可用: {known}）", ctx)
        return super().resolve_command(ctx, args)


class DubanTyper(typer.Typer):
    """typer.Typer with Chinese help everywhere and no rich formatting (it costs start-up time)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", ChineseGroup)
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("add_completion", False)
        kwargs.setdefault("rich_markup_mode", None)
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, **kwargs: Any) -> Callable[..., Any]:
        kwargs.setdefault("cls", ChineseCommand)
        return super().command(name, **kwargs)


class RootGroup(ChineseGroup):
    """The `duban` group: runs the command and reports any error as one Chinese line."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv or os.environ.get("DUBAN_DEBUG") == "1"
        argv = [a for a in argv if a != "--debug"]
        with masked_output():
            code = run_guarded(
                lambda: super(RootGroup, self).main(
                    argv, prog_name="duban", standalone_mode=False, **extra
                ),
                debug=debug,
            )
        if standalone_mode:
            sys.exit(code)
        return code


@contextlib.contextmanager
def masked_output() -> Iterator[None]:
    """Everything the command prints or logs goes through the one masking rule (notify/mask.py)."""
    from notify.mask import MaskingStream, install_log_masking

    install_log_masking()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = MaskingStream(saved[0]), MaskingStream(saved[1])
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = saved


def run_guarded(call: Callable[[], Any], *, debug: bool) -> int:
    """Run the command line; return the exit code, every error reported on one `错误:` line."""
    try:
        result = call()
        return result if isinstance(result, int) else 0
    except click_errors.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        return 0
    except typer.Exit as exc:
        return int(exc.exit_code)
    except click_errors.UsageError as exc:
        return _report(usage_message(exc), BAD_INPUT, debug)
    except typer.Abort:
        return _report("已中止", 1, debug)
    except KeyboardInterrupt:
        return 130
    except MemoryError:
        return _report("内存不足（输入是否过大？）", 1, debug)
    except Exception as exc:  # every other error: one line, the traceback only with --debug
        message, code = describe(exc)
        return _report(message, code, debug)


def _report(message: str, code: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    hint = "" if debug or code == BAD_INPUT else "（加 --debug 可查看详细的出错位置）"
    typer.echo(f"错误: {message}{hint}", err=True)
    return code


def describe(exc: BaseException) -> tuple[str, int]:
    """The one line (and exit code) that tells the office what went wrong."""
    if is_user_error(exc):
        return str(exc), BAD_INPUT
    if isinstance(exc, OSError):
        reason = _OS_ERRORS.get(exc.errno or 0, exc.strerror or str(exc))
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{reason}", BAD_INPUT if exc.errno in _OS_ERRORS else 1
    db_errors = sys.modules.get("sqlalchemy.exc")
    if db_errors is not None and isinstance(exc, db_errors.DBAPIError):
        return f"数据库操作失败: {str(exc.orig).strip() or type(exc.orig).__name__}", 1
    return f"内部错误 {type(exc).__name__}: {exc}", 1


def is_user_error(exc: BaseException) -> bool:
    """True for the errors that name bad input (settings, files, arguments, states)."""
    for module_name, class_name in USER_ERRORS:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return True
    return False


def _hint(exc: click_errors.UsageError) -> str:
    if exc.ctx is None:
        return ""
    return f"（用法见 {exc.ctx.command_path} --help）"


def usage_message(exc: click_errors.UsageError) -> str:
    """A Click usage error in Chinese, naming the option or argument."""
    hint = _hint(exc)
    if isinstance(exc, click_errors.NoSuchOption):
        near = f"；是否想用 {'、'.join(sorted(exc.possibilities))}" if exc.possibilities else ""
        return f"没有选项 {exc.option_name}{near}{hint}"
    if isinstance(exc, click_errors.MissingParameter):
        return f"缺少{_param_name(exc.param)}{hint}"
    if isinstance(exc, click_errors.BadParameter):
        return f"{_param_name(exc.param)} 的值无效: {_bad_value(exc.message)}{hint}"
    if isinstance(exc, click_errors.BadOptionUsage):
        if "requires an argument" in exc.message:
            return f"选项 {exc.option_name} 后面需要一个值{hint}"
        if "does not take a value" in exc.message:
            return f"选项 {exc.option_name} 不带值{hint}"
    extra = re.match(r"Got unexpected extra argument(?:\(s\)|s)? \((.*)\)", exc.message)
    if extra:
        return f"多余的参数: {extra.group(1)}{hint}"
    return f"{exc.message}{hint}"


def _param_name(param: Any) -> str:
    if param is None:
        return "参数"
    if getattr(param, "param_type_name", "") == "option":
        return f"选项 {max(param.opts, key=len)}"
    return f"参数 {getattr(param, 'metavar', None) or getattr(param, 'name', '')}"


_PYDANTIC = {
    r"valid integer": "应为整数",
    r"valid number": "应为数字",
    r"greater than or equal to (\S+)": "应不小于 {0}",
    r"greater than (\S+)": "应大于 {0}",
    r"less than or equal to (\S+)": "应不大于 {0}",
    r"less than (\S+)": "应小于 {0}",
    r"valid boolean": "应为 true 或 false",
    r"does not exist": "文件不存在",
    r"is a directory": "是一个目录，不是文件",
}


def _bad_value(message: str) -> str:
    """Typer's own value errors are English (pydantic's wording): the common ones in Chinese."""
    if re.search(r"[\u4e00-\u9fff]", message):
        return message
    for pattern, text in _PYDANTIC.items():
        found = re.search(pattern, message)
        if found:
            return text.format(*found.groups())
    return f"无法识别（{message}）"
