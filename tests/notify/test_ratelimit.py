"""The robots' limits: no window ever holds more than its count, waits keep arrival order."""

from __future__ import annotations

import pytest

from notify.ratelimit import FEISHU_LIMITS, RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def sends(limits: list[tuple[int, float]], count: int, gap: float = 0.0) -> list[float]:
    t = FakeTime()
    limiter = RateLimiter(limits, clock=t.clock, sleep=t.sleep)
    out = []
    for _ in range(count):
        limiter.acquire("https://robot/send?access_token=a")
        out.append(t.now)
        t.now += gap
    return out


@pytest.mark.parametrize(
    ("limits", "count", "gap"),
    [([(20, 60.0)], 65, 0.0), ([(20, 60.0)], 50, 1.7), (list(FEISHU_LIMITS), 230, 0.05)],
)
def test_it_never_lets_a_window_hold_more_than_its_count(
    limits: list[tuple[int, float]], count: int, gap: float
) -> None:
    times = sends(limits, count, gap)
    assert len(times) == count  # nobody dropped
    assert times == sorted(times)  # first come, first served
    for n, period in limits:
        for i, start in enumerate(times):
            assert sum(1 for t in times[i:] if t < start + period) <= n


def test_it_sends_a_burst_then_waits_for_the_window() -> None:
    times = sends([(20, 60.0)], 41)
    assert times[:20] == [0.0] * 20 and times[20:40] == [60.0] * 20 and times[40] == 120.0


def test_it_keeps_robots_apart() -> None:
    t = FakeTime()
    limiter = RateLimiter([(1, 60.0)], clock=t.clock, sleep=t.sleep)
    assert [limiter.acquire(url) for url in ("a", "b", "a")] == [0.0, 0.0, 60.0]


@pytest.mark.parametrize("limits", [[], [(0, 60.0)], [(20, 0.0)]])
def test_it_refuses_meaningless_limits(limits: list[tuple[int, float]]) -> None:
    with pytest.raises(ValueError, match="限速设置无效"):
        RateLimiter(limits)
