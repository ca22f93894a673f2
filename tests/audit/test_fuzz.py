"""No input makes the auditors' doors answer 5xx: the API refuses with a problem document, the
pages with a page, whatever the filters, sort, cursor, period or body."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from service.audit.filters import CHECK_FILTER_NAMES, EVENT_FILTER_NAMES
from service.audit.reports import REPORTS

from ..hostile import FUZZ, hostile_headers, hostile_text, json_body, json_values, query_strings
from .conftest import Log

pytestmark = pytest.mark.both_databases  # hostile filters reach SQL

PARAMETERS = (*CHECK_FILTER_NAMES, *EVENT_FILTER_NAMES, "sort", "dir", "after", "before", "limit")
CHECK_ID = "01a218b8-dde3-7429-b4c2-2a7b9d027b33"
API_PATHS = (
    "/api/v1/audit/checks",
    "/api/v1/audit/events",
    *(f"/api/v1/audit/reports/{name}" for name in REPORTS),
    "/api/v1/audit/reports/%00",
    f"/api/v1/audit/checks/{CHECK_ID}",
    "/api/v1/audit/checks/" + "f" * 300,
)
PAGE_PATHS = (
    "/audit/checks",
    "/audit/events",
    "/audit/reports",
    "/audit/export.csv",
    "/audit/export.json",
    "/audit/events/export.csv",
    f"/audit/checks/{CHECK_ID}",
    "/audit/checks/%C2%B2",
)


def assert_problem_or_answer(response: TestResponse) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == response.status_code


@FUZZ
@given(path=st.sampled_from(API_PATHS), query=query_strings(PARAMETERS), headers=hostile_headers)
@example(path=API_PATHS[0], query="from=%C2%B2%C2%B3&to=9999-12-31T23:59:59Z", headers={})
@example(path=API_PATHS[2], query="from=1900-01-01", headers={})
@example(path=API_PATHS[0], query="limit=%D9%A7&after=%EF%BC%91", headers={})
@example(path=API_PATHS[0], query="ingredient=" + "x" * 5000, headers={})
@example(path=API_PATHS[1], query="from=2026-01-01T00:00+99:00", headers={})
def test_no_audit_api_query_gives_a_5xx(
    auditor_token: FlaskClient, log: Log, path: str, query: str, headers: dict[str, str]
) -> None:
    assert_problem_or_answer(auditor_token.get(f"{path}?{query}", headers=headers))


@FUZZ
@given(body=st.one_of(st.fixed_dictionaries({"identifier": json_values}), json_values))
@example(body={"identifier": "MRN\x00-1"})
def test_no_patient_reference_body_gives_a_5xx(auditor_token: FlaskClient, body: object) -> None:
    response = auditor_token.post(
        "/api/v1/audit/patient-refs", data=json_body(body), content_type="application/json"
    )
    assert_problem_or_answer(response)


@FUZZ
@given(
    path=st.sampled_from(PAGE_PATHS),
    query=query_strings((*PARAMETERS, "report")),
    report=st.one_of(st.sampled_from(list(REPORTS)), hostile_text),
)
@example(path="/audit/reports", query="from=0001-01-01", report="alerts-per-day")
@example(path="/audit/export.csv", query="from=1900-01-01&to=9998-12-31", report="")
def test_no_audit_page_query_gives_a_5xx(
    auditor: FlaskClient, log: Log, path: str, query: str, report: str
) -> None:
    response = auditor.get(
        f"{path}?{query}&{urlencode({'report': report}, errors='surrogatepass')}"
    )
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        assert response.mimetype == "text/html"
