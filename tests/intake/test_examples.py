"""The example plans in examples/plans parse cleanly, and name only units a directory holds."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from intake import parse_path

ROOT = Path(__file__).parents[2]
PLANS = ROOT / "examples" / "plans"
UNITS = ROOT / "examples" / "units.yaml"


def _directory_names() -> set[str]:
    data = yaml.safe_load(UNITS.read_text(encoding="utf-8"))
    names: set[str] = set()
    for entry in [*data.get("units", []), *data.get("groups", [])]:
        names.add(entry["name"])
        names.update(entry.get("aliases", []))
    return names


@pytest.mark.parametrize("path", sorted(PLANS.iterdir()), ids=lambda p: p.name)
def test_it_parses_each_example_plan_naming_only_directory_units(path: Path) -> None:
    plan = parse_path(path)
    assert len(plan.tasks) >= 10
    assert all(t.lead_units for t in plan.tasks if t.ref.isdigit() or t.ref.startswith("附件"))
    named = {u for t in plan.tasks for u in t.lead_units + t.support_units}
    if UNITS.is_file():
        assert named <= _directory_names(), sorted(named - _directory_names())


def test_it_reads_the_three_year_plan_schedule() -> None:
    plan = parse_path(PLANS / "2024-2026_镇安全生产治本攻坚三年行动方案.md")
    assert (plan.meta.year, plan.meta.until_year) == (2024, 2026)
    assert plan.meta.issued_on is not None and plan.meta.issued_on.isoformat() == "2024-03-04"
    milestones = [m for t in plan.tasks for m in t.milestones]
    dues = {m.due.isoformat() for m in milestones if m.due}
    assert {"2024-03-31", "2024-04-20", "2024-12-31", "2025-12-31", "2026-12-31"} <= dues
    rules = {m.rrule for m in milestones if m.rrule}
    assert "FREQ=MONTHLY;BYMONTHDAY=26" in rules
    assert "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1" in rules
    assert all(
        m.until is not None and m.until.isoformat() == "2026-12-31" for m in milestones if m.rrule
    )
