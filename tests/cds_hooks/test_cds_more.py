"""CDS Hooks: per-client minimum severity, CORS, fetching from the EHR's FHIR server, JWKS URLs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import create_app
from service.db import clients
from service.db.models import AlertLog

from .conftest import ISSUER, MakeToken, public_jwk
from .fhir_samples import bundle, coded_request, hook_request, text_request

SIGN = "/cds-services/interaction-alerts-order-sign"


def test_a_clients_minimum_severity_hides_lower_cards_but_the_log_keeps_them(
    anonymous: FlaskClient, session: Session
) -> None:
    _, key = clients.create(session, "strict-ehr", "major", actor="test")
    session.commit()
    body = hook_request(
        "order-sign",
        drafts=[
            text_request("d1", "clonazepam"),
            text_request("d2", "zolpidem"),
            text_request("d3", "oxycodone"),
        ],
    )
    cards = anonymous.post(SIGN, json=body, headers={"Authorization": f"Bearer {key}"}).get_json()[
        "cards"
    ]
    assert cards and all(c["indicator"] == "critical" for c in cards)
    row = session.scalars(select(AlertLog).filter_by(channel="cds-hooks")).one()
    assert any(not a["shown"] and a["severity"] == "moderate" for a in row.alerts)


def test_a_revoked_key_is_refused(anonymous: FlaskClient, session: Session) -> None:
    _, key = clients.create(session, "old-ehr", "minor", actor="test")
    clients.revoke(session, "old-ehr", actor="test")
    session.commit()
    body = hook_request("order-sign", drafts=[text_request("d1", "clonazepam")])
    assert (
        anonymous.post(SIGN, json=body, headers={"Authorization": f"Bearer {key}"}).status_code
        == 401
    )


@pytest.fixture()
def cors_app(app: Flask) -> Flask:
    return create_app({**app.config, "CDS_CORS_ORIGINS": "https://sandbox.cds-hooks.org"})


def test_cors_is_granted_only_to_configured_origins(cors_app: Flask) -> None:
    client = cors_app.test_client()
    preflight = client.options(
        SIGN,
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://sandbox.cds-hooks.org"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    other = client.get("/cds-services", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    api = client.get("/api/v1/kb", headers={"Origin": "https://sandbox.cds-hooks.org"})
    assert "Access-Control-Allow-Origin" not in api.headers


class _Fhir(BaseHTTPRequestHandler):
    """A stand-in for the EHR's FHIR server: something outside the service, over real HTTP."""

    seen: ClassVar[list[tuple[str, str | None]]] = []
    answer: ClassVar[dict[str, Any]] = {}

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        payload = json.dumps(self.answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def fhir_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Fhir)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Fhir.seen = []
    yield f"http://127.0.0.1:{server.server_port}/fhir"
    server.shutdown()
    server.server_close()


def test_missing_prefetch_is_fetched_from_the_fhir_server(
    client: FlaskClient, session: Session, fhir_server: str
) -> None:
    clients.add_fhir_server(session, "test-pharmacy", fhir_server, actor="test")
    session.commit()
    _Fhir.answer = bundle(
        coded_request("a1", "197527", "clonazepam 0.5 MG Oral Tablet", status="active"),
        kind="searchset",
    )
    body = hook_request("order-sign", drafts=[text_request("d1", "oxycodone")], prefetch={})
    body["fhirServer"] = fhir_server
    body["fhirAuthorization"] = {
        "access_token": "secret-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "svc",
    }
    cards = client.post(SIGN, json=body).get_json()["cards"]
    assert cards[0]["source"]["topic"]["code"] == "R1"
    paths = [p for p, _ in _Fhir.seen]
    assert "/fhir/MedicationRequest?patient=example&status=active" in paths
    assert all(auth == "Bearer secret-token" for _, auth in _Fhir.seen)


def test_keys_can_come_from_a_jwks_url(
    anonymous: FlaskClient, session: Session, make_token: MakeToken, rsa_key: Any, fhir_server: str
) -> None:
    _Fhir.answer = {"keys": [public_jwk(rsa_key, "rsa-1")]}
    clients.create(session, "jwks-ehr", "minor", actor="test")
    clients.set_jwks_url(
        session, "jwks-ehr", fhir_server.replace("/fhir", "/jwks.json"), ISSUER, actor="test"
    )
    session.commit()
    body = hook_request("order-sign", drafts=[text_request("d1", "clonazepam")])
    response = anonymous.post(
        SIGN, json=body, headers={"Authorization": f"Bearer {make_token(SIGN)}"}
    )
    assert response.status_code == 200
    assert ("/jwks.json", None) in _Fhir.seen
