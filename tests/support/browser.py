"""A real headless browser for tests that look at a page: Debian's chromium through selenium.

Fixture ``browser``: a selenium Chrome WebDriver on ``/usr/bin/chromium`` with
``/usr/bin/chromedriver`` (apt: ``chromium chromium-driver``; pip: ``selenium``), with its own
profile folder, no network chatter and the console log readable through
``driver.get_log("browser")``. Without the browser the test is skipped, except under ``CI``
(env set), where a browser that cannot start fails the test: CI must really look at the page.

Use it from a test module with ``from support import browser as browser_support`` and
``browser = browser_support.browser`` (a plain import of the name reads as unused to pyflakes).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("HPSEARCH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("HPSEARCH_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000",
    # Software WebGL (SwiftShader): plotly's parallel coordinates draw with WebGL, and
    # --disable-gpu alone leaves a headless browser without it.
    "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
)


def _unavailable(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"headless browser unavailable in CI: {why}")
    pytest.skip(f"headless browser unavailable: {why}")


def start_browser(profile_dir: Path):
    """A started WebDriver, or skip/fail (see the module docstring) when it cannot start."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install selenium)")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.exists(path) or shutil.which(path)):
            _unavailable(f"{path} not found (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    except Exception as exc:  # selenium raises many kinds; all mean "no browser here"
        _unavailable(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")


@pytest.fixture
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()
