"""`python -m duban …`: the same commands as `duban …` (how `duban serve` starts the pages)."""

from __future__ import annotations

from duban.cli import main

main()
