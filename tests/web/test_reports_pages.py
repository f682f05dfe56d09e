"""The console's 通报 pages: drafted, edited (audited) and approved by the office, read by leaders,
with the charts drawn on the server, and the 任务清单 download."""

from __future__ import annotations

import io
import os
import re
from datetime import date, datetime, time

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from duban import runtime
from models.documents import ReportDocument
from models.tables import AuditEvent
from schedules.clock import OFFICE_TZ
from tests.flows.conftest import days, tick_at
from tests.web.conftest import Pages, csrf_of, login


def _draft(client: TestClient) -> int:
    page = client.get("/office/reports")
    assert page.status_code == 200 and "draft-form" in page.text
    r = client.post(
        "/office/reports", data={"csrf": csrf_of(page.text), "plan": "", "month": "2024年9月"}
    )
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def test_the_office_drafts_edits_and_approves_and_a_leader_only_reads(
    pages: Pages, client: TestClient
) -> None:
    for day in days(date(2024, 9, 20), date(2024, 10, 8)):
        tick_at(day)
    os.environ["DUBAN_NOW"] = datetime.combine(date(2024, 10, 8), time(10), OFFICE_TZ).isoformat()
    login(client, who="wang")
    doc_id = _draft(client)
    page = client.get(f"/office/reports/{doc_id}")
    assert page.status_code == 200 and "edit-form" in page.text and "（未编号草稿）" in page.text
    # The figures of September: the tasks due 09-26 were not reported (overdue) by 10-01.
    assert "逾期未完成" in page.text and "区应急局" in page.text
    assert page.text.count("<svg") == 3 and "各单位逐月按时完成率" in page.text
    body = re.search(r'<textarea name="body"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert body is not None
    new = (
        body.group(1)
        .replace("&#34;", '"')
        .replace("一、各单位完成情况", "一、各单位完成情况（已电话核实）")
    )
    r = client.post(
        f"/office/reports/{doc_id}/edit",
        data={"csrf": csrf_of(page.text), "body": new, "reason": "电话核实"},
    )
    assert r.status_code == 303
    page = client.get(f"/office/reports/{doc_id}?done=edit")
    assert "已保存修改" in page.text and "已电话核实" in page.text and "修改 1 次" in page.text
    client.post("/office/logout", data={"csrf": csrf_of(page.text)})

    login(client, who="zhang")  # a leader: reads the draft, cannot change or approve it
    page = client.get(f"/office/reports/{doc_id}")
    assert (
        page.status_code == 200 and "edit-form" not in page.text and "approve-form" not in page.text
    )
    assert "已电话核实" in page.text
    for action in ("edit", "approve"):
        r = client.post(
            f"/office/reports/{doc_id}/{action}", data={"csrf": csrf_of(page.text), "body": "改"}
        )
        assert r.status_code == 403 and "只读" in r.text
    assert "draft-form" not in client.get("/office/reports").text
    client.post("/office/logout", data={"csrf": csrf_of(page.text)})

    login(client, who="wang")
    page = client.get(f"/office/reports/{doc_id}")
    r = client.post(f"/office/reports/{doc_id}/approve", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303
    page = client.get(f"/office/reports/{doc_id}?done=approve")
    assert "已审定：〔2024〕第1期" in page.text and "edit-form" not in page.text
    r = client.post(
        f"/office/reports/{doc_id}/edit", data={"csrf": csrf_of(page.text), "body": "改"}
    )
    assert r.status_code == 409 and "不能再修改" in r.text
    with Session(runtime.engine()) as s:
        doc = s.get(ReportDocument, doc_id)
        assert doc is not None and doc.number == 1 and "已电话核实" in doc.body
        events = s.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == "report_document", AuditEvent.entity_id == doc_id)
            .order_by(col(AuditEvent.id))
        ).all()
    assert [(e.action, e.actor) for e in events] == [
        ("drafted", "王科长"),
        ("edited", "王科长"),
        ("approved", "王科长"),
    ]
    # 印发: sent from the page, listed with each recipient; sending again sends nobody twice.
    page = client.get(f"/office/reports/{doc_id}")
    assert "send-form" in page.text and 'id="deliveries"' not in page.text
    before = len(pages.office.smtp.sink.received)
    r = client.post(f"/office/reports/{doc_id}/send", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303
    page = client.get(f"/office/reports/{doc_id}?done=send")
    assert "已印发" in page.text and 'id="deliveries"' in page.text
    assert "leader@example.gov.cn" in page.text and "已送达" in page.text
    mailed = len(pages.office.smtp.sink.received)
    assert mailed > before
    client.post(f"/office/reports/{doc_id}/send", data={"csrf": csrf_of(page.text)})
    assert len(pages.office.smtp.sink.received) == mailed


def test_the_ledger_downloads_as_the_same_workbook_as_the_cli(
    pages: Pages, client: TestClient
) -> None:
    from openpyxl import load_workbook

    for day in days(date(2024, 9, 20), date(2024, 9, 30)):
        tick_at(day)
    login(client, who="zhang")  # reading and exporting is for leaders too
    r = client.get(f"/office/plans/{pages.office.plan_id}/ledger.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    ws = load_workbook(io.BytesIO(r.content))["任务清单"]
    rows = {row[0].value: row for row in ws.iter_rows(min_row=3)}
    # The plan's tasks in order, then duban's own 进展报告 (the units without the plan's monthly
    # report owe one each period: leaders see who reports); 甲街道 carries the monthly report.
    assert list(rows) == ["1", "2", "3", "4", "5", "进展报告"]
    assert rows["1"][8].value == "红" and rows["3"][8].value == "绿"  # 1 overdue; 3 due 10-08
    one = client.get(f"/office/plans/{pages.office.plan_id}/ledger.xlsx", params={"unit": "甲街道"})
    ws = load_workbook(io.BytesIO(one.content))["任务清单"]
    assert {row[0].value for row in ws.iter_rows(min_row=3)} == {"2", "4", "5"}
    missing = client.get(
        f"/office/plans/{pages.office.plan_id}/ledger.xlsx", params={"unit": "无此单位"}
    )
    assert missing.status_code == 404 and "单位目录中没有" in missing.text
