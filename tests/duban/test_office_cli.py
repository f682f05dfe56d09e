"""The office's commands tell the truth and refuse cleanly: one `错误:` line, exit 2, nothing written.

On the small office of tests/flows/conftest.py (directory, a five-task plan activated 2024-09-02,
SMTP and a webhook on 127.0.0.1).
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from tests.flows.conftest import Office, days, office, run, tick_at

__all__ = ["office"]  # the fixture, imported for these tests


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _snapshot() -> dict[str, object]:
    """Everything a command could write: obligation states and every row count that matters."""
    with runtime.engine().connect() as conn:
        states = conn.execute(
            text("SELECT id, status, due_on, escalation_level, version FROM obligation ORDER BY id")
        ).all()
        counts = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("audit_event", "queue_item", "submission", "extension_request", "delivery")
        }
        queue = conn.execute(text("SELECT id, status, acked_by FROM queue_item ORDER BY id")).all()
    return {
        "states": [tuple(r) for r in states],
        "counts": counts,
        "queue": [tuple(r) for r in queue],
    }


def _refusals(office: Office, tmp: Path) -> list[tuple[list[str], str]]:
    ob = str(office.ob_id("1", "区应急局"))
    support = str(office.ob_id("1", "区建管委"))
    fifo = tmp / "fifo.txt"
    os.mkfifo(fifo)
    link = tmp / "link.pdf"
    link.symlink_to("/etc/hostname")
    huge = tmp / "汇报材料.pdf"  # 2 GB, sparse: refused by its size before a byte is copied
    with huge.open("wb") as f:
        f.write(b"%PDF-1.4\n")
        f.truncate(2 * 1024**3)
    return [
        (
            ["obligation", "submit", ob, "--unit", "区应急局", "--file", str(huge)],
            "有 2048 MB，超过 20 MB 的大小限制",
        ),
        (["obligation", "extend", ob, "--to", "2023-01-01", "--reason", "x"], "必须晚于原截止日"),
        (["obligation", "extend", ob, "--to", "2024-09-03", "--reason", "x"], "必须晚于原截止日"),
        (["obligation", "extend", ob, "--to", "2024-13-01", "--reason", "x"], "--to 的值无效"),
        (
            [
                "obligation",
                "request-extension",
                ob,
                "--unit",
                "不存在的单位",
                "--to",
                "2024-10-31",
                "--reason",
                "x",
            ],
            "目录中没有名为“不存在的单位”的单位",
        ),
        (
            [
                "obligation",
                "request-extension",
                ob,
                "--unit",
                "区房管局",
                "--to",
                "2024-10-31",
                "--reason",
                "x",
            ],
            "不是义务 #",
        ),
        (["obligation", "submit", support, "--unit", "区应急局"], "不是义务 #"),
        (
            ["obligation", "submit", ob, "--unit", "区应急局", "--file", str(tmp / "none.pdf")],
            "无法读取",
        ),
        (["obligation", "submit", ob, "--unit", "区应急局", "--file", str(tmp)], "只接受普通文件"),
        (["obligation", "submit", ob, "--unit", "区应急局", "--file", str(fifo)], "只接受普通文件"),
        (
            ["obligation", "submit", ob, "--unit", "区应急局", "--file", "/dev/zero"],
            "只接受普通文件",
        ),
        (["obligation", "submit", ob, "--unit", "区应急局", "--file", str(link)], "是符号链接"),
        (["obligation", "accept", ob], "不允许"),
        (["obligation", "reopen", ob, "--reason", "x"], "不允许"),
        (["obligation", "refuse-extension", ob, "--reason", "x"], "没有待批的延期申请"),
        (["obligation", "confirm", ob], "不允许"),
        (["obligation", "waive", "99999999999999999999999", "--reason", "x"], "应为正整数编号"),
        (["obligation", "accept", "424242"], "没有编号为 424242 的义务"),
        (["queue", "ack", "4242", "--by", "王科长"], "没有编号为 4242 的事项"),
        (["queue", "note", "4242", "已电话催办"], "没有编号为 4242 的事项"),
        (["queue", "resolve", "0"], "应为正整数编号"),
        (["obligation", "list", "--status", "foo"], "可选: 待办（open）"),
        (["obligation", "list", "--unit", "不存在的单位"], "目录中没有名为“不存在的单位”的单位"),
        (["obligation", "list", "--plan", "77"], "没有编号为 77 的计划"),
        (["queue", "list", "--level", "5"], "可选: 2（督办）、3（通报）"),
        (["queue", "list", "--status", "done"], "可选: 未办结（open）"),
        (["obligation", "list", "--bogus"], "没有选项 --bogus"),
        (["obligation", "submit", ob], "缺少选项 --unit"),
    ]


def test_it_refuses_each_bad_argument_with_one_line_and_writes_nothing(
    office: Office, tmp_path: Path
) -> None:
    for args, message in _refusals(office, tmp_path):
        before = _snapshot()
        code, out, err = _invoke(*args)
        assert code == 2, (args, code, out, err)
        assert err.startswith("错误: ") and err.count("\n") == 1 and message in err, (args, err)
        assert _snapshot() == before, f"duban {' '.join(args)} wrote something"
    assert not list((office.home / "home" / "evidence").glob("*"))  # no staged file left


def test_it_extends_and_lets_only_the_owner_ask_for_more_time(office: Office) -> None:
    ob = office.ob_id("1", "区应急局")
    run(
        "obligation",
        "request-extension",
        str(ob),
        "--unit",
        "区应急局",
        "--to",
        "2024/10/31",
        "--reason",
        "汛期",
    )
    run("obligation", "extend", str(ob), "--to", "2024年11月8日", "--reason", "同意")
    rows = json.loads(run("obligation", "list", "--unit", "区应急局", "--json", "--all"))["items"]
    mine = next(r for r in rows if r["id"] == ob)
    assert mine["due"] == "2024-11-08" and mine["status_label"] == "待办"
    history = run("obligation", "history", str(ob))
    assert "申请延期" in history and "批准延期" in history and "extension" not in history


def test_it_pages_the_lists_with_the_honest_total(office: Office) -> None:
    whole = json.loads(run("obligation", "list", "--json", "--all"))
    assert whole["total"] == len(whole["items"]) > 3
    page = json.loads(run("obligation", "list", "--json", "--limit", "2", "--offset", "1"))
    assert page["total"] == whole["total"] and page["items"] == whole["items"][1:3]
    out = run("obligation", "list", "--limit", "2")
    assert f"共 {whole['total']} 条，显示第 1–2 条" in out and "--offset 2" in out
    chinese = json.loads(run("obligation", "list", "--status", "待办", "--json", "--all"))
    english = json.loads(run("obligation", "list", "--status", "open", "--json", "--all"))
    assert chinese == english and chinese["total"] > 0
    assert "共 0 条" in run("obligation", "list", "--status", "已销号")


def test_it_keeps_one_open_queue_item_per_obligation_the_higher_replacing_the_lower(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default ladder stops at 督办; an office whose policy still escalates to 通报 per item
    # (here the pre-#14 ladder, kept as data) must still see one open item per obligation.
    from flows.context import reset_context

    legacy = Path(__file__).resolve().parents[2] / "bench" / "policies" / "legacy.yaml"
    monkeypatch.setenv("DUBAN_POLICY_FILE", str(legacy))
    runtime.reset()
    reset_context()
    for day in days(date(2024, 9, 19), date(2024, 10, 1)):
        tick_at(day)
    queue = json.loads(run("queue", "list", "--level", "督办", "--json", "--all"))["items"]
    first = next(q for q in queue if q["task_ref"] == "1" and q["unit"] == "区应急局")
    run("queue", "ack", str(first["queue_id"]), "--by", "王科长")
    run("queue", "note", str(first["queue_id"]), "已电话催办")
    for day in days(date(2024, 10, 2), date(2024, 10, 22)):
        tick_at(day)
    items = json.loads(run("queue", "list", "--status", "all", "--json", "--all"))["items"]
    per_obligation: dict[int, list[dict[str, object]]] = {}
    for q in items:
        if q["queue_status"] != "resolved":
            per_obligation.setdefault(q["id"], []).append(q)
    assert all(len(v) == 1 for v in per_obligation.values()), per_obligation
    [open_item] = per_obligation[first["id"]]
    assert open_item["queue_level"] == 3 and open_item["acked_by"] == "王科长"
    assert [n["text"] for n in open_item["notes"]][:1] == ["已电话催办"]
    history = run("obligation", "history", str(first["id"]))
    assert "升级后由新事项接替" in history and "升级通报" in history
    listing = run("queue", "list")
    assert "已在队列" in listing and "天" in listing


def test_it_reports_a_bad_clock_setting_in_one_line(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    for value in ("2024-03-07", "soon"):
        monkeypatch.setenv("DUBAN_NOW", value)
        code, _, err = _invoke("queue", "list")
        assert code == 2 and err.count("\n") == 1 and "DUBAN_NOW" in err and "Traceback" not in err
    code, _, err = _invoke("--debug", "queue", "list")
    assert code == 2 and "Traceback" in err and err.rstrip().splitlines()[-1].startswith("错误: ")


def test_it_shows_status_durations_in_days_and_hours(office: Office) -> None:
    tick_at(date(2024, 9, 19))
    os.environ["DUBAN_NOW"] = "2024-10-21T15:00:00+08:00"
    runtime.reset()
    out = run("status")
    assert "天" in out and "秒" not in out


def test_it_keeps_evidence_with_a_long_chinese_name_streamed_and_private(
    office: Office, tmp_path: Path
) -> None:
    ob = office.ob_id("1", "区应急局")
    evidence = tmp_path / ("关于开展安全生产大检查工作情况的报告及相关佐证材料汇编" * 3 + ".pdf")
    evidence.write_bytes(b"%PDF-1.4 " + b"x" * 3_000_000)
    run("obligation", "submit", str(ob), "--unit", "区应急局", "--file", str(evidence))
    # The shared evidence store (the CLI and the portal): <evidence>/<unit>/<sha256>.<suffix>.
    [stored] = [f for f in (office.home / "home" / "evidence").rglob("*") if f.is_file()]
    assert stored.read_bytes() == evidence.read_bytes() and stored.suffix == ".pdf"
    assert len(stored.name.encode("utf-8")) < 255 and stored.stat().st_mode & 0o077 == 0
    with runtime.engine().connect() as conn:
        name, sha = conn.execute(text("SELECT name, sha256 FROM evidence_file")).one()
    assert evidence.name.startswith(name.removesuffix(".pdf")[:20]) and sha
    assert stored.name.startswith(sha[:16])
