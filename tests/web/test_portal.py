"""The unit portal on a real office: links from delivered messages, one unit's items only,
签收 / progress / done with 佐证 / extension, and what is refused (nothing written)."""

from __future__ import annotations

import io
import os
import re
import zipfile
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from models.people import EvidenceFile, ProgressReport, Receipt
from models.tables import AuditEvent, Milestone, Obligation, Submission, Task
from models.tokens import load_secret, mint_unit_token
from tests.web.conftest import Pages, csrf_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _mine(pages: Pages, email: str = "zhangsan@example.gov.cn") -> tuple[str, int]:
    links = pages.links(email)
    assert links, f"no portal link in the messages to {email}"
    ob, path = sorted(links.items())[0]
    return path, ob


def _count(model: type) -> int:
    with Session(runtime.engine()) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def _evidence_files() -> list[Path]:
    root = runtime.settings().resolved_evidence_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_it_opens_the_units_own_duties_from_the_link_in_its_message(
    pages: Pages, client: TestClient
) -> None:
    path, ob = _mine(pages)
    page = client.get(path)
    assert page.status_code == 200
    assert "区应急局" in page.text and "开展安全生产大检查" in page.text
    assert "排查整治燃气隐患" not in page.text  # 各街镇's task
    assert "未签收" in page.text and f"/o/{ob}" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none'
    detail = client.get(f"{path}/o/{ob}")
    assert detail.status_code == 200 and "牵头" in detail.text and "2024-09-26" in detail.text


def test_it_never_lets_one_units_link_reach_anothers_items(
    pages: Pages, client: TestClient
) -> None:
    theirs, their_ob = _mine(pages)
    mine, my_ob = _mine(pages, "wangwu@example.gov.cn")  # 区建管委
    with Session(runtime.engine()) as s:
        top = int(s.exec(select(func.max(Obligation.id))).one())
        own = set(
            s.exec(
                select(Obligation.id).where(Obligation.unit_id == s.get(Obligation, my_ob).unit_id)
            ).all()
        )  # type: ignore[union-attr]
    for guess in range(1, top + 20):
        answer = client.get(f"{mine}/o/{guess}")
        assert answer.status_code == (200 if guess in own else 404), guess
    refused = client.get(f"{mine}/o/{their_ob}")
    assert "不属于本单位" in refused.text
    csrf = csrf_of(client.get(mine).text)
    before = _count(AuditEvent)
    for action, data in (
        ("ack", {}),
        ("progress", {"text": "进展"}),
        ("extension", {"new_due": "2024-10-30", "reason": "x"}),
    ):
        r = client.post(f"{mine}/o/{their_ob}/{action}", data={"csrf": csrf, **data})
        assert r.status_code == 404, action
    r = client.post(
        f"{mine}/o/{their_ob}/done",
        data={"csrf": csrf},
        files=[("files", ("报告.pdf", PDF, "application/pdf"))],
    )
    assert r.status_code == 404
    assert _count(AuditEvent) == before and _count(Receipt) == 0 and _count(Submission) == 0
    assert _evidence_files() == []
    # their file is not reachable with my link either
    csrf_theirs = csrf_of(client.get(theirs).text)
    client.post(
        f"{theirs}/o/{their_ob}/done",
        data={"csrf": csrf_theirs},
        files=[("files", ("报告.pdf", PDF, "application/pdf"))],
    )
    with Session(runtime.engine()) as s:
        fid = s.exec(select(EvidenceFile.id)).one()
    assert client.get(f"{theirs}/files/{fid}").status_code == 200
    assert client.get(f"{mine}/files/{fid}").status_code == 404


def test_it_records_ack_progress_done_with_files_and_extension_audited(
    pages: Pages, client: TestClient
) -> None:
    path, ob = _mine(pages)
    csrf = csrf_of(client.get(f"{path}/o/{ob}").text)
    assert client.post(f"{path}/o/{ob}/ack", data={"csrf": csrf}).status_code == 303
    assert client.post(f"{path}/o/{ob}/ack", data={"csrf": csrf}).status_code == 303  # once
    r = client.post(f"{path}/o/{ob}/progress", data={"csrf": csrf, "text": "已完成八成"})
    assert r.status_code == 303
    r = client.post(
        f"{path}/o/{ob}/extension",
        data={"csrf": csrf, "new_due": "2024-10-15", "reason": "汛期任务冲突"},
    )
    assert r.status_code == 303
    page = client.get(f"{path}/o/{ob}")
    assert "申请延期中" in page.text and "待批复" in page.text and "已完成八成" in page.text
    with Session(runtime.engine()) as s:
        receipt = s.exec(select(Receipt)).one()
        assert receipt.by == "区应急局" and receipt.at == runtime.current_time()
        assert s.exec(select(ProgressReport)).one().text == "已完成八成"
    actions = [(e.action, e.actor, e.data.get("via")) for e in pages.audit(ob)]
    assert ("acknowledged", "区应急局", "portal") in actions
    assert ("progress_reported", "区应急局", "portal") in actions
    assert ("request_extension", "区应急局", "portal") in actions
    assert [a for a, *_ in actions].count("acknowledged") == 1


def test_it_keeps_evidence_outside_the_web_root_under_a_clean_name(
    pages: Pages, client: TestClient
) -> None:
    path, ob = _mine(pages)
    csrf = csrf_of(client.get(f"{path}/o/{ob}").text)
    r = client.post(
        f"{path}/o/{ob}/done",
        data={"csrf": csrf, "note": "检查全部完成"},
        files=[
            ("files", ("../../static/检查报告.pdf", PDF, "application/pdf")),
            ("files", ("现场.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "image/png")),
        ],
    )
    assert r.status_code == 303, r.text
    with Session(runtime.engine()) as s:
        files = s.exec(select(EvidenceFile).order_by(EvidenceFile.id)).all()  # type: ignore[arg-type]
        assert [f.name for f in files] == ["检查报告.pdf", "现场.png"]
        root = runtime.settings().resolved_evidence_dir.resolve()
        for f in files:
            stored = Path(f.path).resolve()
            assert stored.is_relative_to(root) and stored.name.startswith(f.sha256)
        assert s.get(Obligation, ob).status == "submitted"  # type: ignore[union-attr]
    static = Path(__file__).parents[2] / "duban" / "web" / "static"
    assert sorted(p.name for p in static.iterdir()) == ["duban.css"]
    assert "检查报告.pdf" in client.get(f"{path}/o/{ob}").text
    evidence = [e for e in pages.audit(ob) if e.action == "evidence_added"]
    assert [f["name"] for f in evidence[0].data["files"]] == ["检查报告.pdf", "现场.png"]


def test_it_refuses_forms_without_the_right_csrf_and_writes_nothing(
    pages: Pages, client: TestClient
) -> None:
    path, ob = _mine(pages)
    before = _count(AuditEvent)
    for data in ({}, {"csrf": "forged"}):
        r = client.post(f"{path}/o/{ob}/ack", data=data)
        assert r.status_code == 403 and "安全校验未通过" in r.text
        r = client.post(
            f"{path}/o/{ob}/done", data=data, files=[("files", ("a.pdf", PDF, "application/pdf"))]
        )
        assert r.status_code == 403 and "安全校验未通过" in r.text
    assert _count(AuditEvent) == before and _count(Receipt) == 0
    assert _evidence_files() == []


def _docx(with_macro: bool) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        if with_macro:
            z.writestr("word/vbaProject.bin", b"\x00" * 10)
    return buf.getvalue()


def test_it_refuses_oversized_and_disallowed_files_with_a_clear_message(
    pages: Pages,
) -> None:
    from duban.web.app import create_app

    os.environ["DUBAN_EVIDENCE_MAX_MB"] = "0.01"  # 10 KB
    runtime.reset()
    try:
        with TestClient(create_app(), follow_redirects=False) as c:
            path, ob = _mine(pages)
            csrf = csrf_of(c.get(f"{path}/o/{ob}").text)
            cases = [
                (("big.pdf", PDF + b"0" * 20_000), 413, "大小限制"),
                (("setup.exe", b"MZ" + b"0" * 100), 415, "类型不允许"),
                (("report.pdf", b"MZ" + b"0" * 100), 415, "内容与其类型不符"),
                (("宏.docm", _docx(True)), 415, "类型不允许"),
                (("宏.docx", _docx(True)), 415, "宏"),
                (("空.pdf", b""), 415, "空文件"),
            ]
            for (name, body), status, words in cases:
                r = c.post(
                    f"{path}/o/{ob}/done",
                    data={"csrf": csrf},
                    files=[("files", (name, body, "application/octet-stream"))],
                )
                assert r.status_code == status and words in r.text, (name, r.status_code, r.text)
            ok = c.post(
                f"{path}/o/{ob}/done",
                data={"csrf": csrf},
                files=[("files", ("正常.docx", _docx(False), "application/octet-stream"))],
            )
            assert ok.status_code == 303
    finally:
        os.environ.pop("DUBAN_EVIDENCE_MAX_MB", None)
        runtime.reset()
    with Session(runtime.engine()) as s:
        assert [f.name for f in s.exec(select(EvidenceFile)).all()] == ["正常.docx"]
    assert len(_evidence_files()) == 1  # nothing left of the refused ones


def test_it_refuses_forged_expired_and_revoked_links(pages: Pages, client: TestClient) -> None:
    path, ob = _mine(pages)
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    r = client.get(forged)
    assert r.status_code == 403 and "链接无效" in r.text
    st = runtime.settings()
    now = runtime.current_time()
    with Session(runtime.engine()) as s:
        unit_id = s.get(Obligation, ob).unit_id  # type: ignore[union-attr]
    old = mint_unit_token(
        load_secret(st.home, st.secret_key),
        unit_id,
        issued=now - timedelta(days=60),
        expires=now - timedelta(seconds=1),
    )
    r = client.get(f"/u/{old}")
    assert r.status_code == 403 and "已过期" in r.text
    result = CliRunner().invoke(app, ["portal", "revoke", "区应急局", "--reason", "联络员更换"])
    assert result.exit_code == 0, result.output
    r = client.get(path)
    assert r.status_code == 403 and "停用" in r.text
    os.environ["DUBAN_NOW"] = (now + timedelta(minutes=1)).isoformat()  # links minted after it
    fresh = CliRunner().invoke(app, ["portal", "link", "区应急局"]).stdout.strip()
    assert client.get(re.sub(r"^https?://[^/]+", "", fresh)).status_code == 200
    # another unit's links still open
    assert client.get(_mine(pages, "wangwu@example.gov.cn")[0]).status_code == 200


def test_it_takes_the_periodic_progress_report_in_one_form(
    pages: Pages, client: TestClient
) -> None:
    path, _ = _mine(pages, "qianqi@example.gov.cn")  # 甲街道: several duties due together
    page = client.get(path)
    rows = [int(i) for i in re.findall(r'name="text-(\d+)"', page.text)]
    assert len(rows) >= 2
    data = {
        "csrf": csrf_of(page.text),
        f"text-{rows[0]}": "燃气隐患已排查 80%",
        f"text-{rows[1]}": "",
    }
    r = client.post(f"{path}/progress", data=data)
    assert r.status_code == 303
    with Session(runtime.engine()) as s:
        reports = s.exec(select(ProgressReport)).all()
        assert [(p.obligation_id, p.text) for p in reports] == [(rows[0], "燃气隐患已排查 80%")]
        # The form is the unit's periodic report of this period (甲街道 carries the plan's own
        # 每月26日前 report, which stands for its 进展报告): the current one is reported (for the
        # office to accept), with the notes as its text; the later periods' stay open.
        duty = s.get(Obligation, rows[0])
        assert duty is not None
        series = s.exec(
            select(Obligation)
            .join(Milestone, col(Milestone.id) == col(Obligation.milestone_id))
            .where(col(Milestone.rrule).is_not(None), col(Milestone.is_report).is_(True))
            .where(Obligation.unit_id == duty.unit_id)
            .where(Obligation.plan_id == duty.plan_id)
            .order_by(col(Obligation.due_on))
        ).all()
        done = [ob for ob in series if ob.status == "submitted"]
        assert len(series) >= 2 and len(done) == 1, [(ob.due_on, ob.status) for ob in series]
        [sub] = s.exec(select(Submission).where(Submission.obligation_id == done[0].id)).all()
        assert "燃气隐患已排查 80%" in sub.note
        assert all(ob.status != "submitted" for ob in series if ob.due_on > done[0].due_on)
    _other, their_ob = _mine(pages)  # another unit's id in the form is refused whole
    r = client.post(f"{path}/progress", data={"csrf": data["csrf"], f"text-{their_ob}": "x"})
    assert r.status_code == 404
    assert client.post(f"{path}/progress", data={"csrf": data["csrf"]}).status_code == 400


def test_the_progress_form_reports_the_units_jinzhan_baogao(
    pages: Pages, client: TestClient
) -> None:
    """A unit without the plan's own report (区房管局: one dated task) owes duban's 进展报告 at the
    plan's cadence; its one progress form reports the current one, and only that one."""
    path, _ = _mine(pages, "zhaoliu@example.gov.cn")
    page = client.get(path)
    rows = [int(i) for i in re.findall(r'name="text-(\d+)"', page.text)]
    assert rows
    data = {"csrf": csrf_of(page.text), **{f"text-{ob}": "整改方案已报区房管局党组" for ob in rows}}
    assert client.post(f"{path}/progress", data=data).status_code == 303
    with Session(runtime.engine()) as s:
        unit_id = s.get(Obligation, rows[0]).unit_id  # type: ignore[union-attr]
        series = s.exec(
            select(Obligation)
            .join(Task, col(Task.id) == col(Obligation.task_id))
            .where(Task.ref == "进展报告", Obligation.unit_id == unit_id)
            .order_by(col(Obligation.due_on))
        ).all()
        assert [ob.status for ob in series][:2] == ["submitted", "open"], [
            (ob.due_on, ob.status) for ob in series
        ]
        [sub] = s.exec(select(Submission).where(Submission.obligation_id == series[0].id)).all()
        assert "整改方案已报区房管局党组" in sub.note


def test_it_shares_one_code_path_with_the_cli(
    pages: Pages, client: TestClient, tmp_path: Path
) -> None:
    path, ob = _mine(pages)
    report = tmp_path / "整改报告.pdf"
    report.write_bytes(PDF)
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ" + b"0" * 10)
    cli = CliRunner()
    refused = cli.invoke(
        app, ["obligation", "submit", str(ob), "--unit", "区应急局", "--file", str(bad)]
    )
    assert refused.exit_code != 0 and "类型不允许" in refused.stderr
    done = cli.invoke(
        app,
        [
            "obligation",
            "submit",
            str(ob),
            "--unit",
            "区应急局",
            "--note",
            "经电话报送",
            "--file",
            str(report),
        ],
    )
    assert done.exit_code == 0, done.output
    page = client.get(f"{path}/o/{ob}").text
    assert "已报送待验收" in page and "整改报告.pdf" in page and "经电话报送" in page
    assert [e.data.get("via") for e in pages.audit(ob) if e.action == "submit"] == ["cli"]
    assert len(_evidence_files()) == 1
