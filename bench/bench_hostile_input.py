"""Peak memory and time of hostile input against the same command on ordinary input, in one run.

    .venv/bin/python bench/bench_hostile_input.py [--bomb-gb 2] [--evidence-gb 2]

Each row runs the real `duban` in a fresh process and reads its peak resident memory
(getrusage of the child) and wall time:
- a .docx zip bomb: `--bomb-gb` GB of XML (default 2, as the probe's 7 MB file), against
  importing the example district plan (.md);
- YAML "billion laughs" (9 levels: 387 million values when expanded) as a unit directory,
  against importing the example directory (1,700 lines);
- a `--evidence-gb` GB 佐证 file (sparse) given to `obligation submit`: refused by the 20 MB
  default cap, and streamed whole (hashed on the way) with the cap raised past it, against a
  1 MB file.
Targets (issue #12): each hostile case under 300 MB peak and refused within seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DUBAN = str(Path(sys.executable).parent / "duban")
EXAMPLES = ROOT / "examples"
MB = 1024 * 1024


_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(f'PEAK_KB={peak}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run(args: list[str], env: dict[str, str]) -> tuple[int, float, float, str]:
    """Exit code, seconds, peak RSS of `duban args` (MB), its last line of output.

    A fresh wrapper process runs the command, so RUSAGE_CHILDREN is that one command's peak.
    """
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, DUBAN, *args], env=env, capture_output=True, timeout=900
    )
    elapsed = time.perf_counter() - started
    err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    peak_kb = int(next(line for line in reversed(err) if line.startswith("PEAK_KB="))[8:])
    said = [line for line in err if not line.startswith("PEAK_KB=")]
    said = said or proc.stdout.decode("utf-8", "replace").strip().splitlines()
    return proc.returncode, elapsed, peak_kb / 1024, said[-1] if said else ""


def docx_bomb(path: Path, gigabytes: float) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            chunk = b"<w:p><w:r><w:t>" + "安".encode() * 300_000 + b"</w:t></w:r></w:p>"
            for _ in range(int(gigabytes * 1024 * MB) // len(chunk)):
                f.write(chunk)
    return path


def yaml_bomb(path: Path) -> Path:
    text = 'a: &a ["哈","哈","哈","哈","哈","哈","哈","哈","哈"]\n'
    prev = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [{','.join(['*' + prev] * 9)}]\n"
        prev = name
    text += "units:\n  - name: 区应急局\ngroups:\n  - {name: 各街镇, members: *i}\n"
    path.write_text(text, encoding="utf-8")
    return path


def sparse(path: Path, size: int, head: bytes = b"%PDF-1.4\n") -> Path:
    with path.open("wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bomb-gb", type=float, default=2.0)
    parser.add_argument("--evidence-gb", type=float, default=2.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="duban-bench-hostile-"))
    env = {k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG"))}
    env.update(
        DUBAN_HOME=str(tmp / "home"),
        DUBAN_DATABASE_URL=f"sqlite:///{tmp / 'duban.db'}",
        DUBAN_NOW="2024-03-04T09:00:00+08:00",
        DUBAN_ACTOR="bench",
    )
    started = time.perf_counter()
    bomb = docx_bomb(tmp / "bomb.docx", args.bomb_gb)
    made = time.perf_counter() - started
    print(
        f"zip bomb: {bomb.stat().st_size / MB:.1f} MB file, {args.bomb_gb:g} GB of XML"
        f" (made in {made:.0f} s)"
    )
    rows: list[tuple[str, str, tuple[int, float, float, str]]] = []
    units = EXAMPLES / "units.yaml"
    rows.append(("目录 baseline", "examples/units.yaml", run(["units", "import", str(units)], env)))
    rows.append(
        ("目录", "YAML bomb", run(["units", "import", str(yaml_bomb(tmp / "b.yaml"))], env))
    )
    plan = EXAMPLES / "plans" / "2024_区安全生产工作要点.md"
    rows.append(("计划 baseline", plan.name, run(["import", str(plan), "--json"], env)))
    rows.append(("计划", ".docx zip bomb", run(["import", str(bomb)], env)))
    run(["plan", "activate", "1"], env)
    small = sparse(tmp / "1MB.pdf", MB)
    huge = sparse(tmp / "huge.pdf", int(args.evidence_gb * 1024 * MB))
    listed = subprocess.run(
        [DUBAN, "obligation", "list", "--json", "--limit", "3"], env=env, capture_output=True
    )
    items = json.loads(listed.stdout)["items"]

    def submit(n: int, file: Path) -> list[str]:
        ob, unit = str(items[n]["id"]), items[n]["unit"]
        return ["obligation", "submit", ob, "--unit", unit, "--file", str(file)]

    rows.append(("佐证 baseline", "1 MB", run(submit(0, small), env)))
    rows.append(("佐证", f"{args.evidence_gb:g} GB, 20 MB cap", run(submit(1, huge), env)))
    streamed_env = dict(env, DUBAN_EVIDENCE_MAX_MB=str(args.evidence_gb * 1024 + 1),
                        DUBAN_EVIDENCE_QUOTA_MB=str(args.evidence_gb * 2048))  # fmt: skip
    rows.append(("佐证", f"{args.evidence_gb:g} GB streamed", run(submit(2, huge), streamed_env)))

    print(
        f"\n{'input':<14}{'case':<24}{'exit':>5}{'seconds':>9}{'peak MB':>9}{'× base':>8}  result"
    )
    base = {"目录": rows[0][2], "计划": rows[2][2], "佐证": rows[4][2]}
    worst = 0.0
    for what, case, (code, secs, peak, last) in rows:
        kind = what.split()[0]
        ratio = peak / base[kind][2]
        if "baseline" not in what:
            worst = max(worst, peak)
        print(f"{what:<14}{case:<24}{code:>5}{secs:>9.2f}{peak:>9.0f}{ratio:>8.2f}  {last[:70]}")
    print(f"\nworst hostile peak: {worst:.0f} MB (target < 300 MB)")
    for path in (bomb, huge, small):
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
