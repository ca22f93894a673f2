"""API clients: the CLI, key handling, what a key lets a client see, and the audit trail of changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db import clients
from service.db.models import AlertLog, ApiClient, AuditEvent

pytestmark = pytest.mark.both_databases  # client rows, keys and their constraints


def _cli(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def test_create_prints_the_key_once_as_the_last_line_and_stores_only_its_hash(
    app: Flask, session: Session
) -> None:
    code, output = _cli(app, "clients", "create", "pharmacy-1", "--min-severity", "moderate")
    assert code == 0
    key = output.strip().splitlines()[-1]
    assert key.startswith("ia_") and len(key) > 40
    stored = session.scalars(select(ApiClient).filter_by(name="pharmacy-1")).one()
    assert stored.min_severity == "moderate"
    assert key not in stored.key_hash and stored.key_hash == clients.hash_key(key)
    assert _cli(app, "clients", "create", "pharmacy-1")[0] != 0  # names are unique


def test_list_revoke_and_set_min_severity(app: Flask, session: Session) -> None:
    _cli(app, "clients", "create", "pharmacy-2")
    code, output = _cli(app, "clients", "set-min-severity", "pharmacy-2", "major")
    assert code == 0 and "minor -> major" in output
    assert _cli(app, "clients", "revoke", "pharmacy-2")[0] == 0
    code, output = _cli(app, "clients", "list")
    assert "pharmacy-2" in output and "min major" in output and "revoked" in output
    assert _cli(app, "clients", "revoke", "nobody")[0] != 0


def test_a_severity_change_is_recorded_with_who_when_old_and_new(
    app: Flask, session: Session
) -> None:
    _cli(app, "clients", "create", "pharmacy-3")
    _cli(app, "clients", "set-min-severity", "pharmacy-3", "moderate")
    event = session.scalars(select(AuditEvent).filter_by(action="client.min_severity")).one()
    assert event.target == "pharmacy-3" and event.actor.startswith("cli:")
    assert event.details == {"old": "minor", "new": "moderate"} and event.created_at is not None


def test_add_jwk_refuses_private_keys(app: Flask, tmp_path: Path) -> None:
    _cli(app, "clients", "create", "ehr-1")
    private = tmp_path / "private.json"
    private.write_text(json.dumps({"kty": "RSA", "kid": "k", "n": "x", "e": "AQAB", "d": "secret"}))
    code, output = _cli(app, "clients", "add-jwk", "ehr-1", str(private), "--issuer", "https://ehr")
    assert code != 0 and "private" in output


def test_checks_need_a_valid_key(anonymous: FlaskClient) -> None:
    body = {"medications": ["clonazepam"]}
    missing = anonymous.post("/api/v1/checks", json=body)
    wrong = anonymous.post(
        "/api/v1/checks", json=body, headers={"Authorization": "Bearer ia_wrong"}
    )
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "body", [b"{not json", b'{"medications": []}', b'{"medications": "clonazepam"}']
)
def test_an_unknown_key_is_refused_before_the_body_is_looked_at(
    anonymous: FlaskClient, session: Session, body: bytes
) -> None:
    response = anonymous.post(
        "/api/v1/checks",
        data=body,
        headers={"Authorization": "Bearer ia_wrong", "Content-Type": "application/json"},
    )
    assert response.status_code == 401
    assert "medications" not in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(AlertLog)) == 0


def test_a_revoked_key_stops_working_at_once(client: FlaskClient, session: Session) -> None:
    assert client.post("/api/v1/checks", json={"medications": ["clonazepam"]}).status_code == 200
    clients.revoke(session, "test-pharmacy", actor="test")
    session.commit()
    assert client.post("/api/v1/checks", json={"medications": ["clonazepam"]}).status_code == 401
    assert session.scalar(select(func.count()).select_from(AlertLog)) == 1  # the refused one: none


def test_a_changed_minimum_severity_applies_to_the_next_check(
    client: FlaskClient, session: Session
) -> None:
    meds = {"medications": ["clonazepam", "zolpidem", "oxycodone"]}
    before = client.post("/api/v1/checks", json=meds).get_json()
    clients.set_min_severity(session, "test-pharmacy", "major", actor="test")
    session.commit()
    after = client.post("/api/v1/checks", json=meds).get_json()
    assert "moderate" in {a["severity"] for a in before["alerts"]}
    assert {a["severity"] for a in after["alerts"]} == {"major"}
    assert session.get_one(AlertLog, after["check_id"]).min_severity == "major"


def test_a_client_sees_only_its_own_checks(
    client: FlaskClient, anonymous: FlaskClient, session: Session
) -> None:
    check_id = client.post("/api/v1/checks", json={"medications": ["clonazepam"]}).get_json()[
        "check_id"
    ]
    _, other_key = clients.create(session, "other-pharmacy", "minor", actor="test")
    session.commit()
    other = anonymous.get(
        f"/api/v1/checks/{check_id}", headers={"Authorization": f"Bearer {other_key}"}
    )
    assert other.status_code == 404
    assert client.get(f"/api/v1/checks/{check_id}").status_code == 200
    assert anonymous.get(f"/api/v1/checks/{check_id}").status_code == 401


def test_the_clients_minimum_severity_filters_the_json_api_and_the_log_records_the_client(
    anonymous: FlaskClient, session: Session
) -> None:
    _, key = clients.create(session, "major-only", "major", actor="test")
    session.commit()
    answer = anonymous.post(
        "/api/v1/checks",
        json={"medications": ["clonazepam", "zolpidem", "oxycodone"]},
        headers={"Authorization": f"Bearer {key}"},
    ).get_json()
    assert {a["severity"] for a in answer["alerts"]} == {"major"}
    row = session.get(AlertLog, answer["check_id"])
    assert row is not None and row.client_id == clients.by_name(session, "major-only").id
    assert {a["severity"] for a in row.alerts} == {"major", "moderate"}


def test_open_endpoints_need_no_key(anonymous: FlaskClient) -> None:
    for path in (
        "/api/v1/drugs?q=klon",
        "/api/v1/rules",
        "/api/v1/kb",
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/cds-services",
    ):
        assert anonymous.get(path).status_code == 200, path


def test_rotate_key_prints_a_new_key_once_and_the_old_one_stops_working(
    app: Flask, session: Session
) -> None:
    old = _cli(app, "clients", "create", "pharmacy-r")[1].strip().splitlines()[-1]
    code, output = _cli(app, "clients", "rotate-key", "pharmacy-r")
    assert code == 0 and "the old key no longer works" in output
    new = output.strip().splitlines()[-1]
    assert new.startswith("ia_") and new != old
    body = {"medications": ["clonazepam"]}
    api = app.test_client()
    refused = api.post("/api/v1/checks", json=body, headers={"Authorization": f"Bearer {old}"})
    assert refused.status_code == 401
    answered = api.post("/api/v1/checks", json=body, headers={"Authorization": f"Bearer {new}"})
    assert answered.status_code == 200
    event = session.scalars(select(AuditEvent).filter_by(action="client.rotate_key")).one()
    assert event.target == "pharmacy-r" and event.actor.startswith("cli:")
    _cli(app, "clients", "revoke", "pharmacy-r")
    code, output = _cli(app, "clients", "rotate-key", "pharmacy-r")
    assert code != 0 and "is revoked" in output
    assert _cli(app, "clients", "rotate-key", "nobody")[0] != 0
