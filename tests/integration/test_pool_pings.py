"""PostgreSQL: a pooled connection is pinged before use only after it sat idle; one the server
dropped meanwhile is replaced before a statement meets it, and one in use a moment ago is not
pinged at all (the ping was a round trip of its own on every check)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine.interfaces import DBAPIConnection

from service import db as service_db
from service.db import make_engine

pytestmark = pytest.mark.postgres

IDLE = 0.2  # seconds: PING_AFTER_IDLE for these tests, so that they need not wait a second


@pytest.fixture()
def engine(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setattr(service_db, "PING_AFTER_IDLE", IDLE)
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """When the dialect pinged a connection; each ping still goes to the server."""
    seen: list[float] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: DBAPIConnection) -> bool:
        seen.append(time.monotonic())
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return seen


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_backend_pid()")))


def test_a_connection_in_use_a_moment_ago_is_not_pinged(engine: Engine, pings: list[float]) -> None:
    first = backend_pid(engine)
    for _ in range(20):
        assert backend_pid(engine) == first  # the same connection, every time
    assert pings == []


def test_an_idle_connection_is_pinged_before_use(engine: Engine, pings: list[float]) -> None:
    first = backend_pid(engine)
    time.sleep(IDLE * 1.5)
    assert backend_pid(engine) == first
    assert len(pings) == 1


def test_an_idle_connection_the_server_dropped_is_replaced_before_a_statement_meets_it(
    engine: Engine, postgres_url: str, pings: list[float]
) -> None:
    dropped = backend_pid(engine)
    other = make_engine(postgres_url)
    try:
        with other.connect() as connection:
            assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
    finally:
        other.dispose()
    time.sleep(IDLE * 1.5)
    assert backend_pid(engine) != dropped  # no error: the ping found it gone, the pool reconnected
    assert len(pings) == 1
