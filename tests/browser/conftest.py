"""Browser tests: a real server on 127.0.0.1 (migrated, KB-loaded SQLite) driven by Debian's headless
Chromium through Playwright. Without Chromium they skip, unless REQUIRE_BROWSER=1 or CI=true, where a
missing browser is a failure: a green run must mean the pages were really tried in a browser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from service import create_app
from service.db import Database

from ..browser_support import AXE_JS, unavailable
from ..seeded import copy_sqlite


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """The test output is for failures, not access lines."""


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, seeded_sqlite: Path) -> Iterator[str]:
    """The whole app served over HTTP from a thread, on a free loopback port."""
    url = copy_sqlite(seeded_sqlite, tmp_path_factory.mktemp("browser-db") / "alerts.sqlite3")
    database = Database.from_url(url)
    app = create_app(
        {
            "DATABASE_URL": url,
            "DATABASE": database,
            "SECRET_KEY": "browser-tests",
            "WEB_RATE_LIMIT": "10000 per minute",  # the tests, not the limit, are under test here
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        database.dispose()


def _page(browser: Any, **options: Any) -> Iterator[Any]:
    """A fresh context and page; any console error or page error (a CSP violation, a JS
    exception) fails the test."""
    context = browser.new_context(**{"viewport": {"width": 1024, "height": 800}, **options})
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: Any) -> None:
        # A page answered with 4xx on purpose (a form with errors is a 422) is logged as a failed
        # load of the document itself; a failed stylesheet or script is still a problem.
        url = str(message.location.get("url", ""))
        document = message.text.startswith("Failed to load resource") and not url.endswith(
            (".css", ".js")
        )
        if message.type == "error" and not document:
            problems.append(f"{message.text} ({url})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert problems == [], f"browser console errors: {problems}"


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    yield from _page(browser)


@pytest.fixture()
def page_without_js(browser: Any) -> Iterator[Any]:
    yield from _page(browser, java_script_enabled=False)


@pytest.fixture()
def phone_page(browser: Any) -> Iterator[Any]:
    yield from _page(browser, viewport={"width": 360, "height": 740}, is_mobile=True)


@pytest.fixture()
def axe_page(browser: Any) -> Iterator[Any]:
    """A page that lets the axe-core script be injected: our CSP (rightly) forbids inline script."""
    if not AXE_JS.exists():
        unavailable(f"axe-core not found at {AXE_JS} (run `make axe`, which needs npm)")
    yield from _page(browser, bypass_csp=True)
