"""When the log or the knowledge base is unusable, the answer is a 503, never an empty alert list."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from service import create_app
from service.checking import SnapshotCache
from service.db import Database


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
