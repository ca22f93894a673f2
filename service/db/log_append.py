"""Appending an entry to a log: an insert that takes the entry's ``seq``, and nothing else.

Why no head row: a write that reads and locks a shared row queues every check of every process
behind one another. PostgreSQL takes ``seq`` from a sequence (the column's default), which locks
nothing; its numbers may have gaps (rolled-back inserts) and commit out of order, which the sealer
allows for. SQLite's writers are serialised already, so the last ``seq`` plus one, read in the
insert itself, is free and gapless. The sealer later appends committed entries to the log's tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Insert, bindparam, func, insert, select
from sqlalchemy.orm import Session

from . import prepared
from .models import AlertLog, AuditEvent, Base


def _statement(table_name: str, sqlite: bool) -> Insert:
    table = Base.metadata.tables[table_name]
    values: dict[str, Any] = {
        c.name: bindparam(c.name, type_=c.type)
        for c in table.columns
        if c.name != "seq" and c is not table.autoincrement_column
    }
    if sqlite:
        values["seq"] = select(func.coalesce(func.max(table.c.seq), 0) + 1).scalar_subquery()
    return insert(table).values(values).returning(table.c.seq)


# Built once per dialect: a check runs one on every answer.
_INSERTS = {
    (name, sqlite): _statement(name, sqlite)
    for name in ("alert_log", "audit_event")
    for sqlite in (True, False)
}


def insert_entry(connection: Connection, log: str, values: Mapping[str, Any]) -> int:
    """Insert the entry ``values`` (every column but ``seq``) into ``log``; returns its ``seq``."""
    statement = _INSERTS[(log, connection.dialect.name == "sqlite")]
    row = prepared.fetch_one(connection, statement, values)
    assert row is not None  # an INSERT … RETURNING returns its row
    return int(row[0])


def add(session: Session, row: AlertLog | AuditEvent) -> None:
    """Append an ORM ``row``, flushed now so that it has its ``seq``."""
    if session.get_bind().dialect.name == "sqlite":
        model = type(row)
        row.seq = (session.scalar(select(func.max(model.seq))) or 0) + 1
    session.add(row)
    session.flush()
