"""Filters read names as the knowledge base does, take several ingredients, and refuse what does not
exist: a typo is a visible error, never an empty list that looks like "nothing happened"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.audit.filters import FilterError
from service.audit.resolve import read_check_filters

from .conftest import Log

pytestmark = pytest.mark.both_databases  # audit queries


def _ids(html: str) -> set[str]:
    return set(re.findall(r"/audit/checks/([0-9a-f-]{36})", html))


def _with(log: Log, *ingredients: str) -> set[str]:
    return {s.id for s in log.specs if any(set(ingredients) & set(a.ingredients) for a in s.alerts)}


@pytest.mark.parametrize(
    ("typed", "means"),
    [
        ("alcohol", ("ethanol",)),
        ("Xanax", ("alprazolam",)),
        ("Klonopin", ("clonazepam",)),
        ("alcohol, Xanax", ("ethanol", "alprazolam")),
        ("oxycodone,OXYCODONE", ("oxycodone",)),
    ],
)
def test_synonyms_and_brands_become_the_ingredients_the_alerts_name(
    app: Flask, log: Log, typed: str, means: tuple[str, ...]
) -> None:
    with app.app_context():
        assert read_check_filters({"ingredient": typed}).ingredients == means


def test_alcohol_finds_the_ethanol_alerts_on_the_page_and_in_the_api(
    auditor: FlaskClient, auditor_token: FlaskClient, log: Log
) -> None:
    want = _with(log, "ethanol")
    assert want
    page = auditor.get("/audit/checks?ingredient=alcohol")
    assert page.status_code == 200 and _ids(page.get_data(as_text=True)) == want
    body = auditor_token.get("/api/v1/audit/checks?ingredient=alcohol&limit=500").get_json()
    assert {item["id"] for item in body["items"]} == want and body["count"] == len(want)


def test_several_ingredients_find_checks_with_an_alert_naming_any_of_them(
    auditor: FlaskClient, auditor_token: FlaskClient, log: Log
) -> None:
    want = _with(log, "ethanol", "zolpidem")
    assert _with(log, "ethanol") < want and _with(log, "zolpidem") < want
    listed = auditor.get("/audit/checks?ingredient=alcohol,+Ambien")
    assert _ids(listed.get_data(as_text=True)) == want
    repeated = auditor_token.get(
        "/api/v1/audit/checks?ingredient=alcohol&ingredient=zolpidem&limit=500"
    ).get_json()
    assert {item["id"] for item in repeated["items"]} == want
    # The next-page and export links carry the list, as one comma-separated value.
    assert "ingredient=alcohol,+ambien" in listed.get_data(as_text=True).replace("%2C", ",")


UNKNOWN = [
    ("ingredient", "xanaxx", "the knowledge base does not know 'xanaxx' (did you mean Xanax"),
    ("ingredient", "oxycodone, codone", "does not know 'codone'"),
    ("client", "nobody", "no client is named 'nobody'"),
    ("rule", "R999", "no knowledge-base version has a rule 'R999'"),
    ("severity", "severe", "must be one of: contraindicated, major, moderate, minor"),
    ("channel", "fax", "must be one of: api, cds-hooks, rxnav, web, cli"),
    ("outcome", "ignored", "must be one of: accepted, overridden, none"),
]


@pytest.mark.parametrize(("field", "value", "message"), UNKNOWN, ids=[u[1] for u in UNKNOWN])
def test_an_unknown_filter_value_is_a_problem_document_in_the_api(
    auditor_token: FlaskClient, log: Log, field: str, value: str, message: str
) -> None:
    for path in ("/api/v1/audit/checks", "/api/v1/audit/reports/override-matrix"):
        response = auditor_token.get(path, query_string={field: value})
        assert response.status_code == 422
        assert response.mimetype == "application/problem+json"
        (error,) = response.get_json()["errors"]
        assert error["field"] == field and message in error["message"]


@pytest.mark.parametrize(("field", "value", "message"), UNKNOWN, ids=[u[1] for u in UNKNOWN])
def test_an_unknown_filter_value_is_shown_on_the_page_instead_of_an_empty_list(
    auditor: FlaskClient, log: Log, field: str, value: str, message: str
) -> None:
    response = auditor.get("/audit/checks", query_string={field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message.replace("'", "&#39;") in html
    assert "checks match" not in html
    report = auditor.get("/audit/reports", query_string={"report": "override-matrix", field: value})
    assert report.status_code == 400 and message.replace("'", "&#39;") in report.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("params", "matches"),
    [
        ({"client": "NORTH"}, lambda s: s.client == "north"),
        ({"rule": "r11"}, lambda s: any(a.rule == "R11" for a in s.alerts)),
    ],
    ids=["client", "rule"],
)
def test_a_client_and_a_rule_are_found_whatever_their_case(
    auditor_token: FlaskClient, log: Log, params: dict[str, str], matches: Any
) -> None:
    body = auditor_token.get(
        "/api/v1/audit/checks", query_string={**params, "limit": "500"}
    ).get_json()
    want = {s.id for s in log.specs if matches(s)}
    assert want and {item["id"] for item in body["items"]} == want


def test_the_cli_refuses_an_unknown_ingredient(app: Flask, log: Log) -> None:
    result = app.test_cli_runner().invoke(
        args=["audit", "export", "--format", "csv", "--ingredient", "xanaxx"]
    )
    assert result.exit_code == 2 and "does not know 'xanaxx'" in result.output


def test_too_many_ingredients_are_refused(app: Flask) -> None:
    with app.app_context(), pytest.raises(FilterError) as refused:
        read_check_filters({"ingredient": ",".join(f"drug{i}" for i in range(11))})
    assert "at most 10 ingredients" in refused.value.errors["ingredient"]
