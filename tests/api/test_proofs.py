"""``GET /api/v1/checks/<id>/proof``: a check's own client and auditors get a proof a third party
can check with ``docs/verify_proof.py``; everyone else learns nothing."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from docs.verify_proof import verify_proof
from service.db import Database, clients
from service.db.users import token_hash
from service.domain.checkpoint import SigningKey
from service.sealing import Sealing, seal_all

from .. import factories

pytestmark = pytest.mark.both_databases  # the proof's reads (a row-value IN) differ

ROOT = Path(__file__).resolve().parents[2]
KEY = SigningKey.generate("proof-test")
AUDITOR_TOKEN = "iat_proof-test-auditor"


@pytest.fixture()
def app(app: Flask) -> Flask:
    app.config.update(AUDIT_SIGNING_KEY=KEY.text(), LOG_ORIGIN="proofs.test")
    return app


def _check(client: FlaskClient, medications: list[str]) -> str:
    answer = client.post("/api/v1/checks", json={"medications": medications})
    assert answer.status_code == 200
    check_id: str = answer.get_json()["check_id"]
    return check_id


def _seal(app: Flask) -> None:
    db: Database = app.extensions["database"]
    assert seal_all(Sealing(db, KEY, "proofs.test"))


def _bearer(app: Flask, token: str) -> FlaskClient:
    other = app.test_client()
    other.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return other


@pytest.fixture()
def sealed(app: Flask, client: FlaskClient) -> list[str]:
    """Five checks by the pharmacy, sealed: a tree of five leaves (proofs of 2 and 3 hashes)."""
    ids = [
        _check(client, medications)
        for medications in (
            ["clonazepam", "oxycodone"],
            ["alcohol", "Xyrem"],
            ["zolpidem"],
            ["Klonopin", "clonazepam"],
            ["oxycodone", "alcohol"],
        )
    ]
    _seal(app)
    return ids


def test_the_client_gets_a_proof_a_third_party_can_check(
    app: Flask, client: FlaskClient, sealed: list[str]
) -> None:
    for n, check_id in enumerate(sealed):
        answer = client.get(f"/api/v1/checks/{check_id}/proof")
        assert answer.status_code == 200
        proof = answer.get_json()
        assert proof["log"] == "alert_log" and proof["leaf_index"] == n
        assert proof["tree_size"] == 5 and proof["verifier_key"] == KEY.verifier_text()
        assert proof["checkpoint"].startswith("proofs.test/alert_log\n5\n")
        entry = verify_proof(proof, KEY.verifier_text())
        assert entry["log"] == "alert_log" and entry["content"]["id"] == check_id
    # The entry in the leaf is the check as it was answered.
    answer = client.get(f"/api/v1/checks/{sealed[0]}")
    leaf = json.loads(
        base64.b64decode(client.get(f"/api/v1/checks/{sealed[0]}/proof").get_json()["leaf"])
    )
    assert leaf["content"]["highest_severity"] == answer.get_json()["highest_severity"]


def test_the_documented_script_checks_a_real_proof(
    client: FlaskClient, sealed: list[str], tmp_path: Path
) -> None:
    proof = client.get(f"/api/v1/checks/{sealed[3]}/proof").get_json()
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    script = [sys.executable, str(ROOT / "docs" / "verify_proof.py"), str(path)]
    good = subprocess.run([*script, KEY.verifier_text()], capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("OK: alert_log entry ") and sealed[3] in good.stdout
    other = SigningKey.generate("proof-test").verifier_text()  # the same name, not the log's key
    refused = subprocess.run([*script, other], capture_output=True, text=True)
    assert refused.returncode != 0 and "not signed by proof-test" in refused.stderr


TAMPERING = {
    "another leaf": lambda p: {**p, "leaf": base64.b64encode(b'{"log":"alert_log"}').decode()},
    "a proof hash flipped": lambda p: {
        **p,
        "inclusion_proof": [base64.b64encode(bytes(32)).decode(), *p["inclusion_proof"][1:]],
    },
    "another index": lambda p: {**p, "leaf_index": (p["leaf_index"] + 1) % p["tree_size"]},
    "a re-written checkpoint": lambda p: {
        **p,
        "checkpoint": p["checkpoint"].replace(
            "proofs.test/alert_log\n5\n", "proofs.test/alert_log\n6\n"
        ),
    },
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_a_tampered_proof_does_not_verify(
    client: FlaskClient, sealed: list[str], tamper: Any
) -> None:
    proof = client.get(f"/api/v1/checks/{sealed[2]}/proof").get_json()
    verify_proof(proof, KEY.verifier_text())
    with pytest.raises((ValueError, InvalidSignature)):
        verify_proof(tamper(proof), KEY.verifier_text())


def test_a_check_not_sealed_yet_is_a_409_to_retry(client: FlaskClient, sealed: list[str]) -> None:
    fresh = _check(client, ["zolpidem", "alcohol"])
    answer = client.get(f"/api/v1/checks/{fresh}/proof")
    assert answer.status_code == 409 and answer.headers["Retry-After"] == "1"
    assert answer.mimetype == "application/problem+json"
    assert answer.get_json()["type"].endswith("/not-sealed")


def test_auditors_get_any_proof_and_everyone_else_a_404(
    app: Flask, session: Session, anonymous: FlaskClient, sealed: list[str]
) -> None:
    auditor = factories.UserFactory(name="proof-auditor", role="auditor")
    factories.UserTokenFactory(user_id=auditor.id, token_hash=token_hash(AUDITOR_TOKEN))
    _, other_key = clients.create(session, "other-pharmacy", "minor", actor="test")
    session.commit()
    path = f"/api/v1/checks/{sealed[1]}/proof"
    assert _bearer(app, AUDITOR_TOKEN).get(path).status_code == 200
    for stranger in (other_key, "iat_nobody", "not-a-key"):
        answer = _bearer(app, stranger).get(path)
        assert answer.status_code == 404 and "leaf" not in answer.get_json(), stranger
    assert anonymous.get(path).status_code == 401
    assert _bearer(app, AUDITOR_TOKEN).get("/api/v1/checks/no-such-check/proof").status_code == 404


def test_an_entry_edited_after_sealing_gets_no_proof(
    client: FlaskClient, connection: Connection, sealed: list[str]
) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL session_replication_role = replica"))
    connection.execute(
        text("UPDATE alert_log SET channel = 'web' WHERE id = :id"), {"id": sealed[0]}
    )
    answer = client.get(f"/api/v1/checks/{sealed[0]}/proof")
    assert answer.status_code == 500 and answer.get_json()["type"].endswith("/log-integrity")
    assert client.get(f"/api/v1/checks/{sealed[1]}/proof").status_code == 200
