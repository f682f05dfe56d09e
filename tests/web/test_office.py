"""The office console: login and lock-out, CSRF, the leader's read-only role, and the loop
closed through the pages (submit → 驳回重办 with a reason → redo → 销号; extension → re-planned)."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from models.tables import AuditEvent, ExtensionRequest, Obligation, QueueItem
from schedules.clock import OFFICE_TZ
from tests.web.conftest import PASSWORD, Pages, csrf_of, login
from tests.web.test_portal import PDF, _mine


def _status(ob: int) -> Obligation:
    with Session(runtime.engine()) as s:
        found = s.get(Obligation, ob)
        assert found is not None
        return found


def _submit(client: TestClient, path: str, ob: int, note: str = "已完成") -> None:
    csrf = csrf_of(client.get(f"{path}/o/{ob}").text)
    r = client.post(
        f"{path}/o/{ob}/done",
        data={"csrf": csrf, "note": note},
        files=[("files", ("检查报告.pdf", PDF, "application/pdf"))],
    )
    assert r.status_code == 303, r.text


def test_it_logs_in_and_locks_out_after_repeated_failures(pages: Pages, client: TestClient) -> None:
    assert client.get("/office").headers["location"].startswith("/office/login")
    for _ in range(4):
        r = login(client, password="wrong-password")
        assert r.status_code == 401 and "用户名或密码错误" in r.text  # type: ignore[attr-defined]
    r = login(client, password="wrong-password")
    assert "已锁定" in r.text  # type: ignore[attr-defined]
    r = login(client)  # the right password, but locked
    assert r.status_code == 401 and "已锁定" in r.text  # type: ignore[attr-defined]
    r = login(client, who="nobody")
    assert "用户名或密码错误" in r.text  # type: ignore[attr-defined]
    with Session(runtime.engine()) as s:
        failed = s.exec(select(AuditEvent).where(AuditEvent.action == "login_failed")).all()
        assert len(failed) == 6
    assert CliRunner().invoke(app, ["users", "unlock", "wang"]).exit_code == 0
    r = login(client)
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert client.get("/office").status_code == 200
    page = client.get("/office/login")
    forged = client.post("/office/login", data={"csrf": "x", "login": "wang", "password": PASSWORD})
    assert forged.status_code == 403 and "安全校验" in forged.text and page.status_code == 200


def test_it_refuses_office_forms_without_the_sessions_csrf(
    pages: Pages, client: TestClient
) -> None:
    path, ob = _mine(pages)
    _submit(client, path, ob)
    login(client)
    for data in ({}, {"csrf": "forged"}):
        r = client.post(f"/office/obligations/{ob}/accept", data=data)
        assert r.status_code == 403 and "安全校验未通过" in r.text
    assert _status(ob).status == "submitted"


def test_it_lets_a_leader_read_everything_and_act_on_nothing(
    pages: Pages, client: TestClient
) -> None:
    path, ob = _mine(pages)
    _submit(client, path, ob)
    login(client, who="zhang")
    queue = client.get("/office/queue")
    assert queue.status_code == 200 and f"sub-{ob}" in queue.text
    assert "验收销号" not in queue.text and "领导·只读" in queue.text
    detail = client.get(f"/office/obligations/{ob}")
    assert detail.status_code == 200 and "检查报告.pdf" in detail.text
    r = client.post(f"/office/obligations/{ob}/accept", data={"csrf": csrf_of(queue.text)})
    assert r.status_code == 403 and "只读" in r.text
    assert _status(ob).status == "submitted"


def test_it_sends_back_with_a_reason_the_unit_sees_then_accepts_the_redo(
    pages: Pages, client: TestClient
) -> None:
    path, ob = _mine(pages)
    _submit(client, path, ob, "第一次报送")
    login(client)
    queue = client.get("/office/queue")
    assert f"sub-{ob}" in queue.text and "检查报告.pdf" in queue.text
    csrf = csrf_of(queue.text)
    r = client.post(f"/office/obligations/{ob}/reject", data={"csrf": csrf})
    assert r.status_code == 409 and "理由" in r.text
    r = client.post(
        f"/office/obligations/{ob}/reject",
        data={"csrf": csrf, "reason": "缺少整改台账", "back": "/office/queue"},
    )
    assert r.status_code == 303 and _status(ob).status == "reopened"
    unit_page = client.get(f"{path}/o/{ob}")
    assert "退回重办" in unit_page.text and "缺少整改台账" in unit_page.text
    _submit(client, path, ob, "补充了整改台账")
    r = client.post(f"/office/obligations/{ob}/accept", data={"csrf": csrf})
    assert r.status_code == 303
    done = _status(ob)
    assert done.status == "accepted" and done.accepted_at is not None
    assert "验收销号" in client.get(f"{path}/o/{ob}").text
    actors = {(e.action, e.actor) for e in pages.audit(ob)}
    assert {("reopen", "王科长"), ("accept", "王科长"), ("submit", "区应急局")} <= actors


def test_it_grants_an_extension_and_the_reminders_follow_the_new_date(
    pages: Pages, client: TestClient
) -> None:
    path, ob = _mine(pages)
    csrf = csrf_of(client.get(f"{path}/o/{ob}").text)
    client.post(
        f"{path}/o/{ob}/extension",
        data={"csrf": csrf, "new_due": "2024-10-31", "reason": "汛期任务冲突"},
    )
    login(client)
    queue = client.get("/office/queue")
    assert f"ext-{ob}" in queue.text and "汛期任务冲突" in queue.text
    r = client.post(
        f"/office/obligations/{ob}/grant", data={"csrf": csrf_of(queue.text), "reason": "同意"}
    )
    assert r.status_code == 303
    after = _status(ob)
    assert after.due_on == date(2024, 10, 31) and after.status == "open"
    assert after.next_action_at is not None
    next_local = after.next_action_at.astimezone(OFFICE_TZ).date()
    assert (
        date(2024, 10, 20) <= next_local < date(2024, 10, 31)
    )  # the reminders before the new date
    with Session(runtime.engine()) as s:
        req = s.exec(select(ExtensionRequest)).one()
        assert req.status == "granted" and req.decided_by == "王科长"
    assert "已批准" in client.get(f"{path}/o/{ob}").text


def test_it_shows_the_directorys_gaps_and_failing_deliveries(
    pages: Pages, client: TestClient
) -> None:
    from models.directory import Channel, Unit
    from models.tables import Delivery

    now = runtime.current_time()
    with Session(runtime.engine()) as s:
        s.add(Unit(name="区新设局", kind="department", created_at=now, updated_at=now))
        channel = s.exec(select(Channel)).first()
        assert channel is not None
        channel.failing, channel.last_error, channel.failing_since = True, "550 用户不存在", now
        s.add(channel)
        s.add(
            Delivery(key="k-failed", batch="b", stage="remind", channel_type="email",
                     recipient="nobody@example.gov.cn", status="failed", permanent=True,
                     last_error="550 用户不存在", created_at=now)
        )  # fmt: skip
        s.commit()
    login(client, who="zhang")  # a leader may look
    page = client.get("/office/directory")
    assert page.status_code == 200 and "区新设局" in page.text and "联系不上" in page.text
    missing = client.get("/office/directory?missing=1").text
    assert "区新设局" in missing and "区应急局" not in missing
    failures = client.get("/office/deliveries").text
    assert "550 用户不存在" in failures and "nobody@example.gov.cn" in failures


def test_it_lists_the_duties_not_signed_for_within_receipt_days(
    pages: Pages, client: TestClient
) -> None:
    from datetime import timedelta

    from models.repo.actions import acknowledge

    now = runtime.current_time()
    with Session(runtime.engine()) as s:
        obs = s.exec(select(Obligation).order_by(Obligation.id).limit(3)).all()  # type: ignore[arg-type]
        late, signed, recent = obs
        late.assign_at = signed.assign_at = now - timedelta(days=3)  # receipt_days: 2
        recent.assign_at = now - timedelta(days=1)
        for o in obs:
            s.add(o)
        s.commit()
        acknowledge(session=s, ob=signed, by="区应急局", now=now, via="portal")
        s.commit()
        ids = (late.id, signed.id, recent.id)
    login(client)
    html = client.get("/office/unreceived").text
    assert f'id="unrec-{ids[0]}"' in html
    assert f'id="unrec-{ids[1]}"' not in html and f'id="unrec-{ids[2]}"' not in html
    assert "超过 2 天仍未签收" in html


def test_the_queue_sheet_links_its_supervision_paper_as_issued(
    pages: Pages, client: TestClient
) -> None:
    from models.documents import Paper
    from tests.flows.conftest import tick_at

    for day in (date(2024, 9, 27), date(2024, 9, 29), date(2024, 9, 30)):
        tick_at(day)
    ob = pages.office.ob_id("1", "区应急局")
    street = [pages.office.ob_id(ref, "甲街道") for ref in ("2", "4")]
    with Session(runtime.engine()) as s:
        paper = s.exec(select(Paper).where(Paper.obligation_id == ob, Paper.kind == "office")).one()
        pid, title, docx, pdf, sheet = paper.id, paper.title, paper.docx, paper.pdf, paper.sheet_id
        sheets = {q.sheet_id for q in s.exec(select(QueueItem)) if q.obligation_id in street}
        street_papers = s.exec(select(Paper.id).where(col(Paper.sheet_id).in_(sheets))).all()
    assert sheet is not None and len(sheets) == 1 and len(street_papers) == 1
    login(client)
    queue = client.get("/office/queue")
    assert queue.status_code == 200
    row = queue.text.split(f'<tr id="s-{sheet}">', 1)[1].split("</tr>", 1)[0]
    assert f'href="/office/obligations/{ob}"' in row
    assert (
        title in row and f"/office/papers/{pid}/docx" in row and f"/office/papers/{pid}/pdf" in row
    )
    # 甲街道's two items are on one sheet, and the sheet links its one paper, once.
    (sid,) = sheets
    row = queue.text.split(f'<tr id="s-{sid}">', 1)[1].split("</tr>", 1)[0]
    assert row.count(f"/office/papers/{street_papers[0]}/docx") == 1
    got = client.get(f"/office/papers/{pid}/docx")
    assert got.status_code == 200 and got.content == docx
    assert client.get(f"/office/papers/{pid}/pdf").content == pdf
    assert title in client.get(f"/office/obligations/{ob}").text
    assert client.get("/office/papers/999999/docx").status_code == 404
    client.cookies.clear()
    assert client.get(f"/office/papers/{pid}/docx").status_code in (303, 401)
