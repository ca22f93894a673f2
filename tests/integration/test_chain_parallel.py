"""``audit verify`` on a long chain walks stretches of it in parallel processes: same verdict as one walk."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, text

from service.db import Database, chain

from .. import factories
from ..conftest import migrate

# Worker processes open the database themselves; spawning them takes seconds.
pytestmark = [pytest.mark.both_databases, pytest.mark.slow]

ENTRIES = 30
WORKERS = 4  # stretches end at entries 7, 15 and 22


@pytest.fixture(scope="module")
def shared_pool() -> Iterator[ProcessPoolExecutor]:
    """One pool of spawned workers for every case: starting processes that import the service is
    most of the cost of this module, and what they do is the same in each case."""
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.fixture()
def events(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A committed chain of security events in a database of its own (workers cannot see a test's
    uncommitted rows), and any chain long enough to be walked in parallel."""
    monkeypatch.setattr(chain, "PARALLEL_FROM", 1)
    migrate(empty_database_url)
    db = Database.from_url(empty_database_url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with db.unit_of_work() as session:
        factories.bind(session)
        for n in range(ENTRIES):
            factories.AuditEventFactory(
                created_at=start + timedelta(minutes=n), actor=f"user-{n}", action="test.step",
                target=f"t{n}", details={"n": n, "note": "ü"},
            )  # fmt: skip
        session.commit()
    yield db
    db.dispose()


def _as_dba(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL session_replication_role = replica"))


def _run(sql: str) -> Callable[[Connection], None]:
    def tamper(connection: Connection) -> None:
        for statement in sql.split(";"):
            connection.execute(text(statement))

    return tamper


TAMPERING = [
    ("untouched", _run("SELECT 1")),
    ("modified, first of a stretch", _run("UPDATE audit_event SET actor = 'x' WHERE seq = 8")),
    ("modified, last of a stretch", _run("UPDATE audit_event SET target = 'x' WHERE seq = 15")),
    ("deleted, first of a stretch", _run("DELETE FROM audit_event WHERE seq = 16")),
    ("deleted, last of a stretch", _run("DELETE FROM audit_event WHERE seq = 7")),
    (
        "reordered across stretches",
        _run(
            "UPDATE audit_event SET seq = -1 WHERE seq = 22; "
            "UPDATE audit_event SET seq = 22 WHERE seq = 23; "
            "UPDATE audit_event SET seq = 23 WHERE seq = -1"
        ),
    ),
    ("deleted at the end", _run(f"DELETE FROM audit_event WHERE seq = {ENTRIES}")),
    ("a stray entry before the first", _run("UPDATE audit_event SET seq = 0 WHERE seq = 1")),
]


@pytest.mark.parametrize(("name", "tamper"), TAMPERING, ids=[t[0] for t in TAMPERING])
def test_stretches_walked_in_parallel_give_the_verdict_of_one_walk(
    events: Database,
    shared_pool: ProcessPoolExecutor,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    tamper: Callable[[Connection], None],
) -> None:
    pools: list[int] = []

    class CountedPool:
        """Counts the pools asked for and lends the shared one, which outlives the ``with``."""

        def __init__(self, workers: int, **options: Any) -> None:
            pools.append(workers)

        def __enter__(self) -> ProcessPoolExecutor:
            return shared_pool

        def __exit__(self, *exc_info: object) -> None:
            return None

    monkeypatch.setattr(chain, "ProcessPoolExecutor", CountedPool)
    with events.unit_of_work() as session:
        connection = session.connection()
        _as_dba(connection)
        tamper(connection)
        session.commit()
    with events.unit_of_work(read_only=True) as session:
        one = chain.verify(session, chain.AUDIT_EVENT)
        parallel = chain.verify(session, chain.AUDIT_EVENT, workers=WORKERS)
    assert pools == [WORKERS], "the chain should have been walked in parallel"
    assert parallel == one
    assert one.ok == (name == "untouched")
    if one.ok:
        assert one.entries == ENTRIES
