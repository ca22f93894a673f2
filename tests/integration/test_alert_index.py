"""The auditors' index of alerts (``logged_alert``) follows the log in bulk and never misses an alert."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from service import sealing
from service.db import logged_alerts
from service.db.models import AlertLog, LoggedAlert, ProjectionMark, TlogLeaf
from service.domain.checkpoint import SigningKey
from service.sealing import Sealing

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


def _sealer_turn(app: Flask) -> None:
    sealing.turn(Sealing(app.extensions["database"], SigningKey.generate("test"), "test"))


def test_checks_leave_the_index_to_the_sealer_which_indexes_them_all(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    checks = [_check(client, meds) for meds in LISTS]
    session.expire_all()
    assert not set(checks) & set(_indexed(session))  # the check's path never touches the index
    _sealer_turn(app)
    session.expire_all()
    indexed = _indexed(session)
    for check_id in checks:
        assert indexed.get(check_id, set()) == _logged(session, check_id)


def test_a_reader_catches_up_in_batches_once(
    app: Flask, client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
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


def test_an_index_that_cannot_be_written_never_stops_the_sealer(
    app: Flask, client: FlaskClient, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    session.execute(text("DROP TABLE projection_mark"))  # undone with the test's transaction
    response = client.post("/api/v1/checks", json={"medications": ["clonazepam", "oxycodone"]})
    assert response.status_code == 200
    check_id = response.get_json()["check_id"]
    with caplog.at_level(logging.WARNING, logger=sealing.__name__):
        _sealer_turn(app)
    seq = session.get_one(AlertLog, check_id).seq
    sealed = select(func.count()).where(TlogLeaf.log == "alert_log", TlogLeaf.entry_seq == seq)
    assert session.scalar(sealed) == 1
    assert "could not bring the alert index up to date" in caplog.text


def test_the_mark_waits_at_a_gap_until_the_check_after_it_is_old_enough() -> None:
    now = datetime.now(UTC)
    old = now - logged_alerts.GAP_WAIT - timedelta(seconds=1)
    assert logged_alerts._settled([(11, now), (12, now), (14, now)], 10) == 12
    assert logged_alerts._settled([(11, old), (13, old), (15, now)], 10) == 13
    assert logged_alerts._settled([(12, now)], 10) == 10
