"""The pure pieces behind the pages: signed links, file names and types, red/yellow/green."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from models.repo.boards import bucket_of, rag_of
from models.repo.evidence import EvidenceError, EvidenceStore, clean_name
from models.tokens import TokenError, form_key, load_secret, mint_unit_token, read_unit_token

T0 = datetime(2024, 9, 19, 1, 5, tzinfo=UTC)
KEY = b"s" * 32


def test_it_signs_links_for_one_unit_until_they_expire() -> None:
    token = mint_unit_token(KEY, 7, issued=T0, expires=T0 + timedelta(days=45))
    got = read_unit_token(KEY, token, now=T0 + timedelta(days=44))
    assert (got.unit_id, got.issued_at, got.expires_at) == (7, T0, T0 + timedelta(days=45))
    assert len(token) < 60  # fits a chat message comfortably
    with pytest.raises(TokenError) as late:
        read_unit_token(KEY, token, now=T0 + timedelta(days=45))
    assert late.value.reason == "expired"
    _unit, rest = token.split(".", 1)
    for forged in (f"8.{rest}", token[:-2] + "xx", token + ".", "garbage", ""):
        with pytest.raises(TokenError) as bad:
            read_unit_token(KEY, forged, now=T0)
        assert bad.value.reason == "bad", forged
    with pytest.raises(TokenError):
        read_unit_token(b"other-secret", token, now=T0)
    assert form_key(KEY, token) != form_key(KEY, mint_unit_token(KEY, 8, issued=T0, expires=T0))


def test_it_creates_the_secret_once_and_private(tmp_path: Path) -> None:
    first = load_secret(tmp_path)
    assert first == load_secret(tmp_path) and len(first) >= 48
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0
    assert load_secret(tmp_path, "configured") == b"configured"


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\张三\\检查报告.pdf", "检查报告.pdf"),
        (".hidden.pdf", "hidden.pdf"),
        ("a\x00b\x1f<>:|?*.png", "ab.png"),
        ("", "未命名"),
        ("长" * 300 + ".pdf", "长" * 107 + ".pdf"),
    ],
)
def test_it_cleans_file_names(given: str, shown: str) -> None:
    assert clean_name(given) == shown


def test_it_refuses_a_disallowed_suffix_before_any_byte(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path, max_bytes=100, quota_bytes=1000)
    for name in ("run.exe", "macro.xlsm", "page.html", "noext", "x.svg"):
        with pytest.raises(EvidenceError) as refused:
            store.stage(name)
        assert refused.value.status == 415
    staged = store.stage("ok.txt")
    with pytest.raises(EvidenceError) as big:
        staged.write(b"x" * 101)
    assert big.value.status == 413 and not staged.path.exists()


@pytest.mark.parametrize(
    ("status", "level", "due", "rag"),
    [
        ("open", 0, date(2024, 11, 1), "green"),
        ("reminded", 0, date(2024, 9, 24), "yellow"),
        ("overdue", 1, date(2024, 9, 17), "yellow"),
        ("overdue", 1, date(2024, 9, 10), "red"),
        ("escalated", 2, date(2024, 9, 18), "red"),
        ("submitted", 2, date(2024, 9, 1), "green"),
        ("accepted", 3, date(2024, 9, 1), "done"),
        ("to_confirm", 0, date(2024, 12, 1), "yellow"),
        ("to_confirm", 0, date(2024, 1, 1), "yellow"),
    ],
)
def test_it_colours_duties_as_leaders_read_them(
    status: str, level: int, due: date, rag: str
) -> None:
    assert rag_of(status, level >= 2, bucket_of(due, date(2024, 9, 19))) == rag


def test_it_never_brings_the_scheduler_into_the_web_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from duban.web.app import create_app\n"
        "create_app()\n"
        "bad = [m for m in sys.modules if m.startswith(('apscheduler', 'schedules.service', "
        "'flows.tick', 'flows.jobs', 'notify.pipeline'))]\n"
        "assert not bad, bad\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DUBAN_HOME": str(tmp_path),
        "DUBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _secret_of(home: Path, start: Any, out: Any) -> None:
    start.wait()
    out.put(load_secret(home))


def test_workers_starting_together_share_one_whole_secret(tmp_path: Path) -> None:
    """`duban web --workers N` on a fresh home: every worker reads the same, complete key (a
    worker that saw the file before its creator wrote it once signed links with an empty key)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    for round_ in range(40):
        home = tmp_path / f"h{round_}"
        start, out = ctx.Barrier(6), ctx.Queue()
        procs = [ctx.Process(target=_secret_of, args=(home, start, out)) for _ in range(6)]
        for p in procs:
            p.start()
        keys = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
        assert len(set(keys)) == 1 and len(keys[0]) >= 48
        assert [p.name for p in home.iterdir()] == ["secret.key"]  # no temporary left behind


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("\n")
    with pytest.raises(ValueError, match="密钥文件是空的"):
        load_secret(tmp_path)
