"""Chromium for the browser tests of every door: one browser per test session, shared.

Both the patients' pages (tests/browser) and the audit pages (tests/audit) drive it; a second
Playwright instance in the same process would fail, so the fixtures live here and are registered once,
by tests/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BROWSER_TESTS = Path(__file__).resolve().parent / "browser"
ARTIFACTS = BROWSER_TESTS / "artifacts"
AXE_JS = BROWSER_TESTS / "npm" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_required() -> bool:
    return os.environ.get("REQUIRE_BROWSER") == "1" or os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Fail when the browser run is required, skip otherwise; either way say why."""
    if browser_required():
        pytest.fail(f"{reason} (required because REQUIRE_BROWSER=1 or CI=true)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright Python package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots and scan reports of this run (git-ignored, created at run time)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
