"""Calendar feeds by secret URL, parsed back with the icalendar library (as a client reads them)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import icalendar
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from duban.cli import app
from tests.web.conftest import Pages, login
from tests.web.test_portal import _mine


def _feed(client: TestClient, url: str) -> icalendar.Calendar:
    r = client.get(url)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    assert all(len(line.encode()) <= 75 for line in r.content.decode().split("\r\n"))
    return icalendar.Calendar.from_ical(r.content)


def test_it_publishes_a_units_deadlines_with_reminders(pages: Pages, client: TestClient) -> None:
    path, ob = _mine(pages)
    page = client.get(path).text
    url = re.search(r'href="(/cal/u/[^"]+\.ics)"', page)
    assert url
    cal = _feed(client, url.group(1))
    events = list(cal.walk("VEVENT"))
    mine = next(e for e in events if str(e["UID"]) == f"obligation-{ob}@duban")
    assert mine.decoded("DTSTART") == date(2024, 9, 26)
    assert "开展安全生产大检查" in str(mine["SUMMARY"]) and "牵头" in str(mine["SUMMARY"])
    triggers = sorted(a.decoded("TRIGGER") for a in mine.walk("VALARM"))
    assert triggers == [timedelta(days=-5), timedelta(hours=-15)]
    assert all("燃气" not in str(e["SUMMARY"]) for e in events)  # 各街镇's duties are not ours
    # a calendar link is read-only: it never opens the portal, and dies with the unit's links
    token = url.group(1).removeprefix("/cal/u/").removesuffix(".ics")
    assert client.get(f"/u/{token}").status_code == 403
    assert client.get(f"/cal/u/{path.removeprefix('/u/')}.ics").status_code == 403
    assert CliRunner().invoke(app, ["portal", "revoke", "区应急局"]).exit_code == 0
    assert client.get(url.group(1)).status_code == 403


def test_it_publishes_a_plans_deadlines_for_the_office(pages: Pages, client: TestClient) -> None:
    login(client)
    page = client.get("/office").text
    url = re.search(r'href="(/cal/p/\d+\.[^"]+\.ics)"', page)
    assert url
    cal = _feed(client, url.group(1))
    summaries = [str(e["SUMMARY"]) for e in cal.walk("VEVENT")]
    assert any("开展安全生产大检查" in s for s in summaries)
    assert any("燃气" in s for s in summaries)
    forged = re.sub(r"\.[^.]+\.ics$", ".AAAA.ics", url.group(1))
    assert client.get(forged).status_code == 403
