"""Headless Debian Chromium driven through chromedriver (selenium): the real browser a user
opens the report in. Nothing is downloaded: both binaries come from apt (the Makefile's
``scripts/ensure-debs chromium chromium-driver``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,860", "--hide-scrollbars")


@contextmanager
def chromium() -> Iterator[Any]:
    """A selenium ``webdriver.Chrome`` on the system Chromium; fails (never skips) when absent."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for exe in (CHROMIUM, CHROMEDRIVER):
        if not os.access(exe, os.X_OK):
            raise RuntimeError(f"{exe} is missing: run scripts/ensure-debs chromium chromium-driver (make test does)")
    os.environ["SE_OFFLINE"] = "true"  # selenium-manager never downloads a browser or driver
    profile = tempfile.mkdtemp(prefix="statscore-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
