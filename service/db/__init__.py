"""Persistence: the engine, units of work, and the repositories that speak SQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from .. import jsonio
from . import prepared
from .sqlite_writers import WAL_SIZE_LIMIT, QueuedWriterConnection
from .timeouts import Timeouts
from .timeouts import connect as connect_with_deadline


class Database:
    """One engine and its session factory; attached to the app, replaceable by tests."""

    def __init__(self, bind: Engine | Connection) -> None:
        self.bind = bind
        # A test binds to a connection inside an outer transaction: our commits become savepoints.
        mode = "create_savepoint" if isinstance(bind, Connection) else "rollback_only"
        self._sessions = sessionmaker(bind=bind, expire_on_commit=False, join_transaction_mode=mode)
        self._reader = bind.execution_options(read_only=True) if isinstance(bind, Engine) else bind
        self._readers = sessionmaker(
            bind=self._reader, expire_on_commit=False, join_transaction_mode=mode
        )

    @classmethod
    def from_url(cls, url: str, **engine_options: Any) -> Database:
        return cls(make_engine(url, **engine_options))

    @contextmanager
    def unit_of_work(self, *, read_only: bool = False) -> Iterator[Session]:
        """A session that rolls back unless the caller commits: a check and its log row land together.

        ``read_only`` sessions do not take SQLite's write lock, so lookups never queue behind writers.
        """
        session = (self._readers if read_only else self._sessions)()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def transaction(
        self, *, read_only: bool = False, pipelined: bool = False
    ) -> Iterator[Connection]:
        """A Core connection in a transaction that commits when the block ends, rolls back on error.

        The check's hot path: a few prebuilt statements, without the ORM session's bookkeeping,
        which cost more than the SQL itself. ``pipelined``: the statements, and the commit, travel
        together where the driver can pipeline them (``prepared.pipelined``).
        """
        engine = self._reader if read_only else self.bind
        if isinstance(engine, Connection):  # a test's connection: our commit releases a savepoint
            with _pipeline(engine, pipelined), engine.begin_nested():
                yield engine
            return
        with engine.connect() as connection, _pipeline(connection, pipelined), connection.begin():
            yield connection

    def dispose(self) -> None:
        if isinstance(self.bind, Engine):
            self.bind.dispose()


def _pipeline(connection: Connection, on: bool) -> AbstractContextManager[None]:
    return prepared.pipelined(connection) if on else nullcontext()


# Pools hand out the connection returned last: its page cache (SQLite) and its server backend's
# caches (PostgreSQL) are warm, and the connections a burst opened sit idle. (An in-memory SQLite
# database has one connection per thread, and no such pool.)
_WARMEST_FIRST = {"pool_use_lifo": True}


def make_engine(
    url: str,
    *,
    foreign_keys: bool = True,
    timeouts: Timeouts | None = None,
    fast_paths: bool = True,
    **options: Any,
) -> Engine:
    """An engine with SQLite made safe for several processes: WAL, waits instead of errors, real BEGIN.

    Migrations pass ``foreign_keys=False``: SQLite alters a table by copying it, which must not
    trip the references other tables hold to it. The service passes its ``timeouts``, so that a
    database that stops answering becomes a 503 within seconds; the operator's commands (loading
    a knowledge base, verifying the logs, migrating) run without them, as long as their work takes.
    ``fast_paths=False``: ``prepared``'s statements go through SQLAlchemy's execution.
    """
    options = {"json_serializer": jsonio.dumps, "json_deserializer": orjson.loads, **options}
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, foreign_keys, timeouts, options)
    else:
        engine = _postgresql_engine(url, timeouts, options)
    # An engine sharing the pool and the listeners, whose connections carry the option.
    return engine if fast_paths else engine.execution_options(**{prepared.FAST_PATHS: False})


def _sqlite_engine(
    url: str, foreign_keys: bool, timeouts: Timeouts | None, options: dict[str, Any]
) -> Engine:
    file_backed = ":memory:" not in url and url != "sqlite://"
    if file_backed:
        options = {**_WARMEST_FIRST, **options}
        options["connect_args"] = {
            "factory": QueuedWriterConnection,
            **options.get("connect_args", {}),
        }
    engine = create_engine(url, **options)
    busy_milliseconds = round(timeouts.lock * 1000) if timeouts else 10_000

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN so savepoints and transactional DDL work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        cursor.execute(f"PRAGMA busy_timeout = {busy_milliseconds}")
        if file_backed:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA wal_autocheckpoint = 10000")
            cursor.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front: a read-then-write check never fails on upgrade.
        driver = connection.connection.dbapi_connection
        assert driver is not None  # a connection in use is open
        # Straight to the driver: a full SQLAlchemy execution here cost as much as a check's query.
        with prepared.driver_errors(connection, "BEGIN"):  # raised as SQLAlchemy's, for fail-closed
            if connection.get_execution_options().get("read_only", False):
                driver.execute("BEGIN")
            elif isinstance(driver, QueuedWriterConnection):
                driver.begin_immediate()
            else:
                driver.execute("BEGIN IMMEDIATE")

    return engine


def _postgresql_engine(url: str, timeouts: Timeouts | None, options: dict[str, Any]) -> Engine:
    options = {**_WARMEST_FIRST, **options}
    if timeouts is None:
        engine = create_engine(url, **options)
    else:
        connect_args = {**timeouts.postgresql_connect_args(), **options.pop("connect_args", {})}
        engine = create_engine(url, connect_args=connect_args, **options)

        @event.listens_for(engine, "do_connect")
        def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
            return connect_with_deadline(timeouts, cargs, cparams)

    _ping_after_idle(engine)
    return engine


PING_AFTER_IDLE = 1.0  # seconds a pooled PostgreSQL connection sits unused before it is pinged
_RETURNED_AT = "returned_at"


def _ping_after_idle(engine: Engine) -> None:
    """Ping a pooled connection before handing it out only when it sat idle ``PING_AFTER_IDLE``.

    Why not SQLAlchemy's ``pool_pre_ping``: it pings before every checkout, a round trip of its own
    on every check (one in three of a check's, on both processes' CPU). A connection that sat idle
    (the server restarted, a firewall dropped it) is still pinged and replaced before use. One that
    broke in the moment since its last use fails its statement: a 503, as a check in flight during
    a restart gets anyway, and SQLAlchemy then discards it and every older connection of the pool.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE:
            return  # just connected, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:  # the pool connects afresh
            raise DisconnectionError(
                f"a pooled connection idle {time.monotonic() - returned:.1f} s is gone"
            ) from error
