"""A real browser: Debian's headless Chromium (through /usr/bin/chromedriver) against `duban web`
on 127.0.0.1. A unit opens the link of a delivered e-mail on a phone-sized window, 签收s and
reports done with a file; the office logs in at a desk-sized window, finds it in the queue and
accepts it (销号); the obligation is closed in the database. A leader sees it and cannot act.

Set DUBAN_SCREENSHOTS=docs/screenshots to keep the pages' screenshots (the README links them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlmodel import Session

from duban import runtime
from models.tables import Obligation
from tests.flows.conftest import Office
from tests.notify.conftest import free_port
from tests.web.conftest import LINK, PASSWORD, add_accounts, deliver_reminders

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
def server(office: Office, tmp_path: Path) -> Iterator[str]:
    """`duban web` on a free port, on the office's database; messages link to it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    deliver_reminders(office, base)
    add_accounts()
    log = (tmp_path / "web.log").open("w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("duban")), "web", "--port", str(port)],
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                if proc.poll() is not None:
                    pytest.fail("duban web exited: " + (tmp_path / "web.log").read_text())
                time.sleep(0.1)
        else:
            pytest.fail("duban web did not start: " + (tmp_path / "web.log").read_text())
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        os.environ.pop("DUBAN_PORTAL_URL", None)


@pytest.fixture
def browser() -> Iterator[object]:
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


def _shot(driver: object, name: str) -> None:
    keep = os.environ.get("DUBAN_SCREENSHOTS")
    folder = Path(keep) if keep else Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    width = driver.execute_script("return document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    height = driver.execute_script("return document.documentElement.scrollHeight")  # type: ignore[attr-defined]
    size = driver.get_window_size()  # type: ignore[attr-defined]
    assert width <= size["width"], f"{name}: the page is wider ({width}px) than the window"
    driver.set_window_size(size["width"], min(max(height + 120, size["height"]), 2400))  # type: ignore[attr-defined]
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path)) and path.stat().st_size > 5000  # type: ignore[attr-defined]
    driver.set_window_size(size["width"], size["height"])  # type: ignore[attr-defined]


def _message_link(office: Office) -> tuple[str, int]:
    for _, rcpts, msg in office.smtp.sink.received:
        if "zhangsan@example.gov.cn" in rcpts:
            body = msg.get_body(("plain",))
            assert body is not None
            found = LINK.search(body.get_content())
            assert found, body.get_content()
            return found.group(0), int(found.group(3))
    raise AssertionError("no message reached 区应急局")


@pytest.mark.slow
def test_it_closes_the_loop_in_a_real_browser(
    office: Office, server: str, browser: object, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    link, ob = _message_link(office)
    assert link.startswith(server)
    evidence = tmp_path / "安全检查报告.pdf"
    evidence.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

    d.set_window_size(*PHONE)  # type: ignore[attr-defined]
    d.get(link.rsplit("/o/", 1)[0])  # type: ignore[attr-defined]
    assert "开展安全生产大检查" in d.page_source and "未签收" in d.page_source  # type: ignore[attr-defined]
    _shot(d, "portal-phone")
    d.get(link)  # type: ignore[attr-defined]
    d.find_element(By.ID, "ack").click()  # type: ignore[attr-defined]
    assert "已签收" in d.find_element(By.ID, "receipt").text  # type: ignore[attr-defined]
    d.find_element(By.ID, "note").send_keys("已完成全区安全生产大检查，共检查企业 126 家")  # type: ignore[attr-defined]
    d.find_element(By.ID, "files").send_keys(str(evidence))  # type: ignore[attr-defined]
    d.find_element(By.ID, "submit-done").click()  # type: ignore[attr-defined]
    assert d.find_element(By.ID, "status").text == "已报送待验收"  # type: ignore[attr-defined]
    assert "安全检查报告.pdf" in d.page_source  # type: ignore[attr-defined]
    _shot(d, "portal-duty-phone")

    d.set_window_size(*DESK)  # type: ignore[attr-defined]
    d.get(f"{server}/office/queue")  # type: ignore[attr-defined]
    d.find_element(By.ID, "login").send_keys("wang")  # type: ignore[attr-defined]
    d.find_element(By.ID, "password").send_keys(PASSWORD)  # type: ignore[attr-defined]
    d.find_element(By.ID, "do-login").click()  # type: ignore[attr-defined]
    row = d.find_element(By.ID, f"sub-{ob}")  # type: ignore[attr-defined]
    assert "区应急局" in row.text and "安全检查报告.pdf" in row.text
    _shot(d, "office-queue-desk")
    d.find_element(By.ID, f"accept-{ob}").click()  # type: ignore[attr-defined]
    assert "已验收销号" in d.find_element(By.CSS_SELECTOR, ".notice.ok").text  # type: ignore[attr-defined]
    d.get(f"{server}/office")  # type: ignore[attr-defined]
    assert d.find_element(By.ID, "plans").is_displayed()  # type: ignore[attr-defined]
    _shot(d, "office-dashboard-desk")

    with Session(runtime.engine()) as s:
        closed = s.get(Obligation, ob)
        assert closed is not None and closed.status == "accepted"

    d.find_element(By.CSS_SELECTOR, "form[action='/office/logout'] button").click()  # type: ignore[attr-defined]
    d.find_element(By.ID, "login").send_keys("zhang")  # type: ignore[attr-defined]
    d.find_element(By.ID, "password").send_keys(PASSWORD)  # type: ignore[attr-defined]
    d.find_element(By.ID, "do-login").click()  # type: ignore[attr-defined]
    d.get(f"{server}/office/obligations/{ob}")  # type: ignore[attr-defined]
    assert "已销号" in d.find_element(By.ID, "status").text  # type: ignore[attr-defined]
    assert not d.find_elements(By.CSS_SELECTOR, "form.act")  # type: ignore[attr-defined]
