"""`duban quickstart`: the main job on the embedded default (SQLite file, examples loaded)."""

from __future__ import annotations

from pathlib import Path

import typer

from duban import runtime
from duban.cli_common import fail
from duban.directory import DirectoryError, load_directory
from models.migrate import current_revision, upgrade
from models.repo.units import apply_directory

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def quickstart(
    fresh: bool = typer.Option(True, "--fresh/--keep", help="先删除旧的 SQLite 数据库，重新开始"),
    examples: Path = typer.Option(EXAMPLES, "--examples", help="示例目录（units.yaml 与 plans/）"),
) -> None:
    """主流程：新建 SQLite 数据库、迁移到最新、载入示例单位目录与示例计划，并打印载入结果。"""
    settings = runtime.settings()
    url = settings.resolved_database_url
    if fresh and url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    eng = runtime.engine()
    upgrade(eng)
    typer.echo(f"数据库: {settings.redacted()['database_url']}（版本 {current_revision(eng)}）")
    try:
        spec = load_directory(examples / "units.yaml")
    except DirectoryError as exc:
        fail(str(exc))
    with runtime.transaction() as session:
        report = apply_directory(
            session=session, spec=spec, now=runtime.current_time(), actor="quickstart"
        )
    typer.echo(
        f"单位目录 {examples / 'units.yaml'}: 单位 {len(spec.units)} 个（新增 {len(report.created)}），"
        f"分组 {len(spec.groups)} 个"
    )
    for group in spec.groups:
        typer.echo(f"  分组 {group.name}: {len(group.members)} 个成员")
