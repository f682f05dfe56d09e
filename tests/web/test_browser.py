"""A real browser: Debian's headless Chromium (through /usr/bin/chromedriver) against `duban web`
on 127.0.0.1. A unit opens the link of a delivered e-mail on a phone-sized window, 签收s and
reports done with a file; the office logs in at a desk-sized window, finds it in the queue and
sends it back with a reason; the unit sees the reason and redoes it; the office accepts it (销号)
and the obligation is closed in the database. Another unit asks for an extension, the office
grants it and the reminders follow the new date. A leader sees it all and cannot act.

Set DUBAN_SCREENSHOTS=docs/screenshots to keep the pages' screenshots (the README links them).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from sqlmodel import Session

from duban import runtime
from models.tables import Obligation
from tests.flows.conftest import Office
from tests.web.conftest import LINK, PASSWORD

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
PHONE, DESK = (390, 844), (1366, 900)


def _need_browser() -> None:
    if CHROMIUM.exists() and DRIVER.exists():
        return
    if os.environ.get("CI"):
        pytest.fail("CI must have Debian's chromium and chromium-driver (.ci/run installs them)")
    pytest.skip(
        "chromium / chromium-driver not installed (apt-get install chromium chromium-driver)"
    )


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium, no network of its own, a throw-away profile."""
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="duban-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--lang=zh-CN",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _shot(driver: Any, name: str) -> None:
    keep = os.environ.get("DUBAN_SCREENSHOTS")
    folder = Path(keep) if keep else Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    width = driver.execute_script("return document.documentElement.scrollWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    size = driver.get_window_size()
    assert width <= size["width"], f"{name}: the page is wider ({width}px) than the window"
    driver.set_window_size(size["width"], min(max(height + 120, size["height"]), 2400))
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path)) and path.stat().st_size > 5000
    driver.set_window_size(size["width"], size["height"])


def _message_link(office: Office, email: str) -> tuple[str, int]:
    """The first item link in the e-mail delivered to `email`, and its obligation id."""
    for _, rcpts, msg in office.smtp.sink.received:
        if email in rcpts:
            body = msg.get_body(("plain",))
            assert body is not None
            found = LINK.search(body.get_content())
            assert found, body.get_content()
            return found.group(0), int(found.group(3))
    raise AssertionError(f"no message reached {email}")


def _click(d: Any, by: str, what: str) -> None:
    """Click a submit button and wait for the next page to replace this one."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(by, what).click()

    def replaced(driver: Any) -> bool:
        try:
            return bool(expected_conditions.staleness_of(old)(driver))
        except WebDriverException:
            # chromedriver answers "Node with given id does not belong to the document" for an
            # element of a page already replaced, instead of a stale-element error: replaced too.
            return True

    WebDriverWait(d, 15).until(replaced)


def _login(d: Any, server: str, who: str) -> None:
    d.get(f"{server}/office/login")
    d.find_element(By.ID, "login").send_keys(who)
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    _click(d, By.ID, "do-login")


def _report_done(d: Any, link: str, note: str, evidence: Path) -> None:
    d.get(link)
    d.find_element(By.ID, "note").send_keys(note)
    d.find_element(By.ID, "files").send_keys(str(evidence))
    _click(d, By.ID, "submit-done")
    assert d.find_element(By.ID, "status").text == "已报送待验收"
    assert evidence.name in d.page_source


def _obligation(ob: int) -> Obligation:
    with Session(runtime.engine()) as s:
        found = s.get(Obligation, ob)
        assert found is not None
        return found


@pytest.mark.slow
def test_it_closes_the_loop_in_a_real_browser(
    office: Office, server: str, browser: Any, tmp_path: Path
) -> None:
    d = browser
    link, ob = _message_link(office, "zhangsan@example.gov.cn")
    assert link.startswith(server)
    evidence = tmp_path / "安全检查报告.pdf"
    evidence.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

    # the unit, on a phone: opens the link of its e-mail, 签收, reports done with a file
    d.set_window_size(*PHONE)
    d.get(link.rsplit("/o/", 1)[0])
    assert "开展安全生产大检查" in d.page_source and "未签收" in d.page_source
    _shot(d, "portal-phone")
    d.get(link)
    _click(d, By.ID, "ack")
    assert "已签收" in d.find_element(By.ID, "receipt").text
    _report_done(d, link, "已完成全区安全生产大检查，共检查企业 126 家", evidence)
    _shot(d, "portal-duty-phone")

    # the office, at a desk: finds it in the queue and sends it back with a reason
    d.set_window_size(*DESK)
    _login(d, server, "wang")
    d.get(f"{server}/office/queue")
    row = d.find_element(By.ID, f"sub-{ob}")
    assert "区应急局" in row.text and evidence.name in row.text
    _shot(d, "office-queue-desk")
    row.find_element(By.NAME, "reason").send_keys("缺少整改台账，请补充")
    _click(d, By.ID, f"reject-{ob}")
    assert "已退回重办" in d.find_element(By.CSS_SELECTOR, ".notice.ok").text
    assert _obligation(ob).status == "reopened"

    # the unit sees the reason and redoes it; the office accepts (销号)
    d.set_window_size(*PHONE)
    d.get(link)
    assert "缺少整改台账，请补充" in d.find_element(By.ID, "answer").text
    _report_done(d, link, "已补充整改台账", evidence)
    d.set_window_size(*DESK)
    d.get(f"{server}/office/queue")
    _click(d, By.ID, f"accept-{ob}")
    assert "已验收销号" in d.find_element(By.CSS_SELECTOR, ".notice.ok").text
    assert _obligation(ob).status == "accepted"

    # another unit asks for an extension; the office grants it; the reminders follow the new date
    street_link, street_ob = _message_link(office, "qianqi@example.gov.cn")
    d.set_window_size(*PHONE)
    d.get(street_link)
    due = d.find_element(By.ID, "new_due")
    d.execute_script("arguments[0].value = '2024-10-31'", due)
    d.find_element(By.ID, "reason").send_keys("汛期任务冲突，需延后")
    _click(d, By.ID, "submit-extension")
    assert d.find_element(By.ID, "status").text == "申请延期中"
    d.set_window_size(*DESK)
    d.get(f"{server}/office/queue")
    assert "汛期任务冲突" in d.find_element(By.ID, f"ext-{street_ob}").text
    _click(d, By.ID, f"grant-{street_ob}")
    granted = _obligation(street_ob)
    assert granted.due_on.isoformat() == "2024-10-31" and granted.status == "open"
    assert granted.next_action_at is not None
    assert granted.next_action_at.date().isoformat() > "2024-10-20"
    d.get(f"{server}/office")
    assert d.find_element(By.ID, "plans").is_displayed()
    _shot(d, "office-dashboard-desk")

    # a leader reads, and has no action to take
    _click(d, By.CSS_SELECTOR, "form[action='/office/logout'] button")
    _login(d, server, "zhang")
    d.get(f"{server}/office/obligations/{ob}")
    assert "已销号" in d.find_element(By.ID, "status").text
    assert not d.find_elements(By.CSS_SELECTOR, "form.act")
    d.get(f"{server}/office/queue")
    assert not d.find_elements(By.CSS_SELECTOR, "form.act")
