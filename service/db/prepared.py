"""Prebuilt statements run straight on the driver's cursor: the check's few statements, made cheap.

Used for the statements of a check's transaction (the caller, a JWT's id, the active KB version,
the log row) and the alert index's batches: measured in-process, they save a check about 0.55 ms
of CPU on SQLite and 0.63 ms on PostgreSQL (of 2.1 and 3.0 ms, before the hash chain's head was
dropped from the check).

Why: a check reads its caller and the KB version and writes one log entry with its alerts. Run
through SQLAlchemy's execution layer those statements cost several times the SQL itself (measured
about 90 µs of CPU each against 10 µs for the driver). The statements are still SQLAlchemy Core
built from the models' tables, compiled once per dialect, and their parameters still pass through
the column types' own bind processors (JSON, SQLite's datetimes); the transaction is still the
SQLAlchemy connection's, so pooling, ``BEGIN IMMEDIATE`` and the tests' savepoints all still apply.
Only the per-statement bookkeeping is skipped.

That bookkeeping is also where SQLAlchemy's logging (``echo``), its events and any tracing
hook in: the setting ``DATABASE_FAST_PATHS=false`` (the engine's ``FAST_PATHS`` execution
option) sends the same SQL with the same parameters through ``Connection.exec_driver_sql``
instead, where they see every statement, at the measured cost (README, "Fast paths").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # in the driver's order when it takes positional parameters
    positional: bool
    processors: dict[str, Callable[[Any], Any]]
    fixed: dict[str, Any]  # parameters the statement carries itself, such as a LIMIT

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        given = [values[name] if name in values else self.fixed[name] for name in self.names]
        processed = [
            process(value) if (process := self.processors.get(name)) else value
            for name, value in zip(self.names, given, strict=True)
        ]
        return processed if self.positional else dict(zip(self.names, processed, strict=True))


# Keyed by the statement object itself (not its id), so a statement is never mistaken for another.
_compiled: dict[tuple[ClauseElement, Dialect], _Compiled] = {}


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    found = _compiled.get((statement, dialect))
    if found is None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)  # a statement, not DDL
        positional = bool(compiled.positional)
        # The names SQLAlchemy itself sends (``binds`` also holds internal aliases of some).
        names = (
            tuple(compiled.positiontup or ())
            if positional
            else tuple(dict.fromkeys(compiled.bind_names.values()))
        )
        binds = {name: compiled.binds[name] for name in names}
        processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors[name] = process
        fixed = {n: b.effective_value for n, b in binds.items() if not b.required}
        found = _compiled[(statement, dialect)] = _Compiled(
            compiled.string, names, positional, processors, fixed
        )
    return found


# The engine's execution option that turns the driver-cursor path off (``make_engine(fast_paths=)``).
FAST_PATHS = "driver_fast_paths"


def _fast(connection: Connection) -> bool:
    return bool(connection.get_execution_options().get(FAST_PATHS, True))


@contextmanager
def driver_errors(connection: Connection, sql: str) -> Iterator[None]:
    """The driver's errors come out as SQLAlchemy's, which every caller already handles."""
    try:
        yield
    except connection.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            sql, None, error, connection.dialect.loaded_dbapi.Error
        ) from error


@contextmanager
def _cursor(connection: Connection, sql: str) -> Iterator[DBAPICursor]:
    cursor = connection.connection.cursor()
    try:
        with driver_errors(connection, sql):
            yield cursor
    finally:
        cursor.close()


@contextmanager
def pipelined(connection: Connection) -> Iterator[None]:
    """Statements in the block travel together where the driver can pipeline them (psycopg).

    Why: every round trip costs both processes CPU and a context switch each way, and a write
    transaction holds its locks (SQLite's: the database) until the commit. A statement's result is waited for only
    when read (``Pending.first``); what follows the last read goes with the commit.
    """
    pipeline = getattr(connection.connection.driver_connection, "pipeline", None)
    if pipeline is None or not _fast(connection):  # SQLite: in-process, nothing to save
        yield
        return
    with driver_errors(connection, "(pipeline)"), pipeline():
        yield


class Pending:
    """A statement sent whose first row is not read yet: in a pipeline, several share a round trip."""

    def __init__(self, read: Callable[[], Any], close: Callable[[], Any]) -> None:
        self._read, self._close = read, close

    def first(self) -> tuple[Any, ...] | None:
        try:
            row = self._read()
        finally:
            self._close()
        return tuple(row) if row is not None else None


def send(connection: Connection, statement: ClauseElement, values: Mapping[str, Any]) -> Pending:
    """Send a module-level ``statement`` (compiled once); its row is read with ``first()``."""
    compiled = _compile(statement, connection.dialect)
    parameters = compiled.parameters(values)
    if not _fast(connection):
        result = connection.exec_driver_sql(compiled.sql, _one(parameters))
        return Pending(result.first, result.close)
    cursor = connection.connection.cursor()
    try:
        with driver_errors(connection, compiled.sql):
            cursor.execute(compiled.sql, parameters)
    except BaseException:
        cursor.close()
        raise

    def read() -> Any:
        with driver_errors(connection, compiled.sql):
            return cursor.fetchone()

    return Pending(read, cursor.close)


def _one(parameters: Sequence[Any] | dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
    """One row of parameters as ``exec_driver_sql`` takes it (a list would mean many rows)."""
    return parameters if isinstance(parameters, dict) else tuple(parameters)


def fetch_one(
    connection: Connection, statement: ClauseElement, values: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """The first row of a module-level ``statement``, as a plain tuple."""
    return send(connection, statement, values).first()


def fetch_all(
    connection: Connection, statement: ClauseElement, values: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """Every row of a module-level ``statement``, as the driver returns it (no type conversion)."""
    compiled = _compile(statement, connection.dialect)
    if not _fast(connection):
        rows = connection.exec_driver_sql(compiled.sql, _one(compiled.parameters(values))).all()
        return [tuple(row) for row in rows]
    with _cursor(connection, compiled.sql) as cursor:
        cursor.execute(compiled.sql, compiled.parameters(values))
        return [tuple(row) for row in cursor.fetchall()]


def execute(
    connection: Connection, statement: ClauseElement, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Run a module-level ``statement`` once per row of parameters (one row: one execution)."""
    compiled = _compile(statement, connection.dialect)
    if not _fast(connection):
        many = [_one(compiled.parameters(row)) for row in rows]
        connection.exec_driver_sql(compiled.sql, many[0] if len(many) == 1 else many)
        return
    with _cursor(connection, compiled.sql) as cursor:
        if len(rows) == 1:
            cursor.execute(compiled.sql, compiled.parameters(rows[0]))
        else:
            each: Any = [compiled.parameters(row) for row in rows]  # all one style, as typed
            cursor.executemany(compiled.sql, each)
