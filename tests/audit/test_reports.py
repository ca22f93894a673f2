"""Reports count what a person counting by hand would: a small log, every number worked out below."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from service.audit import reports
from service.audit.filters import Period, parse_check_filters
from service.db import clients, kb_store

from .conftest import Alert, Spec, write

pytestmark = pytest.mark.both_databases  # audit queries

PERIOD = {"from": "2026-02-01", "to": "2026-02-03"}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture()
def small_log(app: Flask, session: Session) -> None:
    """Four checks in the period (1-3 Feb 2026) and two just outside it."""
    ids = {
        name: clients.create(session, name, "minor", actor="test")[0].id
        for name in ("north", "south")
    }
    specs = [
        Spec(_at("2026-02-01T10:00"), "api", "north",
             alerts=[Alert("R1", "major", ("clonazepam", "oxycodone"), feedback=("overridden",)),
                     Alert("R11", "moderate", ("clonazepam", "zolpidem"))]),
        Spec(_at("2026-02-01T15:00"), "cds-hooks", "south",
             alerts=[Alert("R1", "major", ("clonazepam", "oxycodone"), feedback=("accepted",))],
             not_checked=["Klonopinn"]),
        Spec(_at("2026-02-02T09:00"), "cds-hooks", "north",
             alerts=[Alert("R5", "contraindicated", ("sodium oxybate", "alcohol"), feedback=("overridden",)),
                     Alert("D1", "minor", ("clonazepam",), shown=False)],
             not_checked=["xanaxx", "klonopinn "]),
        Spec(_at("2026-02-03T23:59:59"), "web", None,
             alerts=[Alert("R11", "moderate", ("clonazepam", "zolpidem"))], not_checked=["KLONOPINN"]),
        Spec(_at("2026-01-31T23:59:59"), "api", "north",
             alerts=[Alert("R1", "major", ("clonazepam", "oxycodone"), feedback=("overridden",))],
             not_checked=["outside"]),
        Spec(_at("2026-02-04T00:00"), "api", "south",
             alerts=[Alert("R5", "contraindicated", ("sodium oxybate", "alcohol"))], not_checked=["outside"]),
    ]  # fmt: skip
    version = kb_store.active_version_id(session)
    assert version
    with app.test_request_context():
        write(session, specs, version, ids)
    session.commit()


def test_alerts_per_day_count_every_alert_by_severity_on_its_utc_day(
    session: Session, small_log: None
) -> None:
    result = reports.alerts_per_day(session, parse_check_filters(PERIOD))
    assert result.days == [date(2026, 2, 1), date(2026, 2, 2), date(2026, 2, 3)]
    assert result.counts == {
        "contraindicated": [0, 1, 0],
        "major": [2, 0, 0],
        "moderate": [1, 0, 1],
        "minor": [0, 1, 0],
    }
    assert result.totals == [3, 2, 1]


def test_rules_that_fire_most_come_first_with_how_often_they_were_shown(
    session: Session, small_log: None
) -> None:
    result = reports.top_rules(session, parse_check_filters(PERIOD))
    assert [(r.rule, r.alerts, r.shown) for r in result] == [
        ("R1", 2, 2),
        ("R11", 2, 2),
        ("D1", 1, 0),
        ("R5", 1, 1),
    ]
    assert result[0].title  # the active version's title


def test_override_rate_by_rule_is_overridden_over_answered(
    session: Session, small_log: None
) -> None:
    result = reports.override_by_rule(session, parse_check_filters(PERIOD))
    assert [(r.key, r.responses, r.accepted, r.overridden, r.rate) for r in result] == [
        ("R5", 1, 0, 1, 1.0),
        ("R1", 2, 1, 1, 0.5),
    ]


def test_override_rate_by_client(session: Session, small_log: None) -> None:
    result = reports.override_by_client(session, parse_check_filters(PERIOD))
    assert [(r.label, r.responses, r.overridden, r.rate) for r in result] == [
        ("north", 2, 2, 1.0),
        ("south", 1, 0, 0.0),
    ]


@pytest.mark.parametrize("portable", [False, True], ids=["json-functions", "python-fallback"])
def test_unrecognised_inputs_are_grouped_regardless_of_case_and_spaces(
    session: Session, small_log: None, portable: bool
) -> None:
    result = reports.unrecognised_inputs(session, parse_check_filters(PERIOD), portable=portable)
    assert [(i.text, i.times) for i in result.inputs] == [("klonopinn", 3), ("xanaxx", 1)]
    assert result.scanned_only_latest is None


def test_reports_take_the_check_filters(session: Session, small_log: None) -> None:
    only_cds = parse_check_filters({**PERIOD, "channel": "cds-hooks"})
    assert reports.alerts_per_day(session, only_cds).totals == [1, 2, 0]
    assert [(r.rule, r.alerts, r.shown) for r in reports.top_rules(session, only_cds)] == [
        ("D1", 1, 0),
        ("R1", 1, 1),
        ("R5", 1, 1),
    ]
    by_rule = reports.override_by_rule(session, only_cds)
    assert [(r.key, r.responses, r.overridden) for r in by_rule] == [("R5", 1, 1), ("R1", 1, 0)]
    by_client = reports.override_by_client(session, only_cds)
    assert [(r.label, r.responses, r.overridden) for r in by_client] == [
        ("north", 1, 1),
        ("south", 1, 0),
    ]
    assert [i.text for i in reports.unrecognised_inputs(session, only_cds).inputs] == [
        "klonopinn",
        "xanaxx",
    ]


def test_without_a_period_a_report_covers_the_last_thirty_whole_days() -> None:
    period = reports.report_period(Period(), now=_at("2026-03-15T08:00"))
    assert period == Period(_at("2026-02-14T00:00"), _at("2026-03-16T00:00"))


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        ("alerts-per-day", '<rect class="bar sev-major"'),
        ("top-rules", "/audit/checks?from=2026-02-01"),  # a rule links to the checks it counts
        ("override-by-rule", '<td class="number">50%</td>'),  # R1's override rate
        ("override-by-client", "Override rate by client</caption>"),
        ("unrecognised-inputs", '<th scope="row">klonopinn</th><td class="number">3</td>'),
    ],
)
def test_a_report_page_draws_its_one_chart_as_svg_with_its_numbers_in_a_table(
    auditor: FlaskClient, small_log: None, report: str, expected: str
) -> None:
    response = auditor.get(f"/audit/reports?report={report}&from=2026-02-01&to=2026-02-03")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count('<svg class="chart"') == 1 and html.count('role="img"') == 1
    assert html.count("<table") == 1
    assert expected in html
    current = [t for t in reports.REPORTS.values() if f'aria-current="page">{t}</a>' in html]
    assert current == [reports.REPORTS[report]]


def test_the_reports_page_shows_alerts_per_day_by_default_and_refuses_unknown_reports(
    auditor: FlaskClient, small_log: None
) -> None:
    html = auditor.get("/audit/reports").get_data(as_text=True)
    assert '<h2 id="per-day-heading">' in html and html.count('<svg class="chart"') == 1
    assert auditor.get("/audit/reports?report=favourite-colours").status_code == 404


def test_the_reports_api_returns_the_same_numbers(
    auditor_token: FlaskClient, small_log: None
) -> None:
    query = "from=2026-02-01&to=2026-02-03"
    per_day = auditor_token.get(f"/api/v1/audit/reports/alerts-per-day?{query}").get_json()
    assert per_day["period"] == {"from": "2026-02-01T00:00:00Z", "to": "2026-02-04T00:00:00Z"}
    assert per_day["days"][0] == {
        "day": "2026-02-01", "contraindicated": 0, "major": 2, "moderate": 1, "minor": 0, "total": 3,
    }  # fmt: skip
    by_client = auditor_token.get(f"/api/v1/audit/reports/override-by-client?{query}").get_json()
    assert [(c["client"], c["override_rate"]) for c in by_client["clients"]] == [
        ("north", 1.0),
        ("south", 0.0),
    ]
    top = auditor_token.get(f"/api/v1/audit/reports/top-rules?{query}").get_json()
    assert [r["rule"] for r in top["rules"]] == ["R1", "R11", "D1", "R5"]
    by_rule = auditor_token.get(f"/api/v1/audit/reports/override-by-rule?{query}").get_json()
    assert by_rule["rules"][0]["rule"] == "R5" and by_rule["rules"][1]["override_rate"] == 0.5
    inputs = auditor_token.get(f"/api/v1/audit/reports/unrecognised-inputs?{query}").get_json()
    assert inputs["inputs"][0] == {"input": "klonopinn", "times": 3}
    missing = auditor_token.get("/api/v1/audit/reports/favourite-colours")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
