"""HTTP hygiene on every door: 405 names what is allowed, 401 says how to authenticate, and /readyz
is ready only when the alert log takes writes."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select, text
from werkzeug.datastructures import Headers
from werkzeug.routing import Rule
from werkzeug.test import EnvironBuilder

from service.db.models import AlertLog

# ---- 405 ------------------------------------------------------------------------------------------


def _concrete(rule: Rule) -> str:
    """A URL that the rule matches, its variables filled with something plausible."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: f"x-{m.group(1)}", rule.rule)


def test_every_route_answers_a_wrong_method_with_405_and_allow(app: Flask) -> None:
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if "PATCH" in (rule.methods or ()):
            continue
        response = client.patch(_concrete(rule))
        # Another rule may serve PATCH-less paths with the same shape; each must still say Allow.
        assert response.status_code == 405, rule.rule
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert (rule.methods or set()) <= allowed, (rule.rule, allowed)
        checked += 1
    assert checked > 30  # every door: API, auditor API, CDS Hooks, RxNav, pages, health


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("delete", "/api/v1/checks", "OPTIONS, POST"),
        ("post", "/api/v1/rules", "GET, HEAD, OPTIONS"),
        ("put", "/api/v1/checks/abc", "GET, HEAD, OPTIONS"),
        ("post", "/api/v1/audit/checks", "GET, HEAD, OPTIONS"),
        ("get", "/api/v1/audit/patient-refs", "OPTIONS, POST"),
        ("post", "/REST/interaction/list.json", "GET, HEAD, OPTIONS"),
        ("delete", "/readyz", "GET, HEAD, OPTIONS"),
        ("post", "/openapi.json", "GET, HEAD, OPTIONS"),
    ],
)
def test_a_wrong_method_on_a_json_door_is_a_405_problem_with_allow(
    anonymous: FlaskClient, method: str, path: str, allow: str
) -> None:
    response = getattr(anonymous, method)(path)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 405 and body["type"].endswith("/method-not-allowed")
    assert method.upper() in body["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("post", "/cds-services", "GET, HEAD, OPTIONS"),
        ("get", "/cds-services/interaction-alerts-order-select", "OPTIONS, POST"),
    ],
)
def test_a_wrong_method_on_cds_hooks_is_a_405_operation_outcome_with_allow(
    anonymous: FlaskClient, method: str, path: str, allow: str
) -> None:
    response = getattr(anonymous, method)(path)
    assert response.status_code == 405 and response.headers["Allow"] == allow
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "not-supported"


def test_a_wrong_method_on_a_page_is_a_friendly_405_with_allow(anonymous: FlaskClient) -> None:
    response = anonymous.put("/")
    assert response.status_code == 405 and response.mimetype == "text/html"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


# ---- 401 ------------------------------------------------------------------------------------------

API_KEY_DOORS = [
    ("post", "/api/v1/checks"),
    ("get", "/api/v1/checks/01a218b8-dde3-7429-b4c2-2a7b9d027b33"),
    ("get", "/REST/interaction/list.json?rxcuis=2598+7804"),
    ("get", "/REST/interaction/interaction.json?rxcui=2598"),
    ("get", "/REST/rxcui.json?name=Klonopin"),
]
AUDITOR_DOORS = [
    ("get", "/api/v1/audit/checks"),
    ("get", "/api/v1/audit/checks/01a218b8-dde3-7429-b4c2-2a7b9d027b33"),
    ("get", "/api/v1/audit/events"),
    ("get", "/api/v1/audit/reports/top-rules"),
    ("post", "/api/v1/audit/patient-refs"),
]


@pytest.mark.parametrize(("method", "path"), API_KEY_DOORS + AUDITOR_DOORS)
def test_a_401_without_credentials_carries_a_bare_bearer_challenge(
    anonymous: FlaskClient, method: str, path: str
) -> None:
    response = getattr(anonymous, method)(path)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    challenge = response.headers["WWW-Authenticate"]
    assert re.fullmatch(r'Bearer realm="[a-z-]+"', challenge), challenge


@pytest.mark.parametrize(
    ("method", "path", "token"),
    [(m, p, "ia_" + "x" * 43) for m, p in API_KEY_DOORS]
    + [(m, p, "iat_not-a-token") for m, p in AUDITOR_DOORS],
)
def test_a_401_for_a_wrong_token_says_invalid_token(
    anonymous: FlaskClient, method: str, path: str, token: str
) -> None:
    response = getattr(anonymous, method)(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer realm=") and 'error="invalid_token"' in challenge


def test_a_wrong_api_key_in_the_query_string_is_an_invalid_token_too(
    anonymous: FlaskClient,
) -> None:
    response = anonymous.get("/REST/rxcui.json?name=Klonopin&apiKey=ia_" + "x" * 43)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


# ---- /readyz ----------------------------------------------------------------------------------


def _log_state(connection: Connection) -> tuple[int, int | None]:
    count = connection.execute(select(func.count()).select_from(AlertLog)).scalar_one()
    return count, connection.execute(select(func.max(AlertLog.seq))).scalar_one()


def test_readyz_probes_the_log_without_leaving_anything_in_it(
    client: FlaskClient, connection: Connection
) -> None:
    assert client.post("/api/v1/checks", json={"medications": ["clonazepam"]}).status_code == 200
    before = _log_state(connection)
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["status"] == "ready"
    assert _log_state(connection) == before
    probes = select(func.count()).select_from(AlertLog).where(AlertLog.channel == "probe")
    assert connection.execute(probes).scalar_one() == 0


@pytest.fixture()
def log_refuses_inserts(connection: Connection) -> Iterator[None]:
    """A trigger that refuses every insert into alert_log: the table reads, but takes no writes.

    The DDL runs in the test's outer transaction, so it is rolled back with everything else.
    """
    if connection.dialect.name == "sqlite":
        connection.execute(
            text(
                "CREATE TRIGGER alert_log_refuse_insert BEFORE INSERT ON alert_log "
                "BEGIN SELECT RAISE(ABORT, 'the alert log is read-only'); END"
            )
        )
    else:
        connection.execute(
            text(
                "CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'the alert log is read-only' USING ERRCODE = "
                "'insufficient_privilege'; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER alert_log_refuse_insert BEFORE INSERT ON alert_log "
                "FOR EACH ROW EXECUTE FUNCTION refuse_insert()"
            )
        )
    yield


@pytest.fixture()
def read_only_database(connection: Connection) -> Iterator[None]:
    """The whole database refuses writes to this connection, as a read-only file or role would.

    SQLite: ``PRAGMA query_only`` (the driver then fails every write with "attempt to write a
    readonly database"). PostgreSQL: a role granted only SELECT, created and assumed inside the
    test's transaction (``SET LOCAL ROLE``), so both vanish with its rollback.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = ON")
        try:
            yield
        finally:
            connection.exec_driver_sql("PRAGMA query_only = OFF")
        return
    role = f"reader_{uuid.uuid4().hex[:8]}"
    connection.exec_driver_sql(f"CREATE ROLE {role}")
    connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
    connection.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    connection.exec_driver_sql(f"SET LOCAL ROLE {role}")
    yield


@pytest.mark.usefixtures("log_refuses_inserts")
def test_readyz_is_503_when_the_alert_log_refuses_inserts(
    client: FlaskClient, connection: Connection
) -> None:
    before = _log_state(connection)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert "alert log cannot be written" in response.get_json()["detail"]
    assert _log_state(connection) == before
    # and a check, which would fail the same way, is refused the same way: readiness tells the truth
    check = client.post("/api/v1/checks", json={"medications": ["clonazepam", "oxycodone"]})
    assert check.status_code == 503


@pytest.mark.usefixtures("read_only_database")
def test_readyz_is_503_on_a_read_only_database(anonymous: FlaskClient) -> None:
    response = anonymous.get("/readyz")
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert "alert log cannot be written" in response.get_json()["detail"]
    assert anonymous.get("/healthz").status_code == 200  # alive, just not ready


# ---- bodies a door answered without reading ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v1/checks", 401), ("/cds-services/no-such-service", 404)],
)
def test_a_body_the_answer_did_not_need_is_read_before_the_answer_goes_out(
    app: Flask, path: str, status: int
) -> None:
    """A worker that closes with body bytes unread resets the connection: behind nginx, a 502."""
    body = b'{"medications": ["oxycodone"], "padding": "' + b"x" * 50_000 + b'"}'
    stream = io.BytesIO(body)
    environ = EnvironBuilder(
        path=path,
        method="POST",
        headers=Headers(
            {"Authorization": "Bearer no-such-key", "Content-Type": "application/json"}
        ),
        input_stream=stream,
        content_length=len(body),
    ).get_environ()
    statuses: list[str] = []
    b"".join(app.wsgi_app(environ, lambda s, h, e=None: statuses.append(s)))  # type: ignore[arg-type]
    assert statuses[0].startswith(str(status))
    assert stream.tell() == len(body)
