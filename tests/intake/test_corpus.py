"""The real-plan corpus (tests/intake/corpus): every labelled document read as its label says.

Each document stands for a layout (see its label's ``layout``); a document scoring below its
floor names the layout the reader no longer reads. The floors are the scores measured when the
corpus was labelled (docs/benchmarks.md), less a small margin for harmless changes.
"""

from __future__ import annotations

import pytest

from intake import IntakeError, parse_path
from tests.intake.corpus_scoring import DocScore, corpus_files, score_reading

WORST = 0.80
MEAN = 0.95


def _score(index: int) -> DocScore:
    path, label = corpus_files()[index]
    try:
        out = parse_path(path).to_dict()
    except IntakeError as exc:
        return score_reading(path.stem, label, None, str(exc))
    return score_reading(path.stem, label, out)


@pytest.mark.parametrize("index", range(len(corpus_files())), ids=lambda i: f"c{i + 1:02d}")
def test_it_reads_each_corpus_layout(index: int) -> None:
    score = _score(index)
    layout = corpus_files()[index][1]["layout"]
    assert score.score >= WORST, f"{score} — {layout}"


def test_it_reads_the_corpus_on_average_as_a_clerk_would() -> None:
    scores = [_score(i) for i in range(len(corpus_files()))]
    assert sum(s.score for s in scores) / len(scores) >= MEAN


def test_it_keeps_each_address_and_label_with_its_document() -> None:
    files = corpus_files()
    assert len(files) >= 27
    for path, label in files:
        assert path.is_file(), path
        assert path.read_text(encoding="utf-8").splitlines()[0].startswith("http")
        assert label["source"] == path.read_text(encoding="utf-8").splitlines()[0]
