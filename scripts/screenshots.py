"""Screenshots of the main pages (phone and desk width) with Debian's headless Chromium.

Run against the pages `./scripts/main` leaves running (it prints the login and a portal link):
    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 PASSWORD PORTAL_LINK [docs/screenshots]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

PHONE, DESK = (390, 844), (1366, 900)


def _driver(profile: str) -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--hide-scrollbars",
        "--lang=zh-CN",
    ):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def _shot(d: webdriver.Chrome, size: tuple[int, int], out: Path) -> None:
    d.set_window_size(*size)
    height = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(size[0], min(max(height, size[1]), 2000))
    d.save_screenshot(str(out))
    print(out)


def main(base: str, password: str, link: str, folder: str = "docs/screenshots") -> None:
    """Log in as `office`, open the portal link, save four PNGs into `folder`."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="duban-shots-")
    d = _driver(profile)
    try:
        d.get(link)
        _shot(d, PHONE, out / "portal-phone.png")
        first = d.find_element(By.CSS_SELECTOR, "a.duty-link").get_attribute("href")
        d.get(str(first))
        _shot(d, PHONE, out / "portal-duty-phone.png")
        d.set_window_size(*DESK)
        d.get(f"{base}/office/login")
        d.find_element(By.ID, "login").send_keys("office")
        d.find_element(By.ID, "password").send_keys(password)
        d.find_element(By.ID, "do-login").click()
        _shot(d, DESK, out / "office-dashboard-desk.png")
        d.get(f"{base}/office/queue")
        _shot(d, DESK, out / "office-queue-desk.png")
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
