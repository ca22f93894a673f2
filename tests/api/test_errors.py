"""Every bad request gets an RFC 9457 problem document naming what was wrong."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == status
    return body


def test_malformed_json_is_400(client: FlaskClient) -> None:
    response = client.post("/api/v1/checks", data="{not json", content_type="application/json")
    assert_problem(response, 400)


def test_no_body_is_400(client: FlaskClient) -> None:
    assert_problem(client.post("/api/v1/checks", data="", content_type="application/json"), 400)


def test_wrong_content_type_is_415(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/checks",
        data="medications=clonazepam",
        content_type="application/x-www-form-urlencoded",
    )
    assert_problem(response, 415)


def test_a_body_over_64_kib_is_413(client: FlaskClient) -> None:
    body = '{"medications": ["' + "x" * (65 * 1024) + '"]}'
    assert_problem(client.post("/api/v1/checks", data=body, content_type="application/json"), 413)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"medications": "clonazepam"}, "medications"),
        ({"medications": []}, "medications"),
        ({"medications": ["clonazepam"] * 101}, "medications"),
        ({"medications": ["x" * 201]}, "medications[0]"),
        ({"medications": [42]}, "medications[0]"),
        ({"medications": [{"dose": 2}]}, "medications[0].dose"),
        ({"medications": [{}]}, "medications[0]"),
        (
            {"medications": [{"text": "clonazepam", "daily_dose": {"value": 2, "unit": "spoons"}}]},
            "medications[0].daily_dose.unit",
        ),
        ({"medications": [{"rxcui": "abc"}]}, "medications[0].rxcui"),
        ({"medications": ["clonazepam"], "patient": {"age": -1}}, "patient.age"),
        ({"medications": ["clonazepam"], "min_severity": "severe"}, "min_severity"),
        ({}, "medications"),
        ([], "body"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(
    client: FlaskClient, body: Any, field: str
) -> None:
    problem = assert_problem(client.post("/api/v1/checks", json=body), 422)
    assert any(e["field"] == field for e in problem["errors"]), problem["errors"]


def test_an_unknown_unit_says_which_units_are_accepted(client: FlaskClient) -> None:
    body = {"medications": [{"text": "clonazepam", "daily_dose": {"value": 2, "unit": "drops"}}]}
    problem = assert_problem(client.post("/api/v1/checks", json=body), 422)
    assert "mg" in problem["detail"] and "drops" in problem["detail"]


def test_unknown_routes_are_problems_too(client: FlaskClient) -> None:
    assert_problem(client.get("/api/v1/nope"), 404)
    assert_problem(client.delete("/api/v1/checks"), 405)
