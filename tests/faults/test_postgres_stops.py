"""A PostgreSQL that stops answering, or stops: the check door answers 503 within the client's
timeout, never hangs, and answers checks again once the server is back."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server

from ..pg_server import PostgresServer, PostgresUnavailable, start_postgres
from .conftest import CHECK, logged_ids, prepare_database, service_on

# A pharmacy system's patience: well above the service's waits (3 s to connect, 5 s a statement).
CLIENT_TIMEOUT = 20.0

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    """A server of this module's own, since the tests stop it."""
    try:
        server = start_postgres("alerts_faults")
    except PostgresUnavailable as error:
        pytest.fail(f"the fault tests need a PostgreSQL server of their own: {error.reason}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api_key(server: PostgresServer) -> str:
    return prepare_database(server.url)


@pytest.fixture()
def base_url(server: PostgresServer) -> Iterator[str]:
    """The service on a real HTTP server, with its production timeouts."""
    app = service_on(server.url)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join()
        app.extensions["database"].dispose()


def check(base_url: str, api_key: str) -> requests.Response:
    response = requests.post(
        f"{base_url}/api/v1/checks",
        json=CHECK,
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=CLIENT_TIMEOUT,  # a hang fails the test with ReadTimeout
    )
    if response.status_code != 200:
        assert response.status_code == 503
        assert response.headers["Content-Type"] == "application/problem+json"
        assert "alerts" not in response.json()
    return response


def test_a_server_that_stops_answering_gives_503_in_time_and_checks_resume(
    server: PostgresServer, api_key: str, base_url: str
) -> None:
    first = check(base_url, api_key)  # the pool holds a connection to the server about to freeze
    assert first.status_code == 200
    frozen = server.processes()
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        assert check(base_url, api_key).status_code == 503
        assert check(base_url, api_key).status_code == 503  # a fresh connection is not answered
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    again = check(base_url, api_key)
    assert again.status_code == 200
    ids = [first.json()["check_id"], again.json()["check_id"]]
    assert logged_ids(server.url, ids) == set(ids)


def test_a_stopped_server_gives_503_and_checks_resume_once_it_is_started(
    server: PostgresServer, api_key: str, base_url: str
) -> None:
    assert check(base_url, api_key).status_code == 200
    server.shut_down()
    try:
        assert check(base_url, api_key).status_code == 503
        assert check(base_url, api_key).status_code == 503
    finally:
        server.start()
    again = check(base_url, api_key)
    assert again.status_code == 200
    assert logged_ids(server.url, [again.json()["check_id"]]) == {again.json()["check_id"]}


def test_the_services_sessions_carry_its_timeouts(server: PostgresServer) -> None:
    app = service_on(server.url, DATABASE_STATEMENT_TIMEOUT=4.0, DATABASE_LOCK_TIMEOUT=1.5)
    database = app.extensions["database"]
    try:
        with database.transaction(read_only=True) as connection:
            shown = {
                name: connection.exec_driver_sql(f"SHOW {name}").scalar_one()
                for name in (
                    "statement_timeout",
                    "lock_timeout",
                    "idle_in_transaction_session_timeout",
                )
            }
    finally:
        database.dispose()
    assert shown == {
        "statement_timeout": "4s",
        "lock_timeout": "1500ms",
        "idle_in_transaction_session_timeout": "1min",
    }
