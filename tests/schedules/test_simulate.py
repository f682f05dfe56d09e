from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime

import pytest

from schedules.calendar_data import load_calendar
from schedules.clock import OFFICE_TZ
from schedules.policy import LEGACY_POLICY, Policy
from schedules.simulate import SimObligation, render_timeline, simulate

CAL = load_calendar()
START = datetime(2024, 9, 1, tzinfo=OFFICE_TZ)
END = datetime(2024, 12, 31, 23, 59, tzinfo=OFFICE_TZ)
UNITS = ("区应急局", "区消防救援支队", "区市场监管局")
# A small plan: two monthly reports (26th) per unit, one one-off task led by 区应急局.
PLAN = [
    *(SimObligation(u, "月报", date(2024, m, 26), leaders=("副区长",)) for u in UNITS for m in (9, 10)),
    SimObligation("区应急局", "5", date(2024, 10, 8)),
    SimObligation("区消防救援支队", "5", date(2024, 10, 8), is_lead=False),
]  # fmt: skip


def test_it_shows_every_escalation_when_nobody_reports_under_the_legacy_policy() -> None:
    result = simulate(PLAN, LEGACY_POLICY, CAL, start=START, end=END, submit_rate=0, seed=1)
    leads = [ob for ob in PLAN if ob.is_lead]
    per_obligation = Counter((a.obligation, a.action.stage.value) for a in result.actions)
    for ob in leads:
        assert per_obligation[(ob, "remind")] == 3
        assert per_obligation[(ob, "office")] == 1
        assert per_obligation[(ob, "leader")] == 1
        assert per_obligation[(ob, "chase")] > 10
    support = PLAN[-1]
    assert {s for (ob, s) in per_obligation if ob == support} == {"remind"}
    assert result.totals["office"] == result.totals["leader"] == len(leads)
    assert result.totals["submitted"] == 0 and result.totals["max_level"] == 3
    assert result.totals["actions"] == len(result.actions)
    assert [a.action.at for a in result.actions] == sorted(a.action.at for a in result.actions)


def test_it_stops_chasing_units_that_report() -> None:
    result = simulate(PLAN, Policy(), CAL, start=START, end=END, submit_rate=1, seed=1)
    assert result.totals["submitted"] == len(PLAN)
    assert result.totals["leader"] == 0
    zero = simulate(PLAN, Policy(), CAL, start=START, end=END, submit_rate=0, seed=1)
    assert result.totals["actions"] < zero.totals["actions"]


def test_it_is_deterministic_for_a_seed() -> None:
    runs = [
        simulate(PLAN, Policy(), CAL, start=START, end=END, submit_rate=0.5, seed=s).to_json()
        for s in (7, 7, 8)
    ]
    assert runs[0] == runs[1]
    assert runs[0]["totals"]["obligations"] == runs[2]["totals"]["obligations"] == len(PLAN)


def test_it_prints_the_json_shape_of_the_cli() -> None:
    result = simulate(PLAN[:1], LEGACY_POLICY, CAL, start=START, end=END, submit_rate=0, seed=1)
    data = json.loads(json.dumps(result.to_json(), ensure_ascii=False))
    first = data["actions"][0]
    assert first == {
        "at": "2024-09-19T09:00:00+08:00",
        "stage": "remind",
        "level": 0,
        "unit": "区应急局",
        "task_ref": "月报",
        "due": "2024-09-26",
        "reason": "first_reminder",
        "seq": "remind-5@2024-09-26",
    }
    assert {a["stage"] for a in data["actions"]} == {"remind", "chase", "office", "leader"}
    assert {a["level"] for a in data["actions"]} == {0, 1, 2, 3}
    text = render_timeline(result)
    assert "2024-09-19（周四）" in text and "督办(L2) 区应急局" in text and "合计" in text


def test_it_warns_in_every_simulation_that_touches_an_unknown_year() -> None:
    late = [SimObligation("区应急局", "年度", date(2027, 3, 31))]
    end = datetime(2027, 4, 30, tzinfo=OFFICE_TZ)
    result = simulate(late, Policy(), CAL, start=datetime(2026, 12, 1, tzinfo=OFFICE_TZ), end=end)
    assert len(result.warnings) == 1 and "2027" in result.warnings[0]
    assert result.warnings[0] in render_timeline(result)
    quiet = simulate(PLAN, Policy(), CAL, start=START, end=END, submit_rate=0)
    assert quiet.warnings == ()


def test_it_puts_milestones_past_at_start_on_the_confirm_list() -> None:
    past = [SimObligation("区应急局", "1", date(2024, 8, 30))]
    result = simulate(past, Policy(), CAL, start=START, end=END, submit_rate=0)
    assert result.actions == () and result.totals["to_confirm"] == 1


def test_it_rejects_a_submit_rate_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="submit_rate"):
        simulate(PLAN, Policy(), CAL, start=START, end=END, submit_rate=1.5)


MONTHLY = [
    SimObligation(u, "月报", date(2024, m, 26), lapses_on=date(2024, m + 1, 26), assign=m == 9)
    for u in UNITS
    for m in (9, 10, 11)
] + [SimObligation("区应急局", "5", date(2024, 12, 20), assign=True)]


def test_it_bounds_the_chase_and_rolls_missed_reports_over_under_the_default() -> None:
    result = simulate(MONTHLY, Policy(), CAL, start=START, end=END, submit_rate=0, seed=1)
    chases = Counter(id(a.obligation) for a in result.actions if a.action.stage.value == "chase")
    assert max(chases.values()) == 2
    assert result.totals["leader"] == 0 and result.totals["max_level"] == 2
    assert result.totals["lapsed"] == len(UNITS) * 3  # every month closes when the next is due
    for a in result.actions:
        if a.obligation.lapses_on is not None and a.action.stage.value != "lapse":
            assert a.action.at.astimezone(OFFICE_TZ).date() < a.obligation.lapses_on
    first_day = [a for a in result.actions if a.action.at.date() == date(2024, 9, 2)]
    assert {a.obligation.unit for a in first_day if a.action.stage.value == "assign"} == set(UNITS)
    long_lead = [a for a in result.actions if a.obligation.task_ref == "5"]
    assert [a.action.reason.value for a in long_lead][:2] == ["assigned", "early_reminder"]


def test_it_measures_messages_per_unit_week_chases_and_queue_items() -> None:
    from schedules.volume import measure_volume, render_volume

    result = simulate(MONTHLY, Policy(), CAL, start=START, end=END, submit_rate=0, seed=1)
    volume = measure_volume(result.actions)
    assert volume.chase_max == 2 and volume.assigned_units == len(UNITS)
    # 督办 of the three units' reports fall on the same day: three queue items that day.
    assert volume.queue_day_max == 3 and volume.queue_items == len(UNITS) * 3 + 1
    assert volume.queue_day_units == 3
    unit = volume.units["区应急局"]
    # One message per unit, instant and audience: the 督办 goes to contacts and the head.
    sent = {
        (a.action.at, r.value)
        for a in result.actions
        if a.obligation.unit == "区应急局"
        for r in a.action.recipients
        if r.value in ("unit_contacts", "unit_head")
    }
    assert unit.messages == len(sent) and unit.chase_max == 2
    assert unit.week_max >= unit.week_median >= 1
    assert volume.messages == sum(v.messages for v in volume.units.values())
    text = "\n".join(render_volume(volume))
    assert "单项催办最多 2 次" in text and "督办队列单日新增督办单最多 3 张" in text
    assert volume.queue_lines == volume.queue_items  # one duty per unit and day here
    legacy = measure_volume(
        simulate(MONTHLY, LEGACY_POLICY, CAL, start=START, end=END, submit_rate=0, seed=1).actions
    )
    assert legacy.chase_max > 10 and legacy.messages > volume.messages


def test_it_counts_one_queue_sheet_per_unit_level_and_day() -> None:
    from schedules.volume import measure_volume

    # Two units with three duties each, all due the same day: six lines on two 督办单.
    obs = [SimObligation(u, ref, date(2024, 9, 26)) for u in UNITS[:2] for ref in ("1", "2", "3")]
    volume = measure_volume(
        simulate(obs, Policy(), CAL, start=START, end=END, submit_rate=0, seed=1).actions
    )
    assert (volume.queue_day_max, volume.queue_day_units, volume.queue_day_lines) == (2, 2, 6)
    assert (volume.queue_items, volume.queue_lines) == (2, 6)
