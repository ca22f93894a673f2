"""The auditors' index of alerts (``logged_alert``) follows the log in bulk and never misses an alert."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from service.db import logged_alerts
from service.db.models import AlertLog, LoggedAlert, ProjectionMark

pytestmark = pytest.mark.both_databases  # the alert index is SQL

LISTS = [
    ["clonazepam", "oxycodone", "zolpidem"],
    ["Klonopin 2 mg", "alcohol"],
    ["amoxicillin"],
    ["alprazolam", "hydrocodone", "gabapentin"],
    ["sodium oxybate", "alcohol"],
]


def _check(client: FlaskClient, meds: list[str]) -> str:
    response = client.post("/api/v1/checks", json={"medications": meds, "min_severity": "major"})
    assert response.status_code == 200
    check_id: str = response.get_json()["check_id"]
    return check_id


def _indexed(session: Session) -> dict[str, set[tuple[str, str, str, str, bool]]]:
    """Each check's alerts as the index holds them."""
    indexed: dict[str, set[tuple[str, str, str, str, bool]]] = {}
    for row in session.scalars(select(LoggedAlert)):
        key = (row.uuid, row.alert_id, row.rule_code, row.severity, row.shown)
        indexed.setdefault(row.alert_log_id, set()).add(key)
    return indexed


def _logged(session: Session, check_id: str) -> set[tuple[str, str, str, str, bool]]:
    entry = session.get_one(AlertLog, check_id)
    return {(a["uuid"], a["id"], a["rule"]["id"], a["severity"], a["shown"]) for a in entry.alerts}


def _mark(session: Session) -> int:
    return session.get_one(ProjectionMark, logged_alerts.MARK).seq


def test_every_EVERY_checks_a_check_indexes_those_before_it(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logged_alerts, "EVERY", 3)
    start = _mark(session)
    # The first check of the test lands on a multiple of 3: the index starts where the log is.
    while (start + 1) % 3:
        _check(client, ["amoxicillin"])
        start += 1
    _check(client, ["amoxicillin"])
    session.expire_all()
    start = _mark(session)
    checks = [_check(client, meds) for meds in LISTS[:4]]
    session.expire_all()
    assert _mark(session) == start + 3
    indexed = _indexed(session)
    for check_id in checks[:3]:
        assert indexed.get(check_id, set()) == _logged(session, check_id)
    assert checks[3] not in indexed  # logged and answered; indexed by the next multiple or reader


def test_a_reader_catches_up_in_batches_once(
    app: Flask, client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logged_alerts, "EVERY", 10**9)
    monkeypatch.setattr(logged_alerts, "BATCH", 2)
    start = _mark(session)
    checks = [_check(client, meds) for meds in LISTS]
    logged_alerts.catch_up(app.extensions["database"])
    session.expire_all()
    # The mark passes them all, unless a seq below is missing (PostgreSQL: earlier tests' checks,
    # rolled back) and may still be committed: every check is indexed either way.
    last = session.get_one(AlertLog, checks[-1]).seq
    present = select(func.count()).where(AlertLog.seq > start, AlertLog.seq <= last)
    assert _mark(session) == (last if session.scalar(present) == last - start else start)
    indexed = _indexed(session)
    for check_id in checks:
        assert indexed.get(check_id, set()) == _logged(session, check_id)
    assert {False, True} <= {shown for rows in indexed.values() for *_, shown in rows}
    rows = session.scalar(select(func.count()).select_from(LoggedAlert))
    logged_alerts.catch_up(app.extensions["database"])
    assert session.scalar(select(func.count()).select_from(LoggedAlert)) == rows


def test_an_index_that_cannot_be_written_never_fails_a_check(
    client: FlaskClient,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(logged_alerts, "EVERY", 1)
    session.execute(text("DROP TABLE projection_mark"))  # undone with the test's transaction
    with caplog.at_level(logging.WARNING, logger=logged_alerts.__name__):
        response = client.post("/api/v1/checks", json={"medications": ["clonazepam", "oxycodone"]})
    assert response.status_code == 200
    assert response.get_json()["highest_severity"] == "major"
    assert session.get(AlertLog, response.get_json()["check_id"]) is not None
    assert "could not bring the alert index up to date" in caplog.text


def test_the_mark_waits_at_a_gap_until_the_check_after_it_is_old_enough() -> None:
    now = datetime.now(UTC)
    old = now - logged_alerts.GAP_WAIT - timedelta(seconds=1)
    assert logged_alerts._settled([(11, now), (12, now), (14, now)], 10) == 12
    assert logged_alerts._settled([(11, old), (13, old), (15, now)], 10) == 13
    assert logged_alerts._settled([(12, now)], 10) == 10
