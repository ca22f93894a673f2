"""``GET /account`` and ``GET /api/v1/me``: who a session or personal token belongs to. Pharmacy keys
open neither; a disabled person's token stops working at once."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from service.db import users
from service.db.models import User

from .conftest import text


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_account_page_says_who_you_are(admin_browser: FlaskClient) -> None:
    page = text(admin_browser.get("/account"))
    assert "Your account" in page and "morgan" in page
    assert "you can read the logs, and manage users and pharmacy clients" in page


def test_the_account_page_needs_a_sign_in(anonymous: FlaskClient) -> None:
    response = anonymous.get("/account")
    assert (response.status_code, response.headers["Location"]) == (302, "/login?next=/account")


def test_a_personal_token_opens_the_auditor_api(
    anonymous: FlaskClient, auditor: User, session: Session
) -> None:
    token = users.create_token(session, "avery", actor="test")
    session.commit()
    response = anonymous.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json() == {"name": "avery", "role": "auditor"}


def test_without_credentials_the_api_answers_401_with_a_challenge(anonymous: FlaskClient) -> None:
    response = anonymous.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="audit"'


def test_a_pharmacy_key_is_refused(client: FlaskClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 403
    assert response.get_json()["detail"] == "Pharmacy API keys cannot read the audit log."


def test_an_unknown_token_is_refused(anonymous: FlaskClient) -> None:
    assert anonymous.get("/api/v1/me", headers=bearer("iat_made-up")).status_code == 401


def test_a_disabled_persons_token_stops_working_at_once(
    app: Flask, auditor: User, session: Session
) -> None:
    token = users.create_token(session, "avery", actor="test")
    session.commit()
    users.disable(session, "avery", actor="test")
    session.commit()
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401
