"""The driver-cursor statements (``db/prepared.py``): the SQLAlchemy internals they copy, and the switch.

Why pin: the fast path compiles a statement and processes its parameters itself, with SQLAlchemy's
compiler attributes (``binds``, ``positiontup``, ``effective_value``) and the column types' bind
processors. If an upgrade changes any of that, the fast path would send other SQL or other bytes
than SQLAlchemy does; these tests compare the two, statement by statement, and fail first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session
from uuid_utils import uuid7

from service.callers import ApiKey
from service.checking import _INSERT_LOG, CheckRequest, SnapshotCache, check_and_log
from service.db import Database, clients, kb_store, log_append, make_engine, prepared, seen_jwts
from service.domain.check import CheckContext, MedicationInput

pytestmark = pytest.mark.both_databases  # two drivers, two parameter styles

Captured = list[tuple[str, Any]]


@pytest.fixture()
def slow_connection(database_url: str) -> Iterator[Connection]:
    """A connection of an engine with the switch off, in a transaction that is rolled back."""
    engine = make_engine(database_url, fast_paths=False)
    try:
        with engine.connect() as connection:
            transaction = connection.begin()
            yield connection
            transaction.rollback()
    finally:
        engine.dispose()


def _capture(bind: Engine | Connection) -> tuple[Captured, Any]:
    seen: Captured = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    target = bind.engine if isinstance(bind, Connection) else bind
    event.listen(target, "before_cursor_execute", before)
    return seen, lambda: event.remove(target, "before_cursor_execute", before)


def _pinned(connection: Connection) -> list[tuple[Any, Mapping[str, Any]]]:
    """Every statement a check runs on the fast path, with parameters of each type it binds."""
    now = datetime.now(UTC)
    version = kb_store.active_version_id(connection)
    row = {
        "id": str(uuid7()),
        "created_at": now,
        "channel": "api",
        "client_id": None,
        "request_id": "pinned",
        "kb_version_id": version,
        "inputs": {"medications": ["clonazepam"]},
        "medications": [{"input": "clonazepam", "status": "recognized"}],
        "alerts": [{"id": "a", "severity": "major", "shown": True}],
        "scope": {"statement": "s", "not_checked": [], "recognized_without_rules": []},
        "complete": True,
        "highest_severity": "major",
        "min_severity": None,
        "patient_ref": None,
    }
    append = log_append._INSERTS[("alert_log", connection.dialect.name == "sqlite")]
    return [
        (kb_store._ACTIVE_VERSION, {}),
        (clients._ACTIVE_BY_KEY_HASH, {"key_hash": "0" * 64}),
        (clients._ACTIVE_BY_ISSUER, {"client_id": "c", "issuer": "i", "jwks_url": None}),
        (seen_jwts._SEEN, {"issuer": "i", "jti": "j"}),
        (seen_jwts._SWEEP, {"now": now}),
        (seen_jwts._RECORD, {"issuer": "i", "jti": "j", "expires_at": now}),
        (append, row),
        (_INSERT_LOG, {**row, "id": str(uuid7()), "seq": 10**9}),  # the readiness probe's
    ]


def test_the_fast_path_sends_what_sqlalchemy_sends(connection: Connection) -> None:
    for statement, values in _pinned(connection):
        seen, stop = _capture(connection)
        try:
            connection.execute(statement, dict(values))  # SQLAlchemy's own execution
        finally:
            stop()
        compiled = prepared._compile(statement, connection.dialect)
        ours = compiled.parameters(values)
        (sql, theirs) = seen[-1]
        assert compiled.sql == sql, statement
        if compiled.positional:
            assert _plain(tuple(ours)) == _plain(tuple(theirs)), statement
        else:
            assert _plain(ours) == _plain(dict(theirs)), statement


def _plain(parameters: Any) -> Any:
    """Comparable values: psycopg's ``Json`` wrappers by what they wrap."""
    if isinstance(parameters, dict):
        return {name: _plain(value) for name, value in parameters.items()}
    if isinstance(parameters, tuple):
        return tuple(_plain(value) for value in parameters)
    if type(parameters).__name__ == "Json":
        return ("json", parameters.obj)
    return parameters


def test_with_the_switch_off_the_checks_statements_reach_sqlalchemys_events(
    slow_connection: Connection, snapshot_cache: SnapshotCache
) -> None:
    db = Database(slow_connection)
    with Session(bind=slow_connection) as session:
        _, key = clients.create(session, "switch-off", "minor", actor="test")
        session.flush()
    seen, stop = _capture(slow_connection)
    try:
        answer = check_and_log(
            db,
            snapshot_cache,
            CheckRequest(
                raw_items=["clonazepam", "oxycodone"],
                items=[MedicationInput(text="clonazepam"), MedicationInput(text="oxycodone")],
                context=CheckContext(),
                min_severity=None,
                raw_request={"medications": ["clonazepam", "oxycodone"]},
            ),
            ApiKey(key),
            channel="api",
            request_id="switch-off",
        )
    finally:
        stop()
    sent = [sql for sql, _ in seen]
    for statement in (
        clients._ACTIVE_BY_KEY_HASH,
        kb_store._ACTIVE_VERSION,
        log_append._INSERTS[("alert_log", slow_connection.dialect.name == "sqlite")],
    ):
        assert prepared._compile(statement, slow_connection.dialect).sql in sent
    assert answer["alerts"], "the check ran and was answered"


def test_with_the_switch_on_they_go_around_them(
    connection: Connection, snapshot_cache: SnapshotCache
) -> None:
    """The counterpart: on the fast path the same check shows SQLAlchemy none of them."""
    seen, stop = _capture(connection)
    try:
        check_and_log(
            Database(connection),
            snapshot_cache,
            CheckRequest(
                raw_items=["clonazepam"],
                items=[MedicationInput(text="clonazepam")],
                context=CheckContext(),
                min_severity=None,
                raw_request={"medications": ["clonazepam"]},
            ),
            None,
            channel="web",
            request_id="switch-on",
        )
    finally:
        stop()
    append = log_append._INSERTS[("alert_log", connection.dialect.name == "sqlite")]
    insert_sql = prepared._compile(append, connection.dialect).sql
    assert insert_sql not in [sql for sql, _ in seen]
