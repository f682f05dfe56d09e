"""Benchmark: how well the importer reads the real-plan corpus, against the reader before it.

Run: ``.venv/bin/python bench/bench_intake_accuracy.py [--baseline REV] [--no-baseline]``.
Prints one row per document of tests/intake/corpus (duties labelled, tasks read, duties found,
units with roles, dates, score — see tests/intake/corpus_scoring.py), then the mean and the
worst, for the current reader and, measured in the same run, for the reader of ``REV`` (default
the commit before the clause-level reader, 852aa07), whose intake/ and schedules/ are taken with
``git archive`` and run in a subprocess. Then the same for tests/intake/corpus/heldout: documents
labelled after the reader was tuned on the corpus and not used to change it since.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.intake.corpus_scoring import (  # noqa: E402
    CORPUS,
    HELD_OUT,
    DocScore,
    corpus_files,
    score_reading,
)

BASELINE = "852aa07"
# Held-out rounds: (name, first and last document number), collected and labelled in this order.
ROUNDS = [("round 4", 1, 4), ("round 5", 5, 12), ("round 6", 13, 21)]
# Runs in the baseline's own tree: read every file, print {name: to_dict() or {"error": …}}.
_READ_ALL = """
import json, sys
from pathlib import Path
# The editable install's finder would map intake/ to this checkout whatever the path says.
sys.meta_path = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
from intake import IntakeError, parse_path
out = {}
for name in sys.argv[1:]:
    try:
        out[name] = parse_path(Path(name)).to_dict()
    except IntakeError as exc:
        out[name] = {"error": str(exc)}
print(json.dumps(out, ensure_ascii=False, default=str))
"""


def read_all(paths: list[Path], tree: Path | None) -> dict[str, Any]:
    """Each document read by the reader in ``tree`` (None: this checkout)."""
    where = tree or ROOT  # run there: ``-c`` puts the working directory first on the path
    cmd = [sys.executable, "-c", _READ_ALL, *(str(p.resolve()) for p in paths)]
    env = {"PYTHONPATH": str(where)}
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=where, check=True)
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def baseline_tree(rev: str, into: Path) -> Path:
    """intake/ and schedules/ of ``rev``, unpacked under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "intake", "schedules"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def score_all(readings: dict[str, Any], folder: Path = CORPUS) -> list[DocScore]:
    """Score every labelled document of ``folder`` from its reading."""
    scores = []
    for path, label in corpus_files(folder):
        out = readings[str(path.resolve())]
        error = out.get("error", "") if "error" in out else ""
        scores.append(score_reading(path.stem, label, None if error else out, error))
    return scores


def print_table(title: str, scores: list[DocScore]) -> None:
    """The per-document table, then the mean and the worst."""
    print(title)
    print(
        f"{'document':<34} {'duties':>6} {'read':>5} {'found':>6} {'units':>6} {'dates':>6} {'score':>6}"
    )
    for s in scores:
        note = f"  {s.error.split('：', 1)[-1][:40]}" if s.error else ""
        print(
            f"{s.name[:34]:<34} {s.duties:>6} {s.tasks_read:>5} {s.found:>6.2f} {s.units:>6.2f}"
            f" {s.dates:>6.2f} {s.score:>6.2f}{note}"
        )
    mean = sum(s.score for s in scores) / len(scores)
    worst = min(scores, key=lambda s: s.score)
    print(f"mean {mean:.3f}   worst {worst.score:.3f} ({worst.name})\n")


def print_rounds(title: str, scores: list[DocScore]) -> None:
    """Mean and worst of each held-out round (documents sNN, by number)."""
    print(title)
    for name, first, last in ROUNDS:
        part = [s for s in scores if first <= int(s.name[1:3]) <= last]
        if part:
            mean = sum(s.score for s in part) / len(part)
            worst = min(part, key=lambda s: s.score)
            print(
                f"{name} (s{first:02d}–s{last:02d}): mean {mean:.3f}   worst {worst.score:.3f} ({worst.name})"
            )
    print()


def main() -> int:
    """Print both tables and return 0."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    paths = [path for folder in (CORPUS, HELD_OUT) for path, _ in corpus_files(folder)]
    current = read_all(paths, None)
    print_table("current reader", score_all(current))
    baseline: dict[str, Any] = {}
    if not args.no_baseline:
        with tempfile.TemporaryDirectory() as tmp:
            baseline = read_all(paths, baseline_tree(args.baseline, Path(tmp)))
        print_table(f"baseline reader ({args.baseline})", score_all(baseline))
    held_out = score_all(current, HELD_OUT)
    print_table("held-out documents, current reader", held_out)
    print_rounds("held-out rounds, current reader", held_out)
    if baseline:
        held_base = score_all(baseline, HELD_OUT)
        print_table(f"held-out documents, baseline ({args.baseline})", held_base)
        print_rounds(f"held-out rounds, baseline ({args.baseline})", held_base)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
