"""Helpers shared by the CLI modules: clean errors and JSON output."""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, NoReturn

import typer


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear error line to stderr and exit non-zero."""
    typer.echo(f"错误: {message}", err=True)
    raise typer.Exit(code)


def print_json(obj: Any) -> None:
    """Print one JSON document (UTF-8, Chinese readable)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


def mask_secret(value: str | None) -> str:
    """Show enough of a secret to recognise it, never the whole of it."""
    if not value:
        return ""
    if len(value) <= 8:
        return "***"
    return f"{value[:3]}…{value[-3:]}"


@functools.lru_cache(maxsize=4096)  # the pipeline labels every robot message with it
def mask_url(url: str) -> str:
    """Hide access tokens and keys carried in a robot's URL query or path."""
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = "&".join(f"{k}={mask_secret(v)}" for k, v in pairs)
    path = parts.path
    if "/hook/" in path:  # Feishu puts the token in the path
        head, token = path.rsplit("/hook/", 1)
        path = f"{head}/hook/{mask_secret(token)}"
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))
