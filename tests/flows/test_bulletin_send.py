"""Sending the approved 通报: PDF by e-mail to the member units and the plan's leader (a real SMTP
sink), summary and link to the unit's robot (a real HTTP receiver), recorded, once only."""

from __future__ import annotations

import io
import json

import pdfplumber
import pytest

from tests.flows.conftest import Office, run
from tests.notify.conftest import SmtpSink


def _bulletins(sink: SmtpSink) -> dict[str, list]:  # type: ignore[type-arg]
    out: dict[str, list] = {}  # type: ignore[type-arg]
    for _, rcpt, m in sink.received:
        if "【通报】" in str(m["Subject"]):
            out.setdefault(rcpt[0], []).append(m)
    return out


def test_an_approved_bulletin_goes_to_members_and_leaders_once(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUBAN_PORTAL_URL", "http://console.example")
    from duban import runtime
    from flows.context import reset_context
    from flows.delivery import reset_pipeline

    runtime.reset()
    reset_context()
    reset_pipeline()
    out = run("report", "draft", str(office.plan_id), "--month", "2024-09")
    doc = int(out.split("通报草稿 ")[1].split()[0])
    refused = runtime_invoke("report", "send", str(doc))
    assert refused.exit_code != 0 and "尚未审定" in refused.output + (refused.stderr or "")
    assert not _bulletins(office.smtp.sink)
    run("report", "approve", str(doc))

    first = json.loads(run("report", "send", str(doc), "--json"))
    got = _bulletins(office.smtp.sink)
    members = {"zhangsan@example.gov.cn", "lisi@example.gov.cn", "wangwu@example.gov.cn"}
    members |= {"zhaoliu@example.gov.cn", "qianqi@example.gov.cn", "sunba@example.gov.cn"}
    assert set(got) == members | {"leader@example.gov.cn"}
    assert all(len(v) == 1 for v in got.values())
    msg = got["leader@example.gov.cn"][0]
    [pdf] = list(msg.iter_attachments())
    assert pdf.get_filename() == "通报〔2024〕第1期.pdf"
    with pdfplumber.open(io.BytesIO(pdf.get_content())) as p:
        text = "".join((pg.extract_text() or "") for pg in p.pages).replace(" ", "")
    assert "〔2024〕第1期" in text and "区应急局" in text
    hooks = [r for r, _ in office.hook.log if "通报" in r.get_data(as_text=True)]
    assert len(hooks) == 1
    body = hooks[0].get_data(as_text=True)
    assert f"http://console.example/office/reports/{doc}" in body and "〔2024〕第1期" in body
    assert first["sent"] == len(members) + 1 + 1 and first["failed"] == 0

    again = json.loads(run("report", "send", str(doc), "--json"))
    assert again["sent"] == 0 and again["skipped"] >= first["sent"]  # all delivered before
    assert all(len(v) == 1 for v in _bulletins(office.smtp.sink).values())
    assert len([r for r, _ in office.hook.log if "通报" in r.get_data(as_text=True)]) == 1

    shown = json.loads(run("report", "show", str(doc), "--json"))
    assert shown["status"] == "sent" and shown["sent_at"]
    assert {d["recipient"] for d in shown["deliveries"] if d["channel"] == "email"} == members | {
        "leader@example.gov.cn"
    }
    assert all(d["status"] == "sent" for d in shown["deliveries"])
    assert "印发情况" in run("report", "show", str(doc))


def runtime_invoke(*args: str):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from duban.cli import app

    return CliRunner().invoke(app, list(args))
