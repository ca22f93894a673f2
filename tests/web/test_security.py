"""The web door's guards: CSRF, the per-address rate limit, strict headers, input limits, escaping,
and a log row that holds what was asked and nothing about who asked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from service import create_app
from service.checking import SnapshotCache
from service.config import ConfigurationError
from service.db import Database
from service.db.models import AlertLog

from .helpers import csrf_token, post_form, text

pytestmark = pytest.mark.both_databases  # the rate-limit store and the log row

HOSTILE = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>']


def logged(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AlertLog)) or 0


def test_a_post_without_the_csrf_token_is_refused_and_nothing_is_checked(
    anonymous: FlaskClient, session: Session
) -> None:
    before = logged(session)
    response = post_form(anonymous, ["clonazepam", "oxycodone"], token="")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = text(response)
    assert "Please send your list again" in page
    assert 'value="clonazepam"' in page and 'value="oxycodone"' in page  # nothing to retype
    assert logged(session) == before


def test_a_forged_csrf_token_is_refused(anonymous: FlaskClient, session: Session) -> None:
    before = logged(session)
    csrf_token(anonymous)  # a real session exists, but the token does not belong to it
    response = post_form(anonymous, ["clonazepam"], token="forged.token.value")
    assert response.status_code == 400
    assert logged(session) == before


def test_a_token_from_another_session_is_refused(app: Flask) -> None:
    token = csrf_token(app.test_client())
    response = post_form(app.test_client(), ["clonazepam"], token=token)
    assert response.status_code == 400


def test_the_machine_doors_do_not_need_a_csrf_token(client: FlaskClient) -> None:
    response = client.post("/api/v1/checks", json={"medications": ["clonazepam"]})
    assert response.status_code == 200


@pytest.fixture()
def limited_app(
    connection: Connection, database_url: str, snapshot_cache: SnapshotCache, tmp_path: Path
) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "DATABASE": Database(connection),
            "SNAPSHOTS": snapshot_cache,
            "SECRET_KEY": "test",
            "WEB_RATE_LIMIT": "2 per minute",
        }
    )


def test_the_rate_limit_per_address_ends_in_a_friendly_page(limited_app: Flask) -> None:
    first = limited_app.test_client()
    first.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert post_form(first, ["clonazepam"]).status_code == 200
    assert post_form(first, ["clonazepam"]).status_code == 200
    refused = post_form(first, ["clonazepam"])
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.mimetype == "text/html"
    assert "Too many checks in a short time" in text(refused)
    assert 'name="medicine" value="clonazepam"' in text(refused), "the list is kept for later"
    assert "Content-Security-Policy" in refused.headers
    assert first.get("/").status_code == 200, "reading the form is not limited"

    other = limited_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.8"
    assert post_form(other, ["clonazepam"]).status_code == 200, "the limit is per address"


def test_the_limit_is_shared_by_every_worker(limited_app: Flask) -> None:
    """A second app on the same database, as a second gunicorn worker: together, still 2."""
    other_worker = create_app(dict(limited_app.config))
    browsers = [limited_app.test_client(), other_worker.test_client()]
    for browser in browsers:
        browser.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert post_form(browsers[0], ["clonazepam"]).status_code == 200
    assert post_form(browsers[1], ["clonazepam"]).status_code == 200
    assert post_form(browsers[1], ["clonazepam"]).status_code == 429
    assert post_form(browsers[0], ["clonazepam"]).status_code == 429


@pytest.mark.parametrize("name", ["WEB_RATE_LIMIT", "LOGIN_ADDRESS_RATE_LIMIT"])
def test_a_limit_that_is_not_a_rate_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    monkeypatch.setenv(name, "thirty a minute")
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}", "SECRET_KEY": "test"}
    with pytest.raises(ConfigurationError, match=f"{name}: not a rate like '30 per minute'"):
        create_app(settings)


def test_the_limit_comes_from_the_environment_and_defaults_to_thirty_a_minute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}", "SECRET_KEY": "test"}
    monkeypatch.delenv("WEB_RATE_LIMIT", raising=False)
    assert create_app(settings).config["WEB_RATE_LIMIT"] == "30 per minute"
    monkeypatch.setenv("WEB_RATE_LIMIT", "5 per hour")
    assert create_app(settings).config["WEB_RATE_LIMIT"] == "5 per hour"


def _assert_strict(headers: dict[str, str]) -> None:
    csp = headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "path", ["/", "/static/web.css", "/static/web.js", "/severity.css", "/no-such-page"]
)
def test_pages_and_their_files_carry_strict_security_headers(
    anonymous: FlaskClient, path: str
) -> None:
    with anonymous.get(path) as response:  # static files stream: close them
        _assert_strict(dict(response.headers))


def test_a_result_page_carries_strict_headers_and_is_not_cached(anonymous: FlaskClient) -> None:
    response = post_form(anonymous, ["clonazepam", "oxycodone"])
    _assert_strict(dict(response.headers))
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_style(anonymous: FlaskClient) -> None:
    for page in (text(anonymous.get("/")), text(post_form(anonymous, ["klonopinn", "oxycodone"]))):
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), "an inline script"
        assert "<style" not in page and " style=" not in page
        assert re.search(r"\son\w+=", page) is None, "an inline event handler"


def test_the_session_cookie_is_http_only_and_same_site(anonymous: FlaskClient) -> None:
    cookie = anonymous.get("/").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_medicine_names_are_escaped_on_every_page(
    anonymous: FlaskClient, hostile: str
) -> None:
    pages = {
        "result": post_form(anonymous, [hostile, "clonazepam"]),
        "did-you-mean": post_form(anonymous, ["klonopinn", hostile]),
        "form error": post_form(anonymous, [hostile, "x" * 201]),
        "add another": post_form(anonymous, [hostile], action="add"),
        "csrf refusal": post_form(anonymous, [hostile], token=""),
    }
    for name, response in pages.items():
        page = text(response)
        assert hostile not in page, f"unescaped on the {name} page"
        assert "<img src=x" not in page and "<script>alert" not in page
        assert str(escape(hostile)) in page, f"the name is missing from the {name} page"


def test_the_logged_check_holds_what_was_asked_and_nothing_about_who_asked(
    anonymous: FlaskClient, session: Session
) -> None:
    anonymous.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    token = csrf_token(anonymous)
    response = anonymous.post(
        "/",
        data={
            "medicine": ["Klonopin", "Percocet"],
            "alcohol": "yes",
            "age": "70",
            "csrf_token": token,
        },
        headers={
            "X-Request-ID": "proxy-request-42",
            "X-Forwarded-For": "192.0.2.55",
            "User-Agent": "Mozilla/5.0 (Patient's phone)",
        },
    )
    assert response.status_code == 200
    row = session.scalars(select(AlertLog).order_by(AlertLog.created_at.desc()).limit(1)).one()
    assert row.channel == "web"
    assert row.client_id is None
    assert row.inputs == {
        "medications": ["Klonopin", "Percocet"],
        "drinks_alcohol": True,
        "age": 70,
    }
    assert row.request_id != "proxy-request-42", "a proxy's id would link the check to its log"
    stored = json.dumps(
        [row.inputs, row.medications, row.alerts, row.scope, row.request_id], default=str
    )
    cookie = anonymous.get_cookie("session")
    assert cookie is not None
    for identifying in ("203.0.113.9", "192.0.2.55", "Mozilla", cookie.value, token):
        assert identifying not in stored


@pytest.mark.parametrize(
    ("medicines", "age", "message"),
    [
        ([f"medicine {n}" for n in range(31)], "", "You can check up to 30 medicines at a time."),
        (["clonazepam", "x" * 201], "", "Medicine 2 is too long. Use at most 200 characters."),
        (["clonazepam"], "131", "Enter your age as a whole number from 0 to 130"),
        (["clonazepam"], "-1", "Enter your age as a whole number from 0 to 130"),
        (["clonazepam"], "seventy", "Enter your age as a whole number from 0 to 130"),
        (["", "  "], "", "Enter at least one medicine."),
    ],
)
def test_input_beyond_the_limits_gets_a_friendly_message_and_no_check(
    anonymous: FlaskClient, session: Session, medicines: list[str], age: str, message: str
) -> None:
    before = logged(session)
    response = post_form(anonymous, medicines, age=age)
    assert response.status_code == 422
    page = text(response)
    assert "There is a problem" in page and message in page
    assert 'aria-invalid="true"' in page
    assert "<title>Error: Check your medicines" in page
    assert logged(session) == before


def test_input_at_the_limits_is_checked(anonymous: FlaskClient) -> None:
    medicines = ["clonazepam", "y" * 200, *[f"medicine {n}" for n in range(28)]]
    assert post_form(anonymous, medicines, age="130").status_code == 200
    assert post_form(anonymous, ["clonazepam"], age="0").status_code == 200


def test_control_characters_never_reach_the_check(anonymous: FlaskClient, session: Session) -> None:
    response = post_form(anonymous, ["clonazepam\x00", "oxy\ncodone"])
    assert response.status_code == 200
    row = session.scalars(select(AlertLog).order_by(AlertLog.created_at.desc()).limit(1)).one()
    assert row.inputs["medications"] == ["clonazepam", "oxy codone"]
