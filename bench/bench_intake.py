"""Benchmark: import the five seeds N times; compare with just reading and splitting them.

Run: ``.venv/bin/python bench/bench_intake.py [--repeat N] [--seeds DIR]``. Prints one row per
file (median milliseconds per import, and per baseline read+split) and the totals' ratio,
both measured in the same run so that the machine's speed cancels out.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intake import parse_path  # noqa: E402
from intake.units import clear_caches  # noqa: E402

DEFAULT_SEEDS = ROOT / ".." / "shared" / "seeds"


def read_and_split(path: Path) -> int:
    """The baseline: what any importer must do at least — read the file and split its lines."""
    return len(path.read_text(encoding="utf-8").splitlines())


def import_plan(path: Path) -> int:
    """The measured work: a full import, as ``duban import --dry-run`` does it, read as if for
    the first time (the unit-list caches emptied)."""
    clear_caches()
    return len(parse_path(path).tasks)


def time_ms(work: Callable[[Path], int], path: Path, repeat: int) -> float:
    """Median wall time of ``repeat`` runs, in milliseconds (monotonic clock)."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        work(path)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    """Print the table and return 0."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS)
    args = parser.parse_args()
    files = sorted(args.seeds.glob("*.txt"))
    if not files:
        print(f"没有找到种子文件：{args.seeds}", file=sys.stderr)
        return 1
    for path in files:  # warm up imports and regex caches once, outside the timing
        import_plan(path)
    print(f"{'file':<28} {'lines':>6} {'tasks':>6} {'import ms':>10} {'baseline ms':>12}")
    total_import = total_base = 0.0
    for path in files:
        ms = time_ms(import_plan, path, args.repeat)
        base = time_ms(read_and_split, path, args.repeat)
        total_import += ms
        total_base += base
        print(
            f"{path.name:<28} {read_and_split(path):>6} {import_plan(path):>6} {ms:>10.2f} {base:>12.3f}"
        )
    print(f"{'all five seeds':<28} {'':>6} {'':>6} {total_import:>10.2f} {total_base:>12.3f}")
    print(f"ratio import/baseline: {total_import / total_base:.0f}x (repeat={args.repeat}, median)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
