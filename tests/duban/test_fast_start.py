"""The commands clerks type all day start without Prefect, the ORM or Alembic (a fresh process each).

The start-up times themselves are measured by bench/bench_cli_start.py (docs/benchmarks.md); these
tests hold the line that makes them possible: what each light command imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.types import TypeDecorator
from sqlmodel import AutoString, SQLModel

import models.directory
import models.tables
from duban import read_tables
from models.migrate import _head_from_alembic, _head_from_files, upgrade

HEAVY = ("prefect", "sqlmodel", "sqlalchemy.orm", "alembic", "jinja2", "apscheduler", "rich")
PROBE = """
import json, sys
sys.argv = ["duban", *json.loads(sys.argv[1])]
from duban.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _probe(args: list[str], env: dict[str, str]) -> tuple[int, set[str], str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["code"], set(result["modules"]), out.stdout


@pytest.fixture
def probe_env(cli_env: Path, db_url: str) -> dict[str, str]:
    from models.db import make_engine

    eng = make_engine(db_url)
    upgrade(eng)
    eng.dispose()
    return dict(os.environ)


@pytest.mark.parametrize(
    "args",
    [["--help"], ["status"], ["queue", "list"], ["obligation", "list"]],
    ids=["help", "status", "queue-list", "obligation-list"],
)
def test_it_starts_the_light_commands_without_prefect_or_the_orm(
    probe_env: dict[str, str], args: list[str]
) -> None:
    code, modules, out = _probe(args, probe_env)
    assert code in (0, None), out
    loaded = [m for m in HEAVY if m in modules or any(n.startswith(m + ".") for n in modules)]
    assert loaded == [], f"duban {' '.join(args)} imported {loaded}"
    # the help needs no database at all; the lists and status on a database at head read it
    # through the plain DB-API (duban/fast_db.py), without SQLAlchemy
    assert "sqlalchemy" not in modules, f"duban {' '.join(args)} imported SQLAlchemy"


def test_it_still_loads_prefect_where_a_command_runs_a_flow(probe_env: dict[str, str]) -> None:
    code, modules, out = _probe(["tick", "--json"], probe_env)
    assert code in (0, None), out
    assert "prefect" in modules  # the probe sees real imports: a lazy import is not a missing one


def test_it_mirrors_the_tables_it_reads_column_for_column() -> None:
    assert models.directory and models.tables  # registered on SQLModel.metadata
    for name, light in read_tables.metadata.tables.items():
        full = SQLModel.metadata.tables[name]
        for column in light.columns:
            assert column.name in full.columns, f"{name}.{column.name} is not in the ORM table"
            theirs, ours = full.columns[column.name].type, column.type
            if isinstance(theirs, AutoString):  # SQLModel's str column: a String underneath
                theirs = theirs.impl_instance
            if isinstance(ours, TypeDecorator):  # UTCDateTime, JSONValue: the very same type
                assert type(theirs) is type(ours), f"{name}.{column.name}: {theirs!r} vs {ours!r}"
            else:
                assert theirs.python_type is ours.python_type, f"{name}.{column.name}"


def test_it_knows_the_head_revision_without_alembic() -> None:
    from duban.fast_db import head_from_files

    assert _head_from_files() == _head_from_alembic(None) == head_from_files()


def test_it_names_a_database_newer_than_the_code(cli_env: Path, db_url: str) -> None:
    from sqlalchemy import text
    from typer.testing import CliRunner

    from duban import runtime
    from duban.cli import app
    from models.db import make_engine

    eng = make_engine(db_url)
    upgrade(eng)
    with eng.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    eng.dispose()
    runtime.reset()
    result = CliRunner().invoke(app, ["queue", "list"])
    assert result.exit_code == 2 and "数据库的版本 9999 比本程序新" in result.stderr
