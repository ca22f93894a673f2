"""Every door's check takes one database transaction on the happy path: the one that writes its log row.

Why count: each transaction is a round trip or two and, on SQLite, a turn at the one writer lock;
the doors used to differ (one to three per check). The app here runs on a real engine (not the
tests' savepoints), so every ``BEGIN`` it sends is seen by SQLAlchemy's ``begin`` event.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, event, func, select
from werkzeug.test import TestResponse

from service import create_app
from service.checking import SnapshotCache
from service.db import Database, clients, kb_store, make_engine
from service.db.models import AlertLog
from service.kb.loader import read_knowledge_base

from ..cds_hooks.conftest import BASE, public_jwk
from ..cds_hooks.fhir_samples import coded_request, hook_request
from ..conftest import SEED_DIR, migrate
from ..web.helpers import post_form

pytestmark = pytest.mark.both_databases  # PostgreSQL pipelines its statements, SQLite does not

ORDER_SIGN = "/cds-services/interaction-alerts-order-sign"


@pytest.fixture()
def fresh_url(empty_database_url: str) -> str:
    """A database of its own, migrated and loaded: the app commits into it for real."""
    migrate(empty_database_url)
    return empty_database_url


@pytest.fixture()
def engine_of_app(fresh_url: str) -> Iterator[Engine]:
    engine = make_engine(fresh_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture()
def issuer() -> str:
    """An issuer of this test's own: a process remembers the issuers it has seen, with their client."""
    return f"https://ehr-{uuid.uuid4().hex[:8]}.example.org"


def _token(key: rsa.RSAPrivateKey, issuer: str, path: str) -> str:
    """A fresh signed token for ``path``, as an EHR sends one per request."""
    now = int(time.time())
    claims = {"iss": issuer, "aud": f"{BASE}{path}", "iat": now, "exp": now + 300}
    claims["jti"] = str(uuid.uuid4())
    return jwt.encode(claims, key, algorithm="RS384", headers={"kid": "rsa-1"})


@pytest.fixture()
def keys(engine_of_app: Engine, rsa_key: rsa.RSAPrivateKey, issuer: str) -> str:
    """The seed KB active, an API client, and a CDS client with an RSA key; returns the API key."""
    with Database(engine_of_app).unit_of_work() as session:
        version, _ = kb_store.store(session, read_knowledge_base(SEED_DIR))
        kb_store.activate(session, version)
        _, key = clients.create(session, "pharmacy", "minor", actor="test")
        clients.create(session, "ehr", "minor", actor="test")
        clients.add_jwk(session, "ehr", public_jwk(rsa_key, "rsa-1"), issuer, actor="test")
        session.commit()
    return key


@pytest.fixture()
def real_app(engine_of_app: Engine, fresh_url: str, keys: str, tmp_path: Path) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": fresh_url,
            "DATABASE": Database(engine_of_app),
            "SNAPSHOTS": SnapshotCache(),
            "SECRET_KEY": "test",
            "PUBLIC_BASE_URL": BASE,
        }
    )
    return app


def _begins(engine: Engine, send: Callable[[], TestResponse]) -> int:
    """How many transactions ``send``'s request began, after it answered 200."""
    began: list[Connection] = []

    def count(connection: Connection) -> None:
        began.append(connection)

    event.listen(engine, "begin", count)
    try:
        response = send()
    finally:
        event.remove(engine, "begin", count)
    assert response.status_code == 200, response.get_data(as_text=True)
    return len(began)


def test_each_door_checks_in_one_transaction(
    real_app: Flask, engine_of_app: Engine, keys: str, rsa_key: rsa.RSAPrivateKey, issuer: str
) -> None:
    api: FlaskClient = real_app.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {keys}"
    ehr = real_app.test_client()
    web = real_app.test_client()
    body = {"medications": ["clonazepam", "oxycodone"]}
    orders = [coded_request("o1", "7804", "oxycodone"), coded_request("o2", "2598", "clonazepam")]

    def cds_with_jwt() -> TestResponse:
        token = _token(rsa_key, issuer, ORDER_SIGN)
        return ehr.post(
            ORDER_SIGN,
            json=hook_request("order-sign", orders),
            headers={"Authorization": f"Bearer {token}"},
        )

    doors: dict[str, Callable[[], TestResponse]] = {
        "api": lambda: api.post("/api/v1/checks", json=body),
        "cds-hooks with a JWT": cds_with_jwt,
        "cds-hooks with an API key": lambda: api.post(
            ORDER_SIGN, json=hook_request("order-sign", orders)
        ),
        "rxnav list.json": lambda: api.get("/REST/interaction/list.json?rxcuis=7804+2598"),
        "rxnav interaction.json": lambda: api.get("/REST/interaction/interaction.json?rxcui=7804"),
        "web form": lambda: post_form(web, ["clonazepam", "oxycodone"]),
    }
    for send in doors.values():  # the first check of a process reads the KB and meets its caller
        send()
    with engine_of_app.connect() as conn:
        logged_before = conn.scalar(select(func.count()).select_from(AlertLog))

    counts = {door: _begins(engine_of_app, send) for door, send in doors.items()}

    # The web form's extra one is its rate limit's counter, counted before anything is checked.
    assert counts == {door: 2 if door == "web form" else 1 for door in doors}
    with engine_of_app.connect() as conn:
        logged = conn.scalar(select(func.count()).select_from(AlertLog))
    assert logged == (logged_before or 0) + len(doors)  # each one's row: none was skipped


def test_the_connection_returned_last_is_handed_out_next(engine_of_app: Engine) -> None:
    """A check takes the pool's warmest connection (its SQLite page cache, its PostgreSQL backend's
    caches), not the one idle longest; the surplus of a burst stays idle and can be let go."""
    held = [engine_of_app.connect() for _ in range(3)]
    drivers = [connection.connection.dbapi_connection for connection in held]
    for connection in held:
        connection.close()
    with engine_of_app.connect() as connection:
        assert connection.connection.dbapi_connection is drivers[-1]
