from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schedules import clock


def test_it_honours_duban_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUBAN_NOW", "2024-09-19T09:05:00+08:00")
    assert clock.now() == datetime(2024, 9, 19, 1, 5, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)


def test_it_reads_the_real_clock_without_duban_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUBAN_NOW", raising=False)
    before = clock.utc_now()
    got = clock.now()
    assert got.tzinfo is not None
    assert before <= got <= clock.utc_now()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2024-09-19T09:05:00", "缺少时区偏移"),
        ("2024-19-19T09:05:00+08:00", "不是有效的 ISO 8601"),
        ("tomorrow", "不是有效的 ISO 8601"),
    ],
)
def test_it_rejects_naive_or_malformed_duban_now(
    monkeypatch: pytest.MonkeyPatch, text: str, fragment: str
) -> None:
    monkeypatch.setenv("DUBAN_NOW", text)
    with pytest.raises(ValueError, match=fragment) as info:
        clock.now()
    assert "DUBAN_NOW" in str(info.value)


def test_it_keeps_the_offset_when_parsing() -> None:
    got = clock.parse_aware("2024-09-19T09:05:00+08:00")
    assert got.utcoffset() == timedelta(hours=8)
    assert got.astimezone(clock.OFFICE_TZ).hour == 9
