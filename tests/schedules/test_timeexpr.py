"""Chinese time expressions → due dates and recurrences, from a table of what plans write."""

from __future__ import annotations

from datetime import date, datetime
from itertools import islice

import pytest
from dateutil.rrule import rrulestr

from schedules.timeexpr import (
    PlanContext,
    TimeExprError,
    convert_cn_number,
    default_milestone,
    find_event_phrase,
    find_time_expressions,
    is_open_ended,
    normalize_numerals,
    parse_time_phrase,
)

# A one-year plan for 2024 issued on 5 March, and a three-year plan 2024—2026.
ONE_YEAR = PlanContext(year=2024, start=date(2024, 3, 5), until=date(2024, 12, 31))
THREE_YEARS = PlanContext(year=2024, start=date(2024, 3, 5), until=date(2026, 12, 31))

DUE_CASES = [
    ("3月底前", ["2024-03-31"]),
    ("3月", ["2024-03-31"]),
    ("3月份", ["2024-03-31"]),
    ("2月", ["2024-02-29"]),
    ("4月上旬", ["2024-04-10"]),
    ("4月中旬", ["2024-04-20"]),
    ("4月下旬", ["2024-04-30"]),
    ("4月20日前", ["2024-04-20"]),
    ("年底前", ["2024-12-31"]),
    ("年内", ["2024-12-31"]),
    ("12月", ["2024-12-31"]),
    ("上半年", ["2024-06-30"]),
    ("下半年", ["2024-12-31"]),
    ("一季度", ["2024-03-31"]),
    ("第三季度", ["2024-09-30"]),
    ("二季度末", ["2024-06-30"]),
    ("6月底前完成", ["2024-06-30"]),
    ("2024年9月30日前", ["2024-09-30"]),
    ("二〇二四年十月二十六日前", ["2024-10-26"]),
    ("2024 年 11 月底前", ["2024-11-30"]),
    ("３月底前", ["2024-03-31"]),
    ("3-6月", ["2024-06-30"]),
    ("3月至5月", ["2024-05-31"]),
    # a period of days is due at its end
    ("6月1日至6月7日", ["2024-06-07"]),
    ("6月2日至30日", ["2024-06-30"]),
    ("4月15日—5月15日", ["2024-05-15"]),
]


@pytest.mark.parametrize(("phrase", "dues"), DUE_CASES)
def test_it_reads_one_year_deadlines(phrase: str, dues: list[str]) -> None:
    specs = parse_time_phrase(phrase, ONE_YEAR)
    assert [s.due.isoformat() for s in specs if s.due] == dues
    assert all(s.rrule is None and not s.is_default for s in specs)


MULTI_YEAR_CASES = [
    ("2024年-2025年", ["2025-12-31"]),
    ("2024年—2026年", ["2026-12-31"]),
    ("2025年底前", ["2025-12-31"]),
    ("2024年底前，培树2-3家企业；2026年底前，形成长效机制", ["2024-12-31", "2026-12-31"]),
    (
        "2024年对照创建标准自查；2025年明显提升。2026年基本达标",
        ["2024-12-31", "2025-12-31", "2026-12-31"],
    ),
    ("2025年3月底前完成，6月底前验收", ["2025-03-31", "2025-06-30"]),
    ("消除2023年及以前排查发现的隐患存量", []),
    ("重点对2000年以前建设的燃气管道进行评估", []),
]


@pytest.mark.parametrize(("text", "dues"), MULTI_YEAR_CASES)
def test_it_reads_years_in_a_multi_year_plan(text: str, dues: list[str]) -> None:
    specs = find_time_expressions(text, THREE_YEARS)
    assert [s.due.isoformat() for s in specs if s.due] == dues


def test_it_does_not_read_the_plan_year_alone_as_a_deadline_in_a_one_year_plan() -> None:
    assert find_time_expressions("高质量完成2024年市政府消防实事项目", ONE_YEAR) == []


RECURRENCE_CASES = [
    ("每月26日前", "FREQ=MONTHLY;BYMONTHDAY=26", "2024-03-26"),
    ("每月 26 日前报送", "FREQ=MONTHLY;BYMONTHDAY=26", "2024-03-26"),
    ("每月二十六日前", "FREQ=MONTHLY;BYMONTHDAY=26", "2024-03-26"),
    ("每季度至少召开一次会议", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1", "2024-03-31"),
    ("每年至少组织开展一次演练", "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31", "2024-12-31"),
    ("每年", "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31", "2024-12-31"),
    ("每月1次", "FREQ=MONTHLY;BYMONTHDAY=-1", "2024-03-31"),
    ("每周1次", "FREQ=WEEKLY;BYDAY=FR", "2024-03-08"),
    ("每半年", "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=-1", "2024-06-30"),
    ("每月第一周", "FREQ=MONTHLY;BYMONTHDAY=7", "2024-03-07"),
    ("每月底", "FREQ=MONTHLY;BYMONTHDAY=-1", "2024-03-31"),
    ("每年6月", "FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=-1", "2024-06-30"),
]


@pytest.mark.parametrize(("phrase", "rule", "first"), RECURRENCE_CASES)
def test_it_reads_recurrences_from_the_plan_start_to_the_period_end(
    phrase: str, rule: str, first: str
) -> None:
    (spec,) = find_time_expressions(phrase, THREE_YEARS)
    assert spec.rrule == rule
    assert spec.dtstart is not None and spec.dtstart.isoformat() == first
    assert spec.until == date(2026, 12, 31)
    assert spec.due is None


def test_it_anchors_quarterly_rules_on_quarter_ends() -> None:
    (spec,) = find_time_expressions("每季度", THREE_YEARS)
    assert spec.rrule is not None and spec.dtstart is not None
    rule = rrulestr(spec.rrule, dtstart=_midnight(spec.dtstart))
    days = [d.date().isoformat() for d in islice(iter(rule), 5)]
    assert days == ["2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31", "2025-03-31"]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


@pytest.mark.parametrize("phrase", ["长期坚持", "持续推进", "常态化开展", "适时组织"])
def test_it_gives_no_date_for_open_ended_phrases(phrase: str) -> None:
    assert parse_time_phrase(phrase, ONE_YEAR) == []
    assert is_open_ended(phrase)


def test_it_defaults_to_the_plan_year_end_and_says_so() -> None:
    spec = default_milestone(THREE_YEARS)
    assert spec.due == date(2024, 12, 31)
    assert spec.is_default


@pytest.mark.parametrize("phrase", ["2月30日前", "4月31日", "13月底前", "每月32日前"])
def test_it_rejects_impossible_dates(phrase: str) -> None:
    with pytest.raises(TimeExprError) as caught:
        parse_time_phrase(phrase, ONE_YEAR)
    assert "不存在" in str(caught.value)
    assert caught.value.source_text in normalize_numerals(phrase)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("二〇二四年", "2024年"),
        ("十二月二十六日", "12月26日"),
        ("三月底前", "3月底前"),
        ("2024 年 4 月 15 日", "2024年4月15日"),
        ("一岗双责、三年行动", "一岗双责、三年行动"),
    ],
)
def test_it_normalises_only_numerals_that_count_dates(text: str, expected: str) -> None:
    assert normalize_numerals(text) == expected


@pytest.mark.parametrize(
    ("numeral", "value"), [("二十六", 26), ("十", 10), ("十二", 12), ("二〇二四", 2024)]
)
def test_it_converts_chinese_numerals(numeral: str, value: int) -> None:
    assert convert_cn_number(numeral) == value


def test_it_finds_every_expression_in_prose_in_order_without_duplicates() -> None:
    text = "2024年5月底前下发汇编。2024年底前组织培训，每月26日前报送进展，年底前总结。"
    specs = find_time_expressions(text, THREE_YEARS)
    assert [(s.due and s.due.isoformat(), s.rrule) for s in specs] == [
        ("2024-05-31", None),
        ("2024-12-31", None),
        (None, "FREQ=MONTHLY;BYMONTHDAY=26"),
    ]
    assert [s.source_text for s in specs] == ["2024年5月底前", "2024年底前", "每月26日前"]


def test_a_daily_zero_report_over_a_period_is_a_daily_recurrence() -> None:
    text = "从9月10日至10月15日实行安全生产工作“零报告”制度"
    (spec,) = find_time_expressions(text, ONE_YEAR)
    assert (spec.rrule, spec.dtstart, spec.until) == (
        "FREQ=DAILY",
        date(2024, 9, 10),
        date(2024, 10, 15),
    )


def test_a_day_of_the_last_month_of_each_quarter() -> None:
    (spec,) = find_time_expressions("每季度最后一个月的30日前报送进展", ONE_YEAR)
    assert spec.rrule == "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=30"
    assert spec.dtstart == date(2024, 3, 30)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("开学初，各学校要召开会议", "开学初"),
        ("入汛前完成排查", "入汛前"),
        ("汛期前，各镇完成隐患整治", "汛期前"),
        ("节前开展一次安全检查", "节前"),
        ("春节期间加强值班", "春节期间"),
        ("各学校要加强安全教育", ""),
    ],
)
def test_it_finds_times_that_hang_on_an_event(text: str, phrase: str) -> None:
    assert find_event_phrase(text) == phrase
    assert find_time_expressions(text, ONE_YEAR) == []  # no date is invented for them


def test_a_report_named_by_its_period_recurs() -> None:
    (spec,) = find_time_expressions("认真落实专项跟踪督查、季度进展通报等各项工作", ONE_YEAR)
    assert spec.rrule == "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1"
    (spec,) = find_time_expressions("建立月度调度会商机制", ONE_YEAR)
    assert spec.rrule == "FREQ=MONTHLY;BYMONTHDAY=-1"
    assert find_time_expressions("第一季度工作总结", ONE_YEAR)[0].due == date(2024, 3, 31)
