"""SQLite writers take turns in the kernel's queue: no polling, no deadlock, checkpoints outside it."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from service.db import make_engine, sqlite_writers
from service.db.timeouts import Timeouts


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER NOT NULL)"))
    yield engine
    engine.dispose()


def test_a_waiting_writer_waits_in_the_queue_not_in_sqlites_busy_handler(tmp_path: Path) -> None:
    # A 1 ms busy timeout: a writer left to SQLite's busy handler would fail with "database is
    # locked" long before the holder's 0.3 s are over; one waiting in the queue simply gets its turn.
    impatient = Timeouts(connect=3, statement=5, lock=0.001, idle_in_transaction=60)
    engine = make_engine(f"sqlite:///{tmp_path / 'queue.sqlite3'}", timeouts=impatient)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER NOT NULL)"))
    holding, released_at, began_at = threading.Event(), [0.0], [0.0]

    def holder() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            time.sleep(0.3)
            released_at[0] = time.monotonic()

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait()
    with engine.begin() as connection:
        began_at[0] = time.monotonic()
        connection.execute(text("INSERT INTO t VALUES (2)"))
    thread.join()
    assert began_at[0] >= released_at[0]
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT group_concat(n) FROM t")) == "1,2"
    engine.dispose()


@pytest.mark.parametrize("end", ["commit", "rollback", "error"])
def test_every_way_a_write_ends_gives_the_turn_back(engine: Engine, end: str) -> None:
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(text("INSERT INTO t VALUES (1)"))
    if end == "commit":
        transaction.commit()
    elif end == "rollback":
        transaction.rollback()
    else:
        with pytest.raises(OperationalError):
            connection.execute(text("INSERT INTO missing VALUES (1)"))
        transaction.rollback()
    other = threading.Thread(target=lambda: engine.begin().__enter__().commit())
    other.start()
    other.join(timeout=5)
    assert not other.is_alive(), "the turn was not given back"
    connection.close()


def test_a_nested_writer_in_the_same_thread_gets_sqlites_error_not_a_deadlock(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested.sqlite3'}")
    with engine.begin() as outer:
        outer.execute(text("PRAGMA user_version = 1"))
        inner = engine.connect()
        dbapi = inner.connection.dbapi_connection
        assert dbapi is not None
        dbapi.execute("PRAGMA busy_timeout = 50")
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"):
            inner.begin()
        assert time.monotonic() - started < 5
        inner.close()
    engine.dispose()


def test_writers_checkpoint_the_wal_themselves_after_their_turn(tmp_path: Path) -> None:
    database = tmp_path / "wal.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER NOT NULL)"))
    with engine.connect() as connection:
        size_before = database.stat().st_size
        for n in range(sqlite_writers.CHECKPOINT_EVERY - 2):  # the CREATE was one
            with connection.begin():
                connection.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
        assert database.stat().st_size == size_before  # everything still in the WAL
        with connection.begin():
            connection.execute(text("INSERT INTO t VALUES (-1)"))
        assert database.stat().st_size > size_before  # copied into the database file
        wal = database.with_name("wal.sqlite3-wal")
        wal_size = wal.stat().st_size
        with connection.begin():
            connection.execute(text("INSERT INTO t VALUES (-2)"))
        assert wal.stat().st_size == wal_size  # the next write starts the WAL's file over
    engine.dispose()


def test_a_wal_that_grew_is_cut_back_to_the_limit_when_it_starts_over(tmp_path: Path) -> None:
    database = tmp_path / "grown.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    wal = database.with_name("grown.sqlite3-wal")
    blob = "x" * 4000
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (b TEXT NOT NULL)"))
    with engine.connect() as connection, closing(sqlite3.connect(database)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM t").fetchone()  # holds the WAL: no checkpoint copies
        for _ in range(sqlite_writers.WAL_SIZE_LIMIT // 4000 + 500):
            with connection.begin():
                connection.execute(text("INSERT INTO t VALUES (:b)"), {"b": blob})
        assert wal.stat().st_size > sqlite_writers.WAL_SIZE_LIMIT
        reader.execute("COMMIT")
        for _ in range(sqlite_writers.CHECKPOINT_EVERY + 1):  # a checkpoint, then a fresh start
            with connection.begin():
                connection.execute(text("INSERT INTO t VALUES ('y')"))
        assert wal.stat().st_size <= sqlite_writers.WAL_SIZE_LIMIT
    engine.dispose()


def test_without_a_writable_place_for_the_queue_writers_wait_as_sqlite_does(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'plain.sqlite3'}")
    (tmp_path / "plain.sqlite3-writers").mkdir()  # a directory where the lock file should be
    with caplog.at_level("WARNING", logger=sqlite_writers.__name__), engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM t")) == 1
    assert "no writer queue" in caplog.text
    engine.dispose()


def test_the_services_lock_timeout_is_sqlites_busy_timeout(tmp_path: Path) -> None:
    timeouts = Timeouts(connect=3, statement=5, lock=1.5, idle_in_transaction=10)
    engine = make_engine(f"sqlite:///{tmp_path / 'busy.sqlite3'}", timeouts=timeouts)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 1500
    engine.dispose()
