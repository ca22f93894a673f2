"""Report periods are bounded: a span no report can list in time, or a date that overflows, is a
validation error naming the field, never a hang or a 500 (found by schemathesis)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

pytestmark = pytest.mark.both_databases  # audit queries


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=1900-01-01&to=2026-01-01", "from"),  # 46,000 days of alerts-per-day
        ("from=1900-01-01", "from"),  # to defaults to tomorrow
        ("to=9999-12-31", "to"),  # the day after it overflows
        ("from=0001-01-01", "from"),
    ],
)
def test_an_unbounded_report_period_is_a_422_naming_the_field(
    auditor_token: FlaskClient, query: str, field: str
) -> None:
    response = auditor_token.get(f"/api/v1/audit/reports/alerts-per-day?{query}")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in {e["field"] for e in response.get_json()["errors"]}


def test_ten_years_is_still_a_report(auditor_token: FlaskClient) -> None:
    response = auditor_token.get(
        "/api/v1/audit/reports/alerts-per-day?from=2017-01-01&to=2026-12-01"
    )
    assert response.status_code == 200 and len(response.get_json()["days"]) > 3000


def test_the_reports_page_refuses_it_as_a_form_error(auditor: FlaskClient) -> None:
    response = auditor.get("/audit/reports?report=alerts-per-day&from=1900-01-01")
    assert response.status_code == 400
