"""A database that cannot be used is a 503 at every door, in that door's own shape: a problem
document for the JSON doors, an OperationOutcome for CDS Hooks, the "check failed" entry for
RxNav, a page for people. Never a 500, and never an answer that reads as "no interactions"."""

from __future__ import annotations

import base64
import json
import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection
from sqlalchemy import text as sql
from werkzeug.test import TestResponse

from service import create_app

pytestmark = pytest.mark.both_databases  # fail closed when the database fails

CHECK_ID = "01a218b8-dde3-7429-b4c2-2a7b9d027b33"
API_KEY = {"Authorization": "Bearer ia_never_seen_here"}  # no remembered caller: a read is needed
AUDITOR_TOKEN = {"Authorization": "Bearer iat_" + "t" * 40}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def unusable_app(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    """The app pointed at a database that is not there: a SQLite file in a missing directory, or
    a PostgreSQL port nothing listens on."""
    url = (
        f"sqlite:///{tmp_path / 'missing' / 'alerts.sqlite3'}"
        if request.param == "sqlite"
        else f"postgresql+psycopg://app@127.0.0.1:{_closed_port()}/alerts"
    )
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "test",
            "PUBLIC_BASE_URL": "http://localhost",  # JWTs are refused without it
        }
    )


def _signed_in(client: FlaskClient) -> FlaskClient:
    with client.session_transaction() as cookie:
        cookie["sid"] = "f" * 64
    return client


def _form_post(client: FlaskClient, path: str, data: dict[str, str]) -> TestResponse:
    token = CSRF.search(client.get("/login" if path == "/login" else "/").get_data(as_text=True))
    assert token, "the form page needs no database, so it has its token"
    return client.post(path, data={**data, "csrf_token": token.group(1)})


Request = Callable[[FlaskClient], TestResponse]

PROBLEM_DOORS: dict[str, Request] = {
    "api check": lambda c: c.post("/api/v1/checks", json={"medications": ["x"]}, headers=API_KEY),
    "api read check": lambda c: c.get(f"/api/v1/checks/{CHECK_ID}", headers=API_KEY),
    "api drugs": lambda c: c.get("/api/v1/drugs?q=clon", headers=API_KEY),
    "api rules": lambda c: c.get("/api/v1/rules", headers=API_KEY),
    "api kb": lambda c: c.get("/api/v1/kb", headers=API_KEY),
    "api me": lambda c: c.get("/api/v1/me", headers=AUDITOR_TOKEN),
    "audit api checks": lambda c: c.get("/api/v1/audit/checks", headers=AUDITOR_TOKEN),
    "audit api check": lambda c: c.get(f"/api/v1/audit/checks/{CHECK_ID}", headers=AUDITOR_TOKEN),
    "audit api events": lambda c: c.get("/api/v1/audit/events", headers=AUDITOR_TOKEN),
    "audit api report": lambda c: c.get("/api/v1/audit/reports/top-rules", headers=AUDITOR_TOKEN),
    "audit api patient": lambda c: c.post(
        "/api/v1/audit/patient-refs", json={"identifier": "MRN-1"}, headers=AUDITOR_TOKEN
    ),
    "readiness": lambda c: c.get("/readyz"),
}

RXNAV_DOORS: dict[str, Request] = {
    "rxnav list": lambda c: c.get("/REST/interaction/list.json?rxcuis=2598+7804", headers=API_KEY),
    "rxnav drug": lambda c: c.get("/REST/interaction/interaction.json?rxcui=2598", headers=API_KEY),
    "rxnav name": lambda c: c.get("/REST/rxcui.json?name=clonazepam", headers=API_KEY),
}

CDS_DOORS: dict[str, Request] = {
    "cds call": lambda c: c.post(
        "/cds-services/interaction-alerts-order-sign", json={}, headers=API_KEY
    ),
    "cds jwt": lambda c: c.post(
        "/cds-services/interaction-alerts-order-sign",
        json={},
        headers={"Authorization": f"Bearer {_unsigned_jwt()}"},
    ),
    "cds feedback": lambda c: c.post(
        "/cds-services/interaction-alerts-order-sign/feedback", json={}, headers=API_KEY
    ),
}

PAGES: dict[str, Request] = {
    "patient form": lambda c: _form_post(c, "/", {"medicine": "clonazepam"}),
    "sign in": lambda c: _form_post(c, "/login", {"name": "avery", "password": "secret"}),
    "account": lambda c: _signed_in(c).get("/account"),
    "admin": lambda c: _signed_in(c).get("/admin/users"),
    "audit checks": lambda c: _signed_in(c).get("/audit/checks"),
    "audit check": lambda c: _signed_in(c).get(f"/audit/checks/{CHECK_ID}"),
    "audit events": lambda c: _signed_in(c).get("/audit/events"),
    "audit reports": lambda c: _signed_in(c).get("/audit/reports"),
    "audit export": lambda c: _signed_in(c).get("/audit/export.csv"),
}


def _unsigned_jwt() -> str:
    """A JWT whose issuer the service must look up (its signature is never reached)."""

    def part(value: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    header = part({"alg": "RS384", "kid": "rsa-1", "typ": "JWT"})
    return f"{header}.{part({'iss': 'https://ehr.example.org'})}.c2lnbmF0dXJl"


@pytest.mark.parametrize("door", PROBLEM_DOORS)
def test_a_json_door_answers_a_503_problem(unusable_app: Flask, door: str) -> None:
    response = PROBLEM_DOORS[door](unusable_app.test_client())
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 503 and "alerts" not in body


@pytest.mark.parametrize("door", RXNAV_DOORS)
def test_rxnav_answers_a_503_with_its_check_failed_entry(unusable_app: Flask, door: str) -> None:
    response = RXNAV_DOORS[door](unusable_app.test_client())
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["status"] == 503
    assert {"fullInteractionTypeGroup", "interactionTypeGroup"} & body.keys()


@pytest.mark.parametrize("door", CDS_DOORS)
def test_cds_hooks_answers_a_503_operation_outcome(unusable_app: Flask, door: str) -> None:
    response = CDS_DOORS[door](unusable_app.test_client())
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome" and "cards" not in body


@pytest.mark.parametrize("door", PAGES)
def test_a_page_answers_a_friendly_503(unusable_app: Flask, door: str) -> None:
    response = PAGES[door](unusable_app.test_client())
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/html"
    assert "<html" in response.get_data(as_text=True).lower()


def test_liveness_does_not_need_the_database(unusable_app: Flask) -> None:
    assert unusable_app.test_client().get("/healthz").status_code == 200


def test_a_statement_the_database_refuses_is_a_503_at_a_read_door(
    app: Flask, connection: Connection
) -> None:
    """Not only a database that is away: a failing statement (here, a missing table) too."""
    connection.execute(sql("ALTER TABLE kb_version RENAME TO kb_version_unavailable"))
    response = app.test_client().get("/api/v1/kb", headers=API_KEY)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
