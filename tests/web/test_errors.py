"""Errors: friendly pages for people, problem documents for machines, and never "no problems"."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection
from sqlalchemy import text as sql

from .helpers import csrf_token, post_form, text


def test_an_unknown_page_is_a_friendly_404(anonymous: FlaskClient) -> None:
    response = anonymous.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Page not found" in text(response)
    assert "Go to the medicine check" in text(response)


@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-thing", "/cds-services/no/such/service", "/REST/no-such.json"]
)
def test_the_machine_doors_keep_problem_documents(anonymous: FlaskClient, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_a_wrong_method_on_a_page_is_a_friendly_405(anonymous: FlaskClient) -> None:
    response = anonymous.put("/")
    assert response.status_code == 405 and response.mimetype == "text/html"
    assert "That did not work" in text(response)


def test_a_body_too_large_for_a_page_is_a_friendly_413(anonymous: FlaskClient) -> None:
    response = anonymous.post("/", data={"medicine": "x" * 70_000})
    assert response.status_code == 413 and response.mimetype == "text/html"
    assert "too much to check at once" in text(response)


def test_an_unexpected_error_on_a_page_is_a_friendly_500_and_json_for_machines(app: Flask) -> None:
    def boom() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/v1/boom", "api_boom", boom)
    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "This is not a “no problems” answer." in text(page)
    machine = client.get("/api/v1/boom")
    assert machine.status_code == 500 and machine.mimetype == "application/problem+json"


def test_when_the_check_cannot_be_logged_the_page_says_so_and_never_no_problems(
    anonymous: FlaskClient, connection: Connection
) -> None:
    connection.execute(sql("ALTER TABLE alert_log RENAME TO alert_log_unavailable"))
    response = post_form(anonymous, ["clonazepam", "oxycodone"])
    assert response.status_code == 503 and response.mimetype == "text/html"
    page = text(response)
    assert "We could not check your medicines right now" in page
    assert "No check was done. This is not a “no problems” answer." in page
    assert "No warnings found" not in page and 'class="card' not in page
    assert "Try the check again" in page and 'value="oxycodone"' in page
    assert "Call 911" in page


def test_a_wallet_card_is_never_printed_from_an_unlogged_check(
    anonymous: FlaskClient, connection: Connection
) -> None:
    connection.execute(sql("ALTER TABLE alert_log RENAME TO alert_log_unavailable"))
    response = anonymous.post(
        "/card", data={"medicine": ["clonazepam", "oxycodone"], "csrf_token": csrf_token(anonymous)}
    )
    assert response.status_code == 503
    page = text(response)
    assert "No check was done." in page and "wallet-card" not in page
