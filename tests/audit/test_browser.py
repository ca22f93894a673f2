"""The audit pages in real headless Chromium: filtering, opening a check, downloading an export,
seeing the charts, and an axe-core scan. With ``UPDATE_SCREENSHOTS=1`` they also refresh the README's
screenshots in ``docs/``. Like the patients' browser tests they skip without Chromium (fail with
``REQUIRE_BROWSER=1`` or ``CI=true``)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from service import create_app
from service.db import Database, clients
from service.domain.checkpoint import SigningKey
from service.domain.snapshot import KbSnapshot

from .. import factories
from ..browser.conftest import _page, _QuietHandler
from ..browser_support import AXE_JS
from ..seeded import copy_sqlite
from ..strategies import seed_knowledge
from . import realistic

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = {
    "checks": ROOT / "docs" / "audit-checks.png",
    "check": ROOT / "docs" / "audit-check.png",
    "reports": ROOT / "docs" / "audit-reports.png",
}
OVERRIDE_SCREENSHOTS = {
    "override-matrix": ROOT / "docs" / "audit-override-matrix.png",
    "override-reasons": ROOT / "docs" / "audit-override-reasons.png",
}


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(scope="module")
def audit_server(
    tmp_path_factory: pytest.TempPathFactory, seeded_sqlite: Path
) -> Iterator[tuple[str, str]]:
    """A served app with three weeks of realistic checks, a verification run, and an auditor's
    signed session cookie value (the login page is not under test here)."""
    url = copy_sqlite(seeded_sqlite, tmp_path_factory.mktemp("audit-browser") / "alerts.sqlite3")
    database = Database.from_url(url)
    knowledge = seed_knowledge()
    app = create_app(
        {
            "DATABASE_URL": url,
            "DATABASE": database,
            "SECRET_KEY": "audit-browser",
            "AUDIT_SIGNING_KEY": SigningKey.generate("audit-browser").text(),
        }
    )
    with app.app_context(), database.unit_of_work() as session:
        made = [
            clients.create(session, name, level, actor="cli:ops")[0]
            for name, level in (
                ("Northside Pharmacy", "minor"),
                ("Riverside Clinic EHR", "moderate"),
            )
        ]
        kb = KbSnapshot(knowledge.content_hash(), knowledge)
        realistic.add_checks(session, kb, [(c.id, c.min_severity) for c in made], 240, 21)
        factories.bind(session)
        user = factories.UserFactory(name="avery", role="auditor")
        sid = factories.UserSessionFactory(user_id=user.id).id
        session.commit()
    assert app.test_cli_runner().invoke(args=["audit", "seal", "--once"]).exit_code == 0
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
    cookie = app.session_interface.get_signing_serializer(app).dumps({"sid": sid})  # type: ignore[attr-defined]
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", cookie
    finally:
        server.shutdown()
        thread.join(timeout=10)
        database.dispose()


def _signed_in(page: Any, server: tuple[str, str]) -> str:
    base, cookie = server
    page.context.add_cookies([{"name": "session", "value": cookie, "url": base}])
    return base


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    yield from _page(browser, viewport={"width": 1280, "height": 900})


@pytest.fixture()
def axe_page(browser: Any) -> Iterator[Any]:
    if not AXE_JS.exists():
        pytest.skip(f"axe-core not found at {AXE_JS} (run `make axe`, which needs npm)")
    yield from _page(browser, viewport={"width": 1280, "height": 900}, bypass_csp=True)


def test_an_auditor_filters_the_list_opens_a_check_and_sees_the_charts(
    page: Any,
    audit_server: tuple[str, str],
    artifacts: Path,
) -> None:
    base = _signed_in(page, audit_server)
    page.goto(f"{base}/audit/checks")
    expect(page.get_by_text("Logs intact")).to_be_visible()
    page.get_by_label("Channel").select_option("cds-hooks")
    page.get_by_label("Clinician's response").select_option("overridden")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("status")).to_contain_text("checks match")
    assert "channel=cds-hooks" in page.url and "outcome=overridden" in page.url
    page.get_by_role("link", name="Highest severity").click()
    expect(page.locator('th[aria-sort="descending"]')).to_contain_text("Highest severity")
    page.screenshot(path=str(artifacts / "audit-checks.png"), full_page=False)

    page.locator("tbody th a").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check")
    expect(
        page.get_by_role("heading", name="Rules that fired, as they were in this version")
    ).to_be_visible()
    expect(page.get_by_text("overridden").first).to_be_visible()
    page.screenshot(path=str(artifacts / "audit-check.png"), full_page=True)

    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page.locator("svg.chart")).to_have_count(1)
    expect(page.get_by_role("img", name="Alerts per day by severity")).to_be_visible()
    page.screenshot(path=str(artifacts / "audit-reports.png"), full_page=True)
    reports_nav = page.get_by_role("navigation", name="Reports")
    reports_nav.get_by_role("link", name="Override rate by rule").click()
    expect(page.locator("svg.chart")).to_have_count(1)
    expect(page.get_by_role("img", name="Override rate by rule")).to_be_visible()
    expect(reports_nav.get_by_role("link", name="Override rate by rule")).to_have_attribute(
        "aria-current", "page"
    )

    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        for name, target in SCREENSHOTS.items():
            shutil.copyfile(artifacts / f"audit-{name}.png", target)


def test_an_auditor_reads_overrides_by_rule_and_client_and_opens_the_checks_of_a_cell(
    page: Any, audit_server: tuple[str, str], artifacts: Path, tmp_path: Path
) -> None:
    base = _signed_in(page, audit_server)
    page.goto(f"{base}/audit/reports")
    reports_nav = page.get_by_role("navigation", name="Reports")
    reports_nav.get_by_role("link", name="Overrides by rule and client").click()
    table = page.get_by_role("table", name="Overridden of answered, per rule and client")
    expect(table).to_be_visible()
    for client in ("Northside Pharmacy", "Riverside Clinic EHR", "All clients"):
        expect(table.get_by_role("columnheader", name=client)).to_be_visible()
    page.screenshot(path=str(artifacts / "audit-override-matrix.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download this report as CSV").click()
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    first_rule = rows[0]["rule"]
    northside = next(
        r for r in rows if r["rule"] == first_rule and r["client"] == "Northside Pharmacy"
    )

    cell = table.get_by_role(
        "link",
        name=f"{northside['overridden']} overridden of {northside['responses']} answered, "
        "Northside Pharmacy: open the checks",
    ).first
    cell.click()
    expect(page.get_by_role("status")).to_contain_text(f"{northside['overridden']} check")
    assert f"rule={first_rule}" in page.url and "outcome=overridden" in page.url
    expect(page.get_by_label("Clinician's response")).to_have_value("overridden")

    page.goto(f"{base}/audit/reports?report=override-reasons")
    reasons = page.get_by_role("table", name="Override reasons")
    expect(reasons.get_by_role("rowheader", name="Benefit outweighs risk")).to_be_visible()
    page.screenshot(path=str(artifacts / "audit-override-reasons.png"), full_page=True)

    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        for name, path in OVERRIDE_SCREENSHOTS.items():
            shutil.copyfile(artifacts / f"audit-{name}.png", path)


def test_the_export_link_downloads_the_filtered_view_as_csv(
    page: Any, audit_server: tuple[str, str], tmp_path: Path
) -> None:
    base = _signed_in(page, audit_server)
    page.goto(f"{base}/audit/checks?channel=web")
    shown = page.get_by_role("status").inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert rows and {r["channel"] for r in rows} == {"web"}
    assert shown.startswith(f"{len(rows)} check")


def test_an_axe_scan_of_the_audit_pages_finds_no_serious_or_critical_problems(
    axe_page: Any,
    audit_server: tuple[str, str],
    artifacts: Path,
) -> None:
    page = axe_page
    base = _signed_in(page, audit_server)
    found = {}
    page.goto(f"{base}/audit/checks")
    first_check = page.locator("tbody th a").first.get_attribute("href")
    for name, path in (
        ("checks", "/audit/checks"),
        ("checks-with-errors", "/audit/checks?from=soon"),
        ("check", first_check),
        ("events", "/audit/events"),
        ("reports", "/audit/reports"),
        ("reports-override-by-rule", "/audit/reports?report=override-by-rule"),
        ("reports-unrecognised-inputs", "/audit/reports?report=unrecognised-inputs"),
        ("reports-override-matrix", "/audit/reports?report=override-matrix"),
        ("reports-override-reasons", "/audit/reports?report=override-reasons"),
        ("checks-unknown-ingredient", "/audit/checks?ingredient=xanaxx"),
    ):
        page.goto(f"{base}{path}")
        page.add_script_tag(path=str(AXE_JS))
        report = page.evaluate("async () => await axe.run(document)")
        (artifacts / f"axe-audit-{name}.json").write_text(
            json.dumps(report["violations"], indent=2)
        )
        found[name] = [
            f"{v['id']} ({v['impact']}): {v['help']}"
            for v in report["violations"]
            if v["impact"] in ("serious", "critical")
        ]
    assert found == {name: [] for name in found}
