"""The scheduling core stays pure: no database, network or mail library, no clock reads."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SCHEDULES = Path(__file__).resolve().parents[2] / "schedules"
PURE = ["calendar", "rules", "policy", "machine", "recurrence", "simulate", "timeexpr", "obligation", "slots", "volume", "report", "bulletin", "assessment"]  # fmt: skip
BANNED_IMPORTS = {
    "sqlmodel", "sqlalchemy", "requests", "smtplib", "socket", "models", "notify", "flows",
    "httpx", "urllib", "psycopg", "prefect", "apscheduler", "aiosmtpd",
}  # fmt: skip
BANNED_CALLS = {"now", "utcnow", "today"}


def find_impurities(source: str) -> list[str]:
    """Return a description of each banned import or clock read in ``source``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
            if node.module == "time" and any(a.name == "time" for a in node.names):
                found.append(f"line {node.lineno}: from time import time")
        line = getattr(node, "lineno", 0)
        found += [f"line {line}: import {n}" for n in names if n.split(".")[0] in BANNED_IMPORTS]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr, base = node.func.attr, node.func.value
            if attr in BANNED_CALLS or (
                attr == "time" and isinstance(base, ast.Name) and base.id == "time"
            ):
                found.append(f"line {node.lineno}: call .{attr}()")
    return found


def existing_modules() -> list[Path]:
    """Return the pure modules that exist (timeexpr.py is written by another engineer)."""
    return [SCHEDULES / f"{name}.py" for name in PURE if (SCHEDULES / f"{name}.py").exists()]


@pytest.mark.parametrize("path", existing_modules(), ids=lambda p: p.name)
def test_it_keeps_the_scheduling_core_pure(path: Path) -> None:
    assert find_impurities(path.read_text(encoding="utf-8")) == []


def test_it_checks_the_core_modules() -> None:
    names = {p.stem for p in existing_modules()}
    assert {"calendar", "rules", "policy", "machine", "recurrence", "simulate"} <= names


@pytest.mark.parametrize(
    "snippet",
    [
        "import sqlmodel",
        "from sqlalchemy.orm import Session",
        "import requests",
        "import smtplib",
        "from socket import create_connection",
        "from models.tables import Obligation",
        "from notify import pipeline",
        "import flows.remind",
        "from datetime import datetime\nx = datetime.now()",
        "import datetime\nx = datetime.date.today()",
        "import time\nx = time.time()",
        "from time import time",
    ],
)
def test_it_catches_each_kind_of_impurity(snippet: str) -> None:
    assert find_impurities(snippet) != []


def test_it_allows_ordinary_pure_code() -> None:
    clean = "from datetime import date, timedelta\nimport bisect\nx = date(2024, 1, 1) + timedelta(days=1)"
    assert find_impurities(clean) == []
