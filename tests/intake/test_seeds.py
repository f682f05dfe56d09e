"""Score the five real seeds against ../shared/seeds/expected: every key of every file met exactly."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from intake import parse_path
from tests.intake.seed_scoring import score_document

SHARED = Path(__file__).parents[2] / ".." / "shared"
SEEDS = SHARED / "seeds"


def _seed_files() -> list[Path]:
    if not SEEDS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI 环境缺少种子目录 {SEEDS}")
        pytest.skip(f"没有种子目录 {SEEDS}")
    return sorted(SEEDS.glob("*.txt"))


def test_it_finds_all_five_seeds() -> None:
    files = _seed_files()
    assert len(files) == 5
    assert all((SEEDS / "expected" / f"{f.stem}.json").is_file() for f in files)


@pytest.mark.parametrize("stem", ["000", "001", "002", "003", "004"])
def test_it_meets_each_seed_exactly(stem: str) -> None:
    path = next(f for f in _seed_files() if f.name.startswith(stem))
    expected = json.loads((SEEDS / "expected" / f"{path.stem}.json").read_text(encoding="utf-8"))
    scores = score_document(expected, parse_path(path).to_dict())
    total = sum(scores.values()) / len(scores)
    print(f"{path.name}: {total:.3f} " + " ".join(f"{k}={v:.3f}" for k, v in scores.items()))
    assert all(v == 1.0 for v in scores.values()), scores


def test_it_imports_all_five_seeds_well_under_a_second() -> None:
    files = _seed_files()
    start = time.perf_counter()
    for path in files:
        parse_path(path)
    elapsed = time.perf_counter() - start
    print(f"five seeds: {elapsed * 1000:.0f} ms")
    assert elapsed < 1.0
