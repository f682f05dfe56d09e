"""The monthly roll-call reaches the office: `duban tick` with a pinned clock sends it once per
month through the pipeline (aiosmtpd on 127.0.0.1), across restarts, downtime and an SMTP outage,
and says truly in its outcome and in `duban status` whether it was delivered."""

from __future__ import annotations

import os
from email.message import EmailMessage

from duban import runtime
from flows.context import reset_context
from flows.delivery import reset_pipeline
from tests.flows.conftest import Office, run

# The roll-call of one ladder: the shipped 进展报告 (at the plan's monthly cadence) would add their
# units; tests/flows/test_progress_reports.py and tests/duban cover those.
LABEL = "每月报送周期与月度点名"


def _at(when: str, *, restart: bool = False) -> None:
    os.environ["DUBAN_NOW"] = when
    runtime.reset()
    if restart:  # a new process: nothing remembered but the database
        reset_context()
        reset_pipeline()


def _monthly_line(out: str) -> str:
    lines = [line for line in out.splitlines() if line.startswith(LABEL)]
    return lines[0] if lines else ""


def _rollcalls(office: Office) -> list[tuple[list[str], EmailMessage]]:
    return [(rcpt, m) for _, rcpt, m in office.smtp.sink.received if "月度报送点名" in m["Subject"]]


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_it_sends_the_month_roll_call_to_the_office_once(no_progress: None, office: Office) -> None:
    _at("2024-09-26T09:06:00+08:00")
    assert "月报送点名" not in _monthly_line(run("tick"))  # reports are due today: no roll-call yet
    assert _rollcalls(office) == []
    _at("2024-09-27T08:40:00+08:00")
    line = _monthly_line(run("tick"))
    assert "2024-09 月报送点名已记录" in line and "2024-09 月报送点名已送达办公室" in line
    [(rcpt, msg)] = _rollcalls(office)
    assert rcpt == ["office@example.gov.cn"]
    assert msg["Subject"] == "【月度报送点名】2024年9月月报：2 个单位未报送，0 个已报送"
    body = _text(msg)
    assert "未报送（2 个）：乙街道、甲街道" in body and "已报送（0 个）：无" in body
    assert "2024年9月到期的月度报告" in body and "逾期未报" in body
    status = run("status")
    assert "2024-09 月报送点名已送达办公室" in status
    _at("2024-09-30T08:40:00+08:00", restart=True)  # the next working day, a new process
    line = _monthly_line(run("tick"))
    assert (
        line.startswith(LABEL) and "月报送点名" not in line
    )  # already delivered: not sent again, not claimed again
    _at("2024-10-08T08:40:00+08:00", restart=True)
    run("tick")
    assert len(_rollcalls(office)) == 1


def test_it_catches_up_and_retries_a_roll_call_the_relay_refused(
    no_progress: None, office: Office
) -> None:
    _at("2024-09-26T09:06:00+08:00")
    run("tick")
    office.smtp.stop()  # the relay is down on the 27th
    _at("2024-09-27T08:40:00+08:00")
    line = _monthly_line(run("tick"))
    assert "2024-09 月报送点名未送达" in line and "已送达" not in line
    assert "2024-09 月报送点名未送达" in run("status")
    office.smtp.start()
    # Down from the 27th until after the holiday: the first run catches up and sends it once.
    _at("2024-10-08T08:40:00+08:00", restart=True)
    line = _monthly_line(run("tick"))
    assert "2024-09 月报送点名已送达办公室" in line and "补跑" in line
    [(rcpt, msg)] = _rollcalls(office)
    assert rcpt == ["office@example.gov.cn"] and "乙街道、甲街道" in _text(msg)
    _at("2024-10-09T08:40:00+08:00")
    assert "月报送点名" not in _monthly_line(run("tick"))
    assert len(_rollcalls(office)) == 1


def test_a_month_no_run_closed_is_recorded_and_sent_after_the_downtime(
    no_progress: None, office: Office
) -> None:
    _at("2024-09-26T09:06:00+08:00")
    run("tick")
    _at("2024-10-08T08:40:00+08:00")  # nothing ran from the 27th to the end of September
    line = _monthly_line(run("tick"))
    assert "2024-09 月报送点名已补记" in line and "2024-09 月报送点名已送达办公室" in line
    assert len(_rollcalls(office)) == 1
    _at("2024-10-09T08:40:00+08:00")
    line = _monthly_line(run("tick"))
    assert "补记" not in line and "月报送点名" not in line
    assert len(_rollcalls(office)) == 1


def test_the_roll_call_preview_prints_the_message_and_sends_nothing(
    no_progress: None, office: Office
) -> None:
    _at("2024-09-27T08:00:00+08:00")
    out = run("rollcall", "--month", "2024-09")
    assert "未报送：乙街道、甲街道" in out
    assert "收件人: office@example.gov.cn（尚未发送" in out
    assert "主题: 【月度报送点名】2024年9月月报：2 个单位未报送" in out
    assert "未报送（2 个）：乙街道、甲街道" in out
    assert _rollcalls(office) == []
