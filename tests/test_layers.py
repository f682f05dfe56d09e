"""The layout holds: nothing below the interfaces imports duban; the CLI and the pages meet only in
the shared modules (docs/architecture.md, "Packages and who may do I/O").

duban/ is the edge: `duban/cli/` (the terminal), `duban/web/` (the pages) and what both use
(settings, runtime, labels, directory reader, read-side views, reports). flows/, schedules/,
notify/, models/ and intake/ are below it and get what they need as plain values (notify's
`SendConfig`, the flows' context provider, models' directory specs).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BELOW = ("flows", "schedules", "notify", "models", "intake")
# `python -m duban` is the CLI's own entry (it runs duban.cli.main); it is part of the CLI.
CLI_ENTRIES = {ROOT / "duban" / "__main__.py"}


def imported_modules(source: str) -> list[tuple[int, str]]:
    """Every module `source` imports, anywhere: top level, inside functions, under TYPE_CHECKING,
    and through importlib.import_module / __import__ with a literal name."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from duban import cli` names the module duban.cli, not only the package
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def _is(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def offences(path: Path, banned: tuple[str, ...]) -> list[str]:
    """`path:line: import X` for each import of a banned package in the file."""
    rel = path.relative_to(ROOT)
    return [
        f"{rel}:{line}: import {name}"
        for line, name in imported_modules(path.read_text(encoding="utf-8"))
        if any(_is(name, b) for b in banned)
    ]


def _files(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py"))


def test_it_finds_every_kind_of_import() -> None:
    source = """
import duban
from duban.settings import Settings
from duban import runtime
if TYPE_CHECKING:
    from duban.directory import UnitSpec
def later():
    import duban.cli.common
    importlib.import_module("duban.runtime")
    __import__("duban.web")
import dubanx
from . import duban
"""
    names = [n for _, n in imported_modules(source) if _is(n, "duban")]
    assert names == [
        "duban",
        "duban.settings",
        "duban.settings.Settings",
        "duban",
        "duban.runtime",
        "duban.directory",
        "duban.directory.UnitSpec",
        "duban.cli.common",
        "duban.runtime",
        "duban.web",
    ]


@pytest.mark.parametrize("folder", BELOW)
def test_it_keeps_the_lower_packages_free_of_duban(folder: str) -> None:
    files = _files(folder)
    assert files, f"{folder}/ has no Python files"
    found = [o for p in files for o in offences(p, ("duban",))]
    assert found == [], "below the interfaces, nothing imports duban:\n" + "\n".join(found)


def test_it_keeps_the_pages_and_the_cli_apart() -> None:
    web = [o for p in _files("duban/web") for o in offences(p, ("duban.cli",))]
    cli = [o for p in [*_files("duban/cli"), *CLI_ENTRIES] for o in offences(p, ("duban.web",))]
    assert web == [], "the pages import the CLI:\n" + "\n".join(web)
    # `duban web` names the app to uvicorn as the string "duban.web.app:create_app" (it starts
    # the pages' server, it does not import them); an import would show here.
    assert cli == [], "the CLI imports the pages:\n" + "\n".join(cli)


def test_it_keeps_the_shared_modules_below_both_interfaces() -> None:
    shared = [p for p in _files("duban") if p.parent == ROOT / "duban" and p not in CLI_ENTRIES]
    assert {p.stem for p in shared} >= {"settings", "runtime", "labels", "directory"}
    found = [o for p in shared for o in offences(p, ("duban.cli", "duban.web"))]
    assert found == [], "a shared module imports an interface:\n" + "\n".join(found)


PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(*modules: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *modules],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_it_loads_the_pages_without_the_cli_and_the_cli_without_the_pages() -> None:
    pages = ["duban.web.app", "duban.web.api", "duban.web.office", "duban.web.portal"]
    pages += ["duban.web.reports", "duban.web.calendar"]
    assert not {m for m in _loaded(*pages) if _is(m, "duban.cli")}
    assert not {m for m in _loaded("duban.cli") if _is(m, "duban.web")}
