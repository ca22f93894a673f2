"""When the log or the knowledge base is unusable, the answer is a 503, never an empty alert list."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from service import create_app
from service.checking import SnapshotCache
from service.db import Database

pytestmark = pytest.mark.both_databases  # fail closed


def test_a_log_that_cannot_be_written_gives_503_and_no_alerts(
    client: FlaskClient, connection: Connection
) -> None:
    connection.execute(text("ALTER TABLE alert_log RENAME TO alert_log_unavailable"))
    response = client.post("/api/v1/checks", json={"medications": ["clonazepam", "oxycodone"]})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert "alerts" not in response.get_json()


def test_without_a_knowledge_base_checks_and_readiness_fail_closed(
    connection: Connection, database_url: str, api_key: str
) -> None:
    connection.execute(text("DELETE FROM kb_version"))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "DATABASE": Database(connection),
            "SNAPSHOTS": SnapshotCache(),
        }
    )
    client = app.test_client()
    auth = {"Authorization": f"Bearer {api_key}"}
    answer = client.post("/api/v1/checks", json={"medications": ["clonazepam"]}, headers=auth)
    assert answer.status_code == 503 and "alerts" not in answer.get_json()
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_a_database_that_cannot_be_reached_gives_503_at_every_door(tmp_path: Path) -> None:
    unreachable = f"sqlite:///{tmp_path / 'missing' / 'alerts.sqlite3'}"  # no such directory
    app = create_app({"TESTING": True, "DATABASE_URL": unreachable, "SECRET_KEY": "test"})
    client = app.test_client()
    auth = {"Authorization": "Bearer ia_never_seen_here"}  # no remembered caller: a read is needed
    responses = [
        client.post("/api/v1/checks", json={"medications": ["clonazepam"]}, headers=auth),
        client.get("/api/v1/checks/01a218b8-dde3-7429-b4c2-2a7b9d027b33", headers=auth),
        client.get("/REST/interaction/list.json?rxcuis=2598+7804", headers=auth),
    ]
    for response in responses:
        assert response.status_code == 503, response.request.path
        assert response.mimetype == "application/problem+json"
        assert "alerts" not in response.get_json()
