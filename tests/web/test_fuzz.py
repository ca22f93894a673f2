"""No input makes the patients' pages answer 5xx: whatever is posted or put in the URL, a refusal
is a friendly HTML page, and a check is a result page."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import Connection
from werkzeug.test import TestResponse

from service import create_app
from service.checking import SnapshotCache
from service.db import Database

from ..hostile import FUZZ, NASTY_TEXT, hostile_headers, hostile_text, query_strings
from .helpers import csrf_token

pytestmark = pytest.mark.both_databases  # hostile text reaches SQL and JSON columns


def assert_friendly(response: TestResponse) -> None:
    """Below 500, and every answer a person gets is a page (never JSON or a bare error)."""
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/html"
    if response.status_code >= 400:
        assert "<html" in response.get_data(as_text=True).lower()


@pytest.fixture()
def form_app(
    connection: Connection, database_url: str, snapshot_cache: SnapshotCache, tmp_path: Path
) -> Flask:
    """The app with the form's rate limit and CSRF check out of the way, so every example reaches
    the form's own reading (both have their own tests)."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "DATABASE": Database(connection),
            "SNAPSHOTS": snapshot_cache,
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": False,
            "WEB_RATE_LIMIT": "100000 per minute",
        }
    )


form_fields = st.fixed_dictionaries(
    {"medicine": st.lists(hostile_text, max_size=4)},
    optional={
        "age": hostile_text,
        "alcohol": hostile_text,
        "action": st.one_of(st.sampled_from(["check", "add", "edit"]), hostile_text),
        "replace": st.one_of(
            st.tuples(st.integers(-5, 40), hostile_text).map(lambda p: f"{p[0]}|{p[1]}"),
            hostile_text,
        ),
    },
)


@FUZZ
@given(data=form_fields)
@example(data={"medicine": ["clonazepam\x00"], "age": "70"})
@example(data={"medicine": ["clonazepam", "oxycodone"], "age": "²"})
@example(data={"medicine": ["clonazepam"], "age": "\u0667\u0660"})
@example(data={"medicine": ["clonazepam"], "replace": "99999999999999999999|x"})
@example(data={"medicine": ["x"] * 40, "action": "add"})
def test_no_form_post_gives_a_5xx(form_app: Flask, data: dict[str, object]) -> None:
    assert_friendly(form_app.test_client().post("/", data=data))


@pytest.mark.parametrize("token", ["", "x", "\x00", NASTY_TEXT[-2]])
def test_a_hostile_csrf_token_is_a_friendly_400(anonymous: FlaskClient, token: str) -> None:
    response = anonymous.post("/", data={"medicine": ["clonazepam"], "csrf_token": token})
    assert response.status_code == 400
    assert_friendly(response)


def test_a_real_token_with_hostile_fields_is_still_answered(anonymous: FlaskClient) -> None:
    data = {"medicine": ["clonazepam", "²", "oxycodone"], "age": "\uff17\uff10"}
    response = anonymous.post("/", data={**data, "csrf_token": csrf_token(anonymous)})
    assert_friendly(response)


@FUZZ
@given(
    path=st.sampled_from(["/", "/severity.css", "/no-such-page", "/%00", "/static/%00.css"]),
    query=query_strings(("medicine", "age", "lang")),
    headers=hostile_headers,
)
def test_no_page_request_gives_a_5xx(
    anonymous: FlaskClient, path: str, query: str, headers: dict[str, str]
) -> None:
    response = anonymous.get(f"{path}?{query}", headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        assert response.mimetype == "text/html"
