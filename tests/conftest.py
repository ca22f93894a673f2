"""Fixtures: a real database, migrated by Alembic and loaded with the seed knowledge base once per
backend; each test runs inside a transaction that is rolled back, so tests never see each other's
rows. Tests run on SQLite; those marked ``both_databases`` run on PostgreSQL too."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from service import create_app
from service.checking import SnapshotCache
from service.cli import alembic_config
from service.db import Database, clients, kb_store, make_engine
from service.domain.snapshot import KbSnapshot
from service.kb.loader import read_knowledge_base

from . import factories
from .browser_support import artifacts, browser  # noqa: F401  (one shared browser)
from .pg_server import PostgresUnavailable, start_postgres
from .strategies import seed_knowledge

ROOT = Path(__file__).resolve().parents[1]
SEED_DIR = ROOT / "seed_data"


@pytest.fixture(scope="session")
def seed_kb() -> KbSnapshot:
    """The seed knowledge base as a snapshot, straight from the files (no database)."""
    knowledge = seed_knowledge()
    return KbSnapshot(knowledge.content_hash(), knowledge)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL: ``TEST_DATABASE_URL``, or a throwaway server; fail if required and absent."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    try:
        server = start_postgres()
    except PostgresUnavailable as error:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(
                f"PostgreSQL is required (REQUIRE_POSTGRES=1) but could not start: {error.reason}"
            )
        pytest.skip(f"PostgreSQL not available here: {error.reason}")
    try:
        yield server.url
    finally:
        server.stop()


def _url_for(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'alerts.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


BOTH_DATABASES = "both_databases"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that needs a database runs on SQLite; those marked ``both_databases`` (where the
    two databases could answer differently) run on PostgreSQL too. A test may name its own."""
    chosen = any(m.args[0] == "backend" for m in metafunc.definition.iter_markers("parametrize"))
    if "backend" in metafunc.fixturenames and not chosen:
        both = metafunc.definition.get_closest_marker(BOTH_DATABASES) is not None
        backends = ["sqlite", "postgresql"] if both else ["sqlite"]
        metafunc.parametrize("backend", backends, indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """The database of this run of the test (parametrized by ``pytest_generate_tests``)."""
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    return _url_for(backend, request, tmp_path_factory)


def migrate(url: str, revision: str = "head", *, down: bool = False) -> None:
    config = alembic_config(url)
    (command.downgrade if down else command.upgrade)(config, revision)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """Migrated to head and loaded with the seed knowledge base, committed once per session."""
    migrate(database_url, "base", down=True)
    migrate(database_url)
    engine = make_engine(database_url)
    with Database(engine).unit_of_work() as session:
        version, _ = kb_store.store(session, read_knowledge_base(SEED_DIR))
        kb_store.activate(session, version)
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture()
def connection(engine: Engine) -> Iterator[Connection]:
    """One connection in an outer transaction that the test's commits cannot escape."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture()
def session(connection: Connection) -> Iterator[Session]:
    with Database(connection).unit_of_work() as session:
        factories.bind(session)
        yield session


@pytest.fixture(scope="session")
def snapshot_cache() -> SnapshotCache:
    """Shared across tests of a session so the KB snapshot is built once, as in a real process."""
    return SnapshotCache()


@pytest.fixture()
def app(
    connection: Connection, database_url: str, snapshot_cache: SnapshotCache, tmp_path: Path
) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "DATABASE": Database(connection),
            "SNAPSHOTS": snapshot_cache,
            "SECRET_KEY": "test",
        }
    )


@pytest.fixture()
def api_key(session: Session) -> str:
    """The key of a pharmacy client created for this test (minimum severity: minor)."""
    _, key = clients.create(session, "test-pharmacy", "minor", actor="test")
    session.commit()
    return key


@pytest.fixture()
def anonymous(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def client(app: Flask, api_key: str) -> FlaskClient:
    """A test client that sends the pharmacy client's API key on every request."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_key}"
    return test_client


@pytest.fixture()
def empty_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database on the same backend."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
