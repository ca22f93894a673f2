"""Fixtures: a real database, migrated by Alembic and loaded with the seed knowledge base once per
backend; each test runs inside a transaction that is rolled back, so tests never see each other's
rows. Tests run on SQLite; those marked ``both_databases`` run on PostgreSQL too.

``make test`` runs the suite on every core with pytest-xdist: each worker has its own session
fixtures (its own PostgreSQL database, browser and servers on free ports), and the seeded SQLite
file is built once and copied."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from service import create_app
from service.checking import SnapshotCache
from service.db import Database, clients, make_engine
from service.domain.snapshot import KbSnapshot

from . import factories
from .browser_support import artifacts, browser  # noqa: F401  (one shared browser)
from .pg_server import PostgresUnavailable, start_postgres
from .seeded import SEED_DIR, copy_sqlite, migrate, seed, sqlite_template
from .strategies import seed_knowledge

__all__ = ["SEED_DIR", "migrate"]  # the fixtures' modules import both from here


@pytest.fixture(scope="session")
def seed_kb() -> KbSnapshot:
    """The seed knowledge base as a snapshot, straight from the files (no database)."""
    knowledge = seed_knowledge()
    return KbSnapshot(knowledge.content_hash(), knowledge)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL: ``TEST_DATABASE_URL`` (a database of its own per xdist worker), or a
    throwaway server; fail if required and absent."""
    given = os.environ.get("TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if given and worker:
        yield from _database_of_its_own(given, f"{make_url(given).database}_{worker}")
        return
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


def _database_of_its_own(server_url: str, name: str) -> Iterator[str]:
    """A new, empty database ``name`` on the server of ``server_url``, dropped afterwards."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'alerts.sqlite3'}"


@pytest.fixture(scope="session")
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url"))


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's migrated, seeded SQLite file: copy it (``copy_sqlite``), never write to it."""
    return sqlite_template(tmp_path_factory)


@pytest.fixture(scope="session")
def sqlite_engine(sqlite_url: str, seeded_sqlite: Path) -> Iterator[Engine]:
    copy_sqlite(seeded_sqlite, Path(make_url(sqlite_url).database or ""))
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgresql_engine(postgres_url: str) -> Iterator[Engine]:
    migrate(postgres_url, "base", down=True)  # TEST_DATABASE_URL may hold an earlier run's
    seed(postgres_url)
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def engine(backend: str, request: pytest.FixtureRequest) -> Engine:
    """The test's database, migrated to head and loaded with the seed knowledge base, committed
    once per session. Each backend's engine lives for the whole session: an xdist worker's tests
    switch between the backends file by file, and a switch must not seed the database again."""
    engine: Engine = request.getfixturevalue(f"{backend}_engine")
    return engine


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


@pytest.fixture()
def seeded_database_url(empty_database_url: str, request: pytest.FixtureRequest) -> str:
    """A database of this test's own on its backend, migrated, with the seed knowledge base active
    (on SQLite, a copy of the run's seeded file)."""
    if empty_database_url.startswith("sqlite"):
        template = request.getfixturevalue("seeded_sqlite")
        return copy_sqlite(template, Path(make_url(empty_database_url).database or ""))
    seed(empty_database_url)
    return empty_database_url
