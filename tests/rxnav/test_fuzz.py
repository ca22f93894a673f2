"""No URL makes the RxNav door answer 5xx: a refusal is a problem document that also carries the
"check failed" entry RxNav clients read, on every URL, whatever the query, key or headers."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from ..hostile import FUZZ, hostile_headers, hostile_text, query_strings

pytestmark = pytest.mark.both_databases  # hostile text reaches SQL and JSON columns

FAILURE_GROUPS = {"fullInteractionTypeGroup", "interactionTypeGroup"}
PATHS = (
    "/REST/interaction/list.json",
    "/REST/interaction/interaction.json",
    "/REST/rxcui.json",
    "/REST/interaction/%00.json",
    "/REST/approximateTerm.json",
    "/interaction/list.json",
)
PARAMETERS = ("rxcuis", "rxcui", "name", "search", "sources", "age", "indication", "apiKey")


def assert_rxnav_answer(response: TestResponse) -> None:
    """Below 500; a refusal is a problem document with a failure group where clients look."""
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        body = response.get_json()
        assert body["status"] == response.status_code
        assert FAILURE_GROUPS & body.keys(), body


rxcui_lists = st.lists(
    st.one_of(st.sampled_from(["2598", "7804", "448", "99999999"]), hostile_text), max_size=5
).map("+".join)


@FUZZ
@given(
    path=st.sampled_from(PATHS),
    query=query_strings(PARAMETERS),
    headers=hostile_headers,
)
@example(path=PATHS[0], query="rxcuis=2598+7804&age=%C2%B2", headers={})
@example(path=PATHS[0], query="rxcuis=2598%00&indication=pain", headers={})
@example(path=PATHS[2], query="name=clon%00azepam&search=%C2%B9", headers={})
@example(path=PATHS[1], query="rxcui=" + "9" * 500, headers={})
def test_no_url_gives_a_5xx(
    client: FlaskClient, path: str, query: str, headers: dict[str, str]
) -> None:
    assert_rxnav_answer(client.get(f"{path}?{query}", headers=headers))


@FUZZ
@given(rxcuis=rxcui_lists, age=hostile_text, indication=hostile_text)
def test_no_interaction_list_query_gives_a_5xx(
    client: FlaskClient, rxcuis: str, age: str, indication: str
) -> None:
    response = client.get(
        "/REST/interaction/list.json",
        query_string={"rxcuis": rxcuis, "age": age, "indication": indication},
    )
    assert_rxnav_answer(response)


@FUZZ
@given(key=hostile_text, path=st.sampled_from(PATHS[:3]))
def test_no_api_key_in_the_query_gives_a_5xx(anonymous: FlaskClient, key: str, path: str) -> None:
    response = anonymous.get(path, query_string={"rxcuis": "2598", "rxcui": "2598", "apiKey": key})
    assert response.status_code in (400, 401)
    assert_rxnav_answer(response)
