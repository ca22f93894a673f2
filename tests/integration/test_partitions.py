"""On PostgreSQL the logs are partitioned by month: each row lands in its month's table, a row of a
month without one still lands (in DEFAULT), and every partition is as append-only as the log."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from service import checking
from service.db import Database, make_engine, partitions
from service.domain.checkpoint import SigningKey
from service.sealing import SealerThread, Sealing

from ..conftest import migrate

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

THIS_MONTH = datetime.now(UTC).strftime("%Y_%m")


def _partition_of(connection: Connection, table: str, where: str, **values: Any) -> str:
    found = connection.execute(
        text(f"SELECT tableoid::regclass::text FROM {table} WHERE {where}"), values
    ).scalar_one()
    return str(found)


def _index_alerts(connection: Connection) -> None:
    """The auditors' index of every check's alerts, as the projection writes it (it waits for
    the gaps a shared test database leaves in ``seq``, so tests write it themselves)."""
    connection.execute(
        text(
            "INSERT INTO logged_alert (uuid, alert_log_id, alert_id, rule_code, severity, shown, "
            "created_at) SELECT a->>'uuid', id, a->>'id', a->'rule'->>'id', a->>'severity', "
            "(a->>'shown')::boolean, created_at FROM alert_log, json_array_elements(alerts) a "
            "WHERE NOT EXISTS (SELECT 1 FROM logged_alert l WHERE l.alert_log_id = alert_log.id)"
        )
    )


def _check(client: FlaskClient) -> str:
    answer = client.post("/api/v1/checks", json={"medications": ["clonazepam", "oxycodone"]})
    assert answer.status_code == 200, answer.get_json()
    return str(answer.get_json()["check_id"])


def test_a_check_its_alerts_and_its_event_land_in_this_months_partitions(
    client: FlaskClient, connection: Connection
) -> None:
    check_id = _check(client)
    assert _partition_of(connection, "alert_log", "id = :id", id=check_id) == (
        f"alert_log_{THIS_MONTH}"
    )
    _index_alerts(connection)
    alerts_in = connection.execute(
        text("SELECT DISTINCT tableoid::regclass::text FROM logged_alert WHERE alert_log_id = :id"),
        {"id": check_id},
    ).scalars()
    assert list(alerts_in) == [f"logged_alert_{THIS_MONTH}"]
    event_in = connection.execute(
        text("SELECT tableoid::regclass::text FROM audit_event ORDER BY seq DESC LIMIT 1")
    ).scalar_one()
    assert event_in == f"audit_event_{THIS_MONTH}"


class _FarFutureClock(datetime):
    """The check's clock, set to a month no partition was made for."""

    @classmethod
    def now(cls, tz: Any = None) -> _FarFutureClock:
        return cls(2099, 7, 1, 12, 0, tzinfo=UTC)


FAR_FUTURE = _FarFutureClock.now()


def test_a_check_in_a_far_future_month_is_still_logged_in_the_default_partition(
    client: FlaskClient, connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checking, "datetime", _FarFutureClock)
    check_id = _check(client)
    assert _partition_of(connection, "alert_log", "id = :id", id=check_id) == "alert_log_default"
    created_at = connection.execute(
        text("SELECT created_at FROM alert_log WHERE id = :id"), {"id": check_id}
    ).scalar_one()
    assert created_at == FAR_FUTURE


def test_audit_partitions_makes_the_missing_months_once(app: Flask, connection: Connection) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(args=["audit", "partitions", "--months-ahead", "5"])
    assert made.exit_code == 0, made.output
    names = re.findall(r"(?:alert_log|audit_event|logged_alert)_\d{4}_\d{2}", made.output)
    assert len(names) == 2 * len(partitions.PARTITIONED)  # months 4 and 5: 0 to 3 exist
    assert set(names) <= set(partitions.attached(connection, "alert_log")) | set(
        partitions.attached(connection, "audit_event")
    ) | set(partitions.attached(connection, "logged_alert"))
    again = runner.invoke(args=["audit", "partitions", "--months-ahead", "5"])
    assert again.exit_code == 0 and "exists already" in again.output


def test_a_month_with_rows_in_the_default_partition_is_left_there(
    client: FlaskClient, app: Flask, connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows cannot leave DEFAULT (append-only), so that month gets no partition of its own."""
    monkeypatch.setattr(checking, "datetime", _FarFutureClock)
    _check(client)
    made = connection.execute(
        text("SELECT create_log_partition('alert_log', :month)"), {"month": FAR_FUTURE.date()}
    ).scalar()
    assert made is None
    assert "alert_log_2099_07" not in partitions.attached(connection, "alert_log")


GUARDED = [
    statement.format(t=table)
    for table in (
        "alert_log",
        f"alert_log_{THIS_MONTH}",
        "alert_log_default",
        "audit_event",
        f"audit_event_{THIS_MONTH}",
        "logged_alert",
        f"logged_alert_{THIS_MONTH}",
        "logged_alert_default",
    )
    for statement in ("UPDATE {t} SET created_at = created_at", "DELETE FROM {t}", "TRUNCATE {t}")
]


@pytest.mark.parametrize("statement", GUARDED)
def test_the_append_only_triggers_guard_the_parent_and_every_partition(
    client: FlaskClient, connection: Connection, monkeypatch: pytest.MonkeyPatch, statement: str
) -> None:
    _check(client)  # a row in this month's partitions and, below, in the DEFAULT ones
    with monkeypatch.context() as far_future:
        far_future.setattr(checking, "datetime", _FarFutureClock)
        _check(client)
    _index_alerts(connection)
    with pytest.raises(DBAPIError, match="append-only"), connection.begin_nested():
        connection.execute(text(statement))


def test_feedback_naming_a_check_that_is_not_logged_is_refused(
    client: FlaskClient, connection: Connection
) -> None:
    """What the foreign keys to alert_log and logged_alert guaranteed, the trigger still does."""
    check_id = _check(client)
    created_at = connection.execute(
        text("SELECT created_at FROM alert_log WHERE id = :id"), {"id": check_id}
    ).scalar_one()
    insert = text(
        "INSERT INTO cds_feedback (alert_uuid, alert_log_id, check_created_at, outcome, "
        "accepted_suggestions, outcome_at, received_at) VALUES "
        "(:uuid, :check, :at, 'accepted', '[]', now(), now())"
    )
    for check, at in ((check_id, FAR_FUTURE), ("no-such-check", created_at)):
        with pytest.raises(DBAPIError, match="not in alert_log"), connection.begin_nested():
            connection.execute(insert, {"uuid": "u", "check": check, "at": at})
    with pytest.raises(DBAPIError, match="not in logged_alert"), connection.begin_nested():
        connection.execute(insert, {"uuid": "no-such-alert", "check": check_id, "at": created_at})


def test_the_sealer_makes_the_coming_months_partitions(empty_database_url: str) -> None:
    migrate(empty_database_url)
    engine = make_engine(empty_database_url)
    last = f"alert_log_{(datetime.now(UTC).replace(day=1) + timedelta(days=31 * 3)):%Y_%m}"
    with engine.begin() as connection:  # as if the migration ran three months ago
        connection.execute(text(f"DROP TABLE {last}"))
    thread = SealerThread(Sealing(Database(engine), SigningKey.generate("t"), "t"), 0.05)
    thread.start()
    try:
        for _ in range(600):  # until it is made: the thread's first turn makes it
            with engine.connect() as connection:
                if last in partitions.attached(connection, "alert_log"):
                    break
            threading.Event().wait(0.05)
    finally:
        thread.stop()
        thread.join()
    try:
        with engine.connect() as connection:
            assert last in partitions.attached(connection, "alert_log")
    finally:
        engine.dispose()
