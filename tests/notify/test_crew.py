"""The pipeline's sender and recorder threads: every send recorded, bounded, failures surfaced."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from notify.pipeline import _Crew
from notify.retry import Attempt


def _ok() -> Attempt:
    time.sleep(0.001)
    return Attempt(True, 1, 1)


def test_every_send_is_recorded_once_and_no_more_than_room_are_unrecorded() -> None:
    lock = threading.Lock()
    unrecorded = [0, 0]  # now, most

    def record(batch: list[Any]) -> list[Any]:
        with lock:
            unrecorded[0] -= len(batch)
        return [job for job, _, _ in batch]

    def send() -> Attempt:
        with lock:
            unrecorded[0] += 1
            unrecorded[1] = max(unrecorded[1], unrecorded[0])
        return _ok()

    crew = _Crew(record, workers=4, room=8, window=0.01)
    for n in range(200):
        crew.submit(send, n, None)  # type: ignore[arg-type]
    results = crew.close()
    assert sorted(results) == list(range(200))
    assert unrecorded[0] == 0 and 1 <= unrecorded[1] <= 8


def test_a_failing_send_is_raised_to_the_caller_and_the_others_are_still_recorded() -> None:
    def boom() -> Attempt:
        raise RuntimeError("bug in a channel")

    recorded: list[Any] = []
    crew = _Crew(lambda batch: [recorded.append(j) for j, _, _ in batch], workers=2, room=8,
                 window=0.01)  # fmt: skip
    with pytest.raises(RuntimeError, match="bug in a channel"):
        try:
            crew.submit(boom, "bug", None)  # type: ignore[arg-type]
            for n in range(7):  # within the room: none of these waits for the failure
                crew.submit(_ok, n, None)  # type: ignore[arg-type]
            for n in range(7, 50):  # beyond it: the failure stops the caller, nothing hangs
                crew.submit(_ok, n, None)  # type: ignore[arg-type]
        finally:
            crew.close()  # as the pipeline does: the senders stop either way
    assert set(range(7)) <= set(recorded) and "bug" not in recorded  # their rows are recorded


def test_a_failing_record_is_raised_at_close() -> None:
    def record(batch: list[Any]) -> list[Any]:
        raise ConnectionError("database went away")

    crew = _Crew(record, workers=2, room=4, window=0.01)
    with pytest.raises(ConnectionError, match="database went away"):
        try:
            for n in range(20):
                crew.submit(_ok, n, None)  # type: ignore[arg-type]
        finally:
            crew.close()


def test_senders_start_only_as_work_arrives() -> None:
    crew = _Crew(lambda batch: [j for j, _, _ in batch], workers=4, room=8, window=0.0)
    crew.submit(_ok, "only", None)  # type: ignore[arg-type]
    assert crew.close() == ["only"]
    assert len(crew._senders) == 1
