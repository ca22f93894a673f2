"""Which alerts were overridden most, by which client, and why: the rule × client table and the
reasons, as numbers, pages, JSON and CSV downloads, counted by hand from a small log below."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from service.audit import reports
from service.audit.filters import parse_check_filters
from service.db import clients, kb_store

from .conftest import Alert, Spec, write

pytestmark = pytest.mark.both_databases  # audit queries

PERIOD = {"from": "2026-02-01", "to": "2026-02-03"}
MONITOR = ("monitor", "Will monitor the patient")
QUERY = "from=2026-02-01&to=2026-02-03"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _overridden(
    rule: str, reason: tuple[str, str] | None = ("benefit", "Benefit outweighs risk")
) -> Alert:
    return Alert(
        rule, "major", ("clonazepam", "oxycodone"), feedback=("overridden",), reason=reason
    )


@pytest.fixture()
def answered(app: Flask, session: Session) -> dict[str, list[str]]:
    """Six answered checks in 1-3 Feb 2026 (north, south and one without a client) and one after.

    Returns the ids of the checks each (rule, client) cell counts as overridden.
    """
    ids = {n: clients.create(session, n, "minor", actor="test")[0].id for n in ("north", "south")}
    specs = [
        Spec(_at("2026-02-01T10:00"), "cds-hooks", "north",
             alerts=[_overridden("R1"), Alert("R11", "moderate", ("clonazepam", "zolpidem"))]),
        Spec(_at("2026-02-01T11:00"), "cds-hooks", "south",
             alerts=[Alert("R1", "major", ("clonazepam", "oxycodone"), feedback=("accepted",))],
             not_checked=["xanaxx"]),
        Spec(_at("2026-02-02T09:00"), "cds-hooks", "north",
             alerts=[Alert("R5", "contraindicated", ("sodium oxybate", "ethanol"),
                           feedback=("overridden",), reason=MONITOR)]),
        Spec(_at("2026-02-02T10:00"), "cds-hooks", "north", alerts=[_overridden("R1", MONITOR)]),
        Spec(_at("2026-02-02T11:00"), "cds-hooks", "south", alerts=[_overridden("R1")]),
        Spec(_at("2026-02-03T12:00"), "cds-hooks", None, alerts=[_overridden("R1", None)]),
        Spec(_at("2026-02-04T00:00"), "cds-hooks", "north", alerts=[_overridden("R1")]),
    ]  # fmt: skip
    version = kb_store.active_version_id(session)
    assert version
    with app.test_request_context():
        write(session, specs, version, ids)
    session.commit()
    return {
        "R1 north": [specs[0].id, specs[3].id],
        "R1 south": [specs[4].id],
        "R1": [specs[0].id, specs[3].id, specs[4].id, specs[5].id],
    }


def test_the_matrix_counts_each_rules_answers_per_client_with_rate_and_top_reasons(
    session: Session, answered: dict[str, list[str]]
) -> None:
    matrix = reports.override_matrix(session, parse_check_filters(PERIOD))
    assert [code for code, _ in matrix.rules] == ["R1", "R5"]  # most overridden first
    names = [name for _, name in matrix.clients]
    assert names == ["north", "south", "(no client)"]
    north, south, nobody = (client_id for client_id, _ in matrix.clients)

    def cell(rule: str, client: str) -> tuple[int, int, list[tuple[str, int]]]:
        found = matrix.cells[(rule, client)]
        return found.responses, found.overridden, [(r.reason, r.times) for r in found.reasons]

    assert cell("R1", north) == (2, 2, [("Benefit outweighs risk", 1), (MONITOR[1], 1)])
    assert cell("R1", south) == (2, 1, [("Benefit outweighs risk", 1)])
    assert cell("R1", nobody) == (1, 1, [(reports.NO_REASON, 1)])
    assert cell("R5", north) == (1, 1, [(MONITOR[1], 1)])
    assert ("R5", south) not in matrix.cells
    total = matrix.totals["R1"]
    assert (total.responses, total.overridden, round(total.rate, 2)) == (5, 4, 0.8)
    assert [(r.reason, r.times) for r in total.reasons] == [
        ("Benefit outweighs risk", 2),
        (reports.NO_REASON, 1),
        (MONITOR[1], 1),
    ]


def test_top_override_reasons_rank_reasons_with_their_share_rules_and_clients(
    session: Session, answered: dict[str, list[str]]
) -> None:
    found = reports.override_reasons(session, parse_check_filters(PERIOD))
    assert [(r.reason, r.code, r.times, r.share) for r in found] == [
        ("Benefit outweighs risk", "benefit", 2, 0.4),
        (MONITOR[1], "monitor", 2, 0.4),
        (reports.NO_REASON, "", 1, 0.2),
    ]
    assert found[0].rules == [("R1", 2)] and found[0].clients == [("north", 1), ("south", 1)]
    assert found[1].rules == [("R1", 1), ("R5", 1)] and found[1].clients == [("north", 2)]


def test_a_client_filter_narrows_the_matrix_to_that_clients_column(
    session: Session, answered: dict[str, list[str]]
) -> None:
    south = parse_check_filters({**PERIOD, "client": "south"})
    matrix = reports.override_matrix(session, south)
    assert [name for _, name in matrix.clients] == ["south"]
    assert [code for code, _ in matrix.rules] == ["R1"]


def _ids(html: str) -> set[str]:
    return set(re.findall(r"/audit/checks/([0-9a-f-]{36})", html))


def test_each_matrix_cell_links_to_the_overridden_checks_it_counts(
    auditor: FlaskClient, answered: dict[str, list[str]]
) -> None:
    page = auditor.get(f"/audit/reports?report=override-matrix&{QUERY}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<caption>Overridden of answered, per rule and client</caption>" in html
    assert "2 of 2" in html and "1 of 2" in html and "80%" in html
    links = {
        label: unescape(href)
        for href, label in re.findall(r'<a href="([^"]+)" aria-label="([^"]+)"', html)
    }
    for label, want in (
        ("2 overridden of 2 answered, north: open the checks", "R1 north"),
        ("1 overridden of 2 answered, south: open the checks", "R1 south"),
        ("4 overridden of 5 answered, all clients: open the checks", "R1"),
    ):
        listed = auditor.get(links[label])
        assert listed.status_code == 200
        assert _ids(listed.get_data(as_text=True)) == set(answered[want]), label


def test_the_reasons_page_lists_each_reason_with_its_share(
    auditor: FlaskClient, answered: dict[str, list[str]]
) -> None:
    page = auditor.get(f"/audit/reports?report=override-reasons&{QUERY}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    rows = re.findall(r'<th scope="row">(.*?)</th>\s*<td class="number">(\d+)</td>', html, re.S)
    assert [(re.sub(r"<[^>]+>", "", r).split(" (")[0], n) for r, n in rows] == [
        ("Benefit outweighs risk", "2"),
        (MONITOR[1], "2"),
        (reports.NO_REASON, "1"),
    ]


def test_the_api_answers_the_matrix_and_the_reasons_as_json(
    auditor_token: FlaskClient, answered: dict[str, list[str]]
) -> None:
    matrix = auditor_token.get(f"/api/v1/audit/reports/override-matrix?{QUERY}").get_json()
    assert matrix["report"] == "override-matrix"
    r1 = matrix["rules"][0]
    assert (r1["rule"], r1["responses"], r1["overridden"], r1["override_rate"]) == ("R1", 5, 4, 0.8)
    by_client = {c["client"]: c for c in r1["clients"]}
    assert set(by_client) == {"north", "south", "(no client)"}
    assert by_client["(no client)"]["client_id"] is None
    assert by_client["south"]["top_reasons"] == [
        {"reason": "Benefit outweighs risk", "code": "benefit", "times": 1}
    ]
    reasons = auditor_token.get(f"/api/v1/audit/reports/override-reasons?{QUERY}").get_json()
    assert [(r["reason"], r["times"], r["share_of_overrides"]) for r in reasons["reasons"]] == [
        ("Benefit outweighs risk", 2, 0.4),
        (MONITOR[1], 2, 0.4),
        (reports.NO_REASON, 1, 0.2),
    ]
    assert reasons["reasons"][1]["rules"] == [
        {"rule": "R1", "times": 1},
        {"rule": "R5", "times": 1},
    ]


def _csv(response: object) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", list(reports.REPORTS))
def test_every_report_downloads_as_csv_from_the_page_and_the_api(
    auditor: FlaskClient, auditor_token: FlaskClient, answered: dict[str, list[str]], name: str
) -> None:
    page = auditor.get(f"/audit/reports?report={name}&{QUERY}").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)" download>Download this report as CSV</a>', page)
    assert link
    from_page = auditor.get(unescape(link.group(1)))
    from_api = auditor_token.get(f"/api/v1/audit/reports/{name}.csv?{QUERY}")
    for response in (from_page, from_api):
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.headers["Content-Disposition"].startswith(f'attachment; filename="{name}-')
    assert _csv(from_page) == _csv(from_api)
    assert _csv(from_page), "every report has rows for this log"


def test_the_matrix_csv_has_one_row_per_cell_and_one_total_per_rule(
    auditor_token: FlaskClient, answered: dict[str, list[str]]
) -> None:
    rows = _csv(auditor_token.get(f"/api/v1/audit/reports/override-matrix.csv?{QUERY}"))
    cells = [
        (r["rule"], r["client"], r["responses"], r["overridden"], r["override_rate"]) for r in rows
    ]
    assert cells == [
        ("R1", "north", "2", "2", "1.0"),
        ("R1", "south", "2", "1", "0.5"),
        ("R1", "(no client)", "1", "1", "1.0"),
        ("R1", "(all clients)", "5", "4", "0.8"),
        ("R5", "north", "1", "1", "1.0"),
        ("R5", "(all clients)", "1", "1", "1.0"),
    ]
    assert rows[0]["top_reasons"] == "Benefit outweighs risk (1); Will monitor the patient (1)"


def test_a_report_download_refuses_what_the_report_page_refuses(
    auditor: FlaskClient, auditor_token: FlaskClient, answered: dict[str, list[str]]
) -> None:
    assert auditor.get("/audit/reports/nope.csv").status_code == 404
    assert auditor_token.get("/api/v1/audit/reports/nope.csv").status_code == 404
    refused = auditor_token.get("/api/v1/audit/reports/override-matrix.csv?client=nobody")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == [
        {"field": "client", "message": "no client is named 'nobody'"}
    ]
