"""No input makes the JSON API answer 5xx: whatever the body, query or headers, a refusal is a
problem document with its own status, and an accepted check is an answer."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from ..hostile import (
    DEEP_JSON,
    FUZZ,
    header_value,
    hostile_headers,
    hostile_text,
    json_body,
    json_values,
)
from ..hostile import query_strings as queries

pytestmark = pytest.mark.both_databases  # hostile text reaches SQL and JSON columns

CHECK_ID = "01a218b8-dde3-7429-b4c2-2a7b9d027b33"


def assert_door_answer(response: TestResponse) -> None:
    """Below 500; a refusal is an RFC 9457 document whose ``status`` is the response's."""
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == response.status_code


medication_items = st.one_of(
    hostile_text,
    st.fixed_dictionaries(
        {},
        optional={
            "text": st.one_of(hostile_text, json_values),
            "rxcui": st.one_of(hostile_text, json_values),
            "daily_dose": st.one_of(
                json_values,
                st.fixed_dictionaries({"value": json_values, "unit": hostile_text}),
            ),
            "indication": hostile_text,
            "route": hostile_text,
        },
    ),
    json_values,
)

check_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"medications": st.one_of(st.lists(medication_items, max_size=5), json_values)},
        optional={
            "patient": st.one_of(st.fixed_dictionaries({"age": json_values}), json_values),
            "min_severity": st.one_of(hostile_text, json_values),
            "extra": json_values,
        },
    ),
)


@pytest.mark.parametrize(
    "age", [True, False, "70", 70.5, "\uff17\uff10", -1, 131, 2**64, None, [70]]
)
def test_an_age_that_is_not_a_whole_number_of_years_is_a_422(client: FlaskClient, age: Any) -> None:
    body = {"medications": ["clonazepam"], "patient": {"age": age}}
    response = client.post("/api/v1/checks", json=body)
    if age is None:  # an unknown age is allowed
        assert response.status_code == 200
        return
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.get_json()["errors"]] == ["patient.age"]


@pytest.mark.parametrize("raw", DEEP_JSON, ids=["nested-list", "bare-list", "nested-object"])
def test_deeply_nested_json_is_refused_as_malformed(client: FlaskClient, raw: bytes) -> None:
    response = client.post("/api/v1/checks", data=raw, content_type="application/json")
    assert response.status_code in (400, 422)
    assert_door_answer(response)


@pytest.mark.parametrize(
    "text", ["clonazepam\x00", "\x00", "²", "oxycodone ¹⁰ mg", "\ud800", "x\x00" * 90]
)
def test_nul_bytes_superscripts_and_lone_surrogates_are_answered_not_crashed(
    client: FlaskClient, text: str
) -> None:
    response = client.post(
        "/api/v1/checks",
        data=json_body({"medications": [text, {"text": text, "indication": text}]}),
        content_type="application/json",
    )
    assert_door_answer(response)


@FUZZ
@given(body=check_bodies)
@example(body={"medications": ["clonazepam"], "patient": {"age": True}})
@example(body={"medications": [{"text": "oxycodone", "daily_dose": {"value": 1e308, "unit": "g"}}]})
def test_no_check_body_gives_a_5xx(client: FlaskClient, body: Any) -> None:
    response = client.post("/api/v1/checks", data=json_body(body), content_type="application/json")
    assert_door_answer(response)


@FUZZ
@given(raw=st.binary(max_size=200), content_type=header_value, headers=hostile_headers)
def test_no_raw_body_or_header_gives_a_5xx(
    client: FlaskClient, raw: bytes, content_type: str, headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/checks",
        data=raw,
        headers={"Content-Type": f"application/json{content_type[:20]}", **headers},
    )
    assert_door_answer(response)


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/api/v1/drugs",
            "/api/v1/rules",
            "/api/v1/kb",
            f"/api/v1/checks/{CHECK_ID}",
            "/api/v1/checks/%00",
            "/api/v1/checks/" + "9" * 400,
            "/api/v1/me",
        ]
    ),
    query=queries(("q", "limit", "apiKey")),
    headers=hostile_headers,
)
@example(path="/api/v1/drugs", query="q=clon&limit=%C2%B2", headers={})
@example(path="/api/v1/drugs", query="q=clon%00&limit=99999999999999999999", headers={})
def test_no_read_request_gives_a_5xx(
    client: FlaskClient, path: str, query: str, headers: dict[str, str]
) -> None:
    assert_door_answer(client.get(f"{path}?{query}", headers=headers))
