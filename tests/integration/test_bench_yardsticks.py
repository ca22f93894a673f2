"""bench/http.py's yardstick for an unlogged check answers what a logged check answers: for a
whole session it answered 500 to every request, and its figures measured an error page."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Connection

from bench.bare_app import create_app as create_bench_app
from service.checking import SnapshotCache
from service.db import Database

pytestmark = pytest.mark.both_databases

MEDICATIONS = ["Klonopin 2 mg tablet", "PERCOCET 5/325", "ketoconazole", "gabapentin"]


def test_the_unlogged_check_answers_the_alerts_of_a_logged_check(
    app: Flask, connection: Connection, database_url: str, snapshot_cache: SnapshotCache,
    api_key: str, tmp_path: Path,
) -> None:  # fmt: skip
    logged = app.test_client().post(
        "/api/v1/checks",
        json={"medications": MEDICATIONS},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    bench = create_bench_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "DATABASE": Database(connection),
            "SNAPSHOTS": snapshot_cache,
            "SECRET_KEY": "test",
        }
    )
    unlogged = bench.test_client().post("/bench/unlogged-check", json={"medications": MEDICATIONS})
    assert logged.status_code == unlogged.status_code == 200
    alerts = [(a["id"], a["severity"], a["clinician_text"]) for a in logged.get_json()["alerts"]]
    assert alerts
    assert [
        (a["id"], a["severity"], a["clinician_text"]) for a in unlogged.get_json()["alerts"]
    ] == alerts
