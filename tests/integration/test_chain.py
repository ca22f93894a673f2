"""The logs are hash-chained: every kind of tampering done directly in the database is detected."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.db import chain, logged_alerts
from service.db.models import AlertLog

from ..factories import AuditEventFactory

pytestmark = pytest.mark.both_databases  # the hash chain's writes and locks


def _write_checks(client: FlaskClient, count: int = 4) -> None:
    for meds in (
        ["clonazepam", "oxycodone"],
        ["alcohol", "Xyrem"],
        ["Klonopin", "clonazepam"],
        ["zolpidem"],
    )[:count]:
        assert client.post("/api/v1/checks", json={"medications": meds}).status_code == 200
    logged_alerts.catch_up(client.application.extensions["database"])  # the alerts' rows too


def _as_dba(connection: Connection) -> None:
    """Tampering happens below the application, as a database superuser who bypasses the triggers."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL session_replication_role = replica"))


def _delete_entry(connection: Connection, seq: int) -> None:
    """Remove a logged check and its alerts below the application, as a DBA could."""
    _as_dba(connection)
    selected = "SELECT id FROM alert_log WHERE seq = :seq"
    connection.execute(
        text(f"DELETE FROM logged_alert WHERE alert_log_id IN ({selected})"), {"seq": seq}
    )
    connection.execute(text("DELETE FROM alert_log WHERE seq = :seq"), {"seq": seq})


def _forge_after(
    session: Session, connection: Connection, seq: int, alerts: list[Any] | None = None
) -> None:
    """Insert, as ``seq + 1``, a copy of entry ``seq`` correctly hashed after it: a forger's entry."""
    source = session.scalars(select(AlertLog).where(AlertLog.seq == seq)).one()
    values = {f: getattr(source, f) for f in chain.FIELDS[chain.ALERT_LOG]} | {"id": "forged"}
    if alerts is not None:
        values["alerts"] = alerts
    digest = chain.entry_hash(chain.ALERT_LOG, seq + 1, source.row_hash, values)
    links = {"seq": seq + 1, "prev_hash": source.row_hash, "row_hash": digest}
    connection.execute(insert(AlertLog).values(**values, **links))


def _verify(session: Session, name: str = chain.ALERT_LOG) -> chain.Verification:
    session.expire_all()
    return chain.verify(session, name)


def test_an_untouched_log_verifies(client: FlaskClient, session: Session) -> None:
    _write_checks(client)
    result = _verify(session)
    assert result.ok and result.entries == 4 and len(result.head_hash) == 64


def test_checks_logged_while_verify_runs_are_left_for_the_next_run(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_checks(client, 3)
    walk = chain._walk

    def walk_after_another_check(*args: Any) -> Any:
        _write_checks(client, 1)  # committed after verify read the head, before it reads the rows
        return walk(*args)

    monkeypatch.setattr(chain, "_walk", walk_after_another_check)
    result = _verify(session)
    assert result.ok and result.entries == 3
    monkeypatch.undo()
    assert _verify(session).entries == 4


def test_a_modified_entry_is_detected(
    client: FlaskClient, session: Session, connection: Connection
) -> None:
    _write_checks(client)
    _as_dba(connection)
    connection.execute(text("UPDATE alert_log SET highest_severity = 'minor' WHERE seq = 2"))
    result = _verify(session)
    assert not result.ok and result.first_broken == 2 and "modified" in (result.problem or "")


def test_a_modified_json_field_is_detected(
    client: FlaskClient, session: Session, connection: Connection
) -> None:
    _write_checks(client)
    _as_dba(connection)
    connection.execute(text("UPDATE alert_log SET alerts = '[]' WHERE seq = 1"))
    assert _verify(session).first_broken == 1


def test_a_deleted_entry_is_detected(
    client: FlaskClient, session: Session, connection: Connection
) -> None:
    _write_checks(client)
    _delete_entry(connection, 2)
    result = _verify(session)
    assert result.first_broken == 3 and "deleted" in (result.problem or "")


def test_a_removed_last_entry_is_detected(
    client: FlaskClient, session: Session, connection: Connection
) -> None:
    _write_checks(client)
    _delete_entry(connection, 4)
    result = _verify(session)
    assert not result.ok and "head" in (result.problem or "")


def test_an_inserted_entry_is_detected(
    client: FlaskClient, session: Session, connection: Connection
) -> None:
    _write_checks(client)
    _as_dba(connection)
    for seq in (4, 3, 2):  # make room after entry 1, highest first to keep seq unique
        connection.execute(text("UPDATE alert_log SET seq = seq + 1 WHERE seq = :s"), {"s": seq})
    _forge_after(session, connection, 1, alerts=[])
    result = _verify(session)
    assert result.first_broken == 3 and "inserted or reordered" in (result.problem or "")


def test_an_entry_added_past_the_head_is_detected(
    client: FlaskClient, session: Session, connection: Connection
) -> None:
    _write_checks(client)
    _as_dba(connection)
    _forge_after(session, connection, 4)  # well linked to the last entry; the head is not moved
    result = _verify(session)
    assert not result.ok and result.first_broken == 5 and "past the head" in (result.problem or "")


def test_reordered_entries_are_detected(
    client: FlaskClient, session: Session, connection: Connection
) -> None:
    _write_checks(client)
    _as_dba(connection)
    connection.execute(text("UPDATE alert_log SET seq = 100 WHERE seq = 2"))
    connection.execute(text("UPDATE alert_log SET seq = 2 WHERE seq = 3"))
    connection.execute(text("UPDATE alert_log SET seq = 3 WHERE seq = 100"))
    result = _verify(session)
    assert result.first_broken == 2 and not result.ok


def test_the_security_event_log_is_chained_too(session: Session, connection: Connection) -> None:
    for _ in range(3):
        AuditEventFactory()
    assert _verify(session, chain.AUDIT_EVENT).ok
    _as_dba(connection)
    connection.execute(text("UPDATE audit_event SET actor = 'someone-else' WHERE seq = 2"))
    assert _verify(session, chain.AUDIT_EVENT).first_broken == 2


def test_audit_verify_reports_and_exits_non_zero_when_broken(
    app: Flask, client: FlaskClient, connection: Connection
) -> None:
    _write_checks(client, 2)
    runner = app.test_cli_runner()
    good = runner.invoke(args=["audit", "verify"])
    assert (
        good.exit_code == 0
        and "alert_log: 2 entries verified" in good.output
        and "OK" in good.output
    )
    _as_dba(connection)
    connection.execute(text("UPDATE alert_log SET channel = 'web' WHERE seq = 1"))
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1 and "BROKEN at entry 1" in bad.output


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite has no such guard
def test_on_postgresql_the_application_cannot_update_or_delete_log_rows(
    client: FlaskClient, connection: Connection
) -> None:
    _write_checks(client, 1)
    for statement in (
        "UPDATE alert_log SET channel = 'web'",
        "DELETE FROM alert_log",
        "UPDATE audit_event SET actor = 'x'",
        "DELETE FROM logged_alert",
        "TRUNCATE alert_log CASCADE",
    ):
        with pytest.raises(DBAPIError, match="append-only"), connection.begin_nested():
            connection.execute(text(statement))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # a refusing trigger, SQLite's way
def test_audit_verify_exits_by_the_chains_alone_when_it_cannot_record_its_event(
    app: Flask, client: FlaskClient, connection: Connection
) -> None:
    _write_checks(client, 2)
    connection.execute(
        text(
            "CREATE TRIGGER refuse_events BEFORE INSERT ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'no room for events'); END"
        )
    )
    runner = app.test_cli_runner()
    intact = runner.invoke(args=["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    assert intact.exception is None or isinstance(intact.exception, SystemExit)
    assert "alert_log: 2 entries verified" in intact.output and "OK" in intact.output
    assert "Warning: the verification could not be recorded" in intact.stderr
    assert "no room for events" in intact.stderr
    _as_dba(connection)
    connection.execute(text("UPDATE alert_log SET channel = 'web' WHERE seq = 1"))
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1 and "BROKEN at entry 1" in broken.output
    assert "Warning: the verification could not be recorded" in broken.stderr
