from __future__ import annotations

from dataclasses import fields
from datetime import time
from pathlib import Path

import pytest

from schedules.policy import _COERCE, Policy, PolicyError, PolicySet, merge, parse_policy
from schedules.policy_io import read_default_policy, read_policy_file


def test_it_ships_a_default_file_equal_to_the_dataclass_defaults() -> None:
    shipped = read_default_policy()
    assert shipped.default == Policy()
    assert Policy().remind_offsets == (5, 2, 0)
    assert (Policy().office_at, Policy().leader_at) == (3, 0)
    assert (Policy().chase_after, Policy().chase_every, Policy().chase_max) == (1, 1, 2)
    assert (Policy().early_lead, Policy().early_offsets, Policy().early_unit) == (60, (30,), "days")
    assert Policy().assign
    assert {f.name for f in fields(Policy)} == set(_COERCE)


def test_it_merges_an_override_and_keeps_the_rest() -> None:
    got = merge(Policy(), {"remind_offsets": [0, 7, 3], "send_time": "10:30", "chase_every": 2})
    assert got.remind_offsets == (7, 3, 0)
    assert got.send_time == time(10, 30)
    assert got.chase_every == 2
    assert (got.leader_at, got.chase_max) == (0, 2)


@pytest.mark.parametrize(
    ("override", "field_name"),
    [
        ({"remind_offsets": [5, 5]}, "remind_offsets"),
        ({"remind_offsets": [-1]}, "remind_offsets"),
        ({"remind_offsets": "5,2"}, "remind_offsets"),
        ({"send_time": "08:00"}, "send_time"),
        ({"send_time": "nine"}, "send_time"),
        ({"window_start": "18:00"}, "window_start"),
        ({"chase_after": 0}, "chase_after"),
        ({"chase_every": -1}, "chase_every"),
        ({"office_at": 12, "leader_at": 10}, "office_at"),
        ({"office_at": -1}, "office_at"),
        ({"office_at": 0, "chase_after": 2, "progress_office_at": 1}, "progress_office_at"),
        ({"progress_office_at": -1}, "progress_office_at"),
        ({"chase_max": -1}, "chase_max"),
        ({"chase_max": "two"}, "chase_max"),
        ({"remind_unit": "weeks"}, "remind_unit"),
        ({"early_offsets": [30, 30]}, "early_offsets"),
        ({"early_lead": -5}, "early_lead"),
        ({"assign": "yes"}, "assign"),
        ({"leader_at": "ten"}, "leader_at"),
        ({"support_reminders": "yes"}, "support_reminders"),
        ({"remind_ofsets": [1]}, "remind_ofsets"),
    ],
)
def test_it_names_the_field_in_validation_errors(
    override: dict[str, object], field_name: str
) -> None:
    with pytest.raises(PolicyError) as info:
        merge(Policy(), override, where="tasks.7")
    assert field_name in str(info.value)
    assert "tasks.7" in str(info.value)


POLICY_YAML = """
default:
  chase_every: 2
  window_end: 17:30        # unquoted: YAML 1.1 reads this as 1050 minutes
plans:
  青徐府发〔2024〕11号:
    remind_offsets: [3, 0]
tasks:
  "001:7":
    office_at: 5
milestones:
  m-42:
    leader_at: 20
"""


def test_it_resolves_plan_then_task_then_milestone() -> None:
    ps = parse_policy(POLICY_YAML, source="policy.yaml")
    assert ps.default.chase_every == 2
    assert ps.default.window_end == time(17, 30)
    plan = ps.resolve(plan="青徐府发〔2024〕11号")
    assert plan.remind_offsets == (3, 0) and plan.office_at == 3
    task = ps.resolve(plan="青徐府发〔2024〕11号", task="001:7")
    assert task.remind_offsets == (3, 0) and task.office_at == 5
    ms = ps.resolve(plan="青徐府发〔2024〕11号", task="001:7", milestone="m-42")
    assert (ms.office_at, ms.leader_at, ms.chase_every) == (5, 20, 2)
    assert ps.resolve(plan="other", task="other") == ps.default


def test_it_reads_toml_too(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        'default = { send_time = "09:30" }\n[tasks."3"]\nchase_every = 0\n', encoding="utf-8"
    )
    ps = read_policy_file(path)
    assert ps.default.send_time == time(9, 30)
    assert ps.resolve(task="3").chase_every == 0


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("defaults: {}", "未知顶层字段 'defaults'"),
        ("tasks:\n  '5':\n    leader_at: 2", "tasks.5"),
        ("tasks: [1, 2]", "tasks"),
        ("default: {send_time: [", "YAML 格式错误"),
    ],
)
def test_it_validates_overrides_at_load(text: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="p.yaml")
    assert "p.yaml" in str(info.value)
    assert fragment in str(info.value)


def test_it_refuses_unknown_file_types(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"policy\.json"):
        read_policy_file(path)


def test_it_keeps_an_empty_policy_set_at_defaults() -> None:
    assert PolicySet().resolve(plan="x", task="y", milestone="z") == Policy()


def test_it_reads_the_new_fields_and_a_null_limit() -> None:
    text = """
default:
  chase_max: null
  early_unit: workdays
  early_offsets: [20, 10]
  leader_at: 10
milestones:
  "1/5/m1":
    remind_unit: days
    remind_offsets: [7, 0]
"""
    policies = parse_policy(text)
    assert policies.default.chase_max is None
    assert (policies.default.early_unit, policies.default.early_offsets) == ("workdays", (20, 10))
    override = policies.resolve(milestone="1/5/m1")
    assert (override.remind_unit, override.remind_offsets, override.leader_at) == (
        "days",
        (7, 0),
        10,
    )
