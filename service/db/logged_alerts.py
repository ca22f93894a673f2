"""The auditors' index of alerts: ``logged_alert`` rows projected from the log in bulk, behind it.

Why: a check's alerts are recorded in its ``alert_log`` row (sealed into the transparency log, written before the
answer). The auditors' filters and reports also need one indexed row per alert, about 15 per
10-medication check, each in five b-trees. Written by every check in its own transaction, those
rows cost more than the rest of the check's SQL (on SQLite, in one process, 0.56 ms of 0.75 ms).
Projected from the log a batch at a time they cost less, and no check's answer waits for them.

Nothing reads a stale index: every reader (the audit pages, API and exports, CDS feedback) calls
``catch_up`` first, which projects every check logged before it looked. The background sealer
brings the index up after each of its turns (``service/sealing.py``), so a reader never finds a
long backlog and no check waits for the index or the lock on its mark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Connection,
    Insert,
    String,
    bindparam,
    column,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from . import Database, prepared
from .models import Base

BATCH = 2_000  # checks per transaction when a reader catches up a long backlog
MARK = "logged_alert"


_LOG = Base.metadata.tables["alert_log"]
_TABLE = Base.metadata.tables["logged_alert"]
_MARKS = Base.metadata.tables["projection_mark"]
_COLUMNS = ["uuid", "alert_log_id", "alert_id", "rule_code", "severity", "shown", "created_at"]
_AFTER = bindparam("after", type_=BigInteger)
_UPTO = bindparam("upto", type_=BigInteger)

_MARK = select(_MARKS.c.seq).where(_MARKS.c.name == MARK)
_LOCK_MARK = _MARK.with_for_update()
_NEW_MARK = insert(_MARKS)
_MOVE_MARK = update(_MARKS).where(_MARKS.c.name == MARK).values(seq=bindparam("seq"))
# On SQLite the checks are a prefix of seq (writers are serialised). On PostgreSQL seq comes from
# a sequence: a number missing below the last one committed is a check still being written (it
# commits in a moment) or one rolled back (never). So the mark stops before the first such gap
# until the entry after it is older than ``GAP_WAIT`` (no check's transaction lasts that long),
# while the checks past the gap are projected at once, and again until the mark passes them:
# the inserts skip alerts already there, so a reader never waits for a gap.
GAP_WAIT = timedelta(minutes=2)
_LIMIT = bindparam("limit", type_=BigInteger)
_SEQS = (
    select(_LOG.c.seq, _LOG.c.created_at)
    .where(_LOG.c.seq > _AFTER)
    .order_by(_LOG.c.seq)
    .limit(_LIMIT)
)


def _postgresql() -> Insert:
    alerts = (
        func.json_to_recordset(_LOG.c.alerts)
        .table_valued(
            column("uuid", String),
            column("id", String),
            column("rule", JSON),
            column("severity", String),
            column("shown", Boolean),
        )
        .render_derived(with_types=True)
    ).c
    rule_code = func.json_extract_path_text(alerts.rule, "id")
    return _from_log(alerts.uuid, alerts.id, rule_code, alerts.severity, alerts.shown)


def _from_log(
    uuid: ColumnElement[Any],
    alert_id: ColumnElement[Any],
    rule_code: ColumnElement[Any],
    severity: ColumnElement[Any],
    shown: ColumnElement[Any],
) -> Insert:
    """The rows of the batch's checks, one per alert; the log first, as the alerts' function reads it."""
    rows = (
        select(uuid, _LOG.c.id, alert_id, rule_code, severity, shown, _LOG.c.created_at)
        .select_from(_LOG)
        .where(_LOG.c.seq > _AFTER, _LOG.c.seq <= _UPTO)
    )
    return postgresql.insert(_TABLE).from_select(_COLUMNS, rows).on_conflict_do_nothing()


_PROJECT_IN_POSTGRESQL = _postgresql()
# SQLite (3.40) renders each alert of ``json_each`` back to text for every ``json_extract``: read
# raw and parsed in Python (orjson), a batch cost about a third less. The time goes through as
# stored (a String bind, no conversion).
_BATCH_ALERTS = select(_LOG.c.id, _LOG.c.created_at, _LOG.c.alerts).where(
    _LOG.c.seq > _AFTER, _LOG.c.seq <= _UPTO
)
_INSERT_ROW = (
    sqlite.insert(_TABLE)
    .values(
        {name: bindparam(name, type_=String if name == "created_at" else None) for name in _COLUMNS}
    )
    .on_conflict_do_nothing()
)


@dataclass(frozen=True)
class _Batch:
    """The checks after ``after`` up to ``upto``, the mark's next place, and on SQLite their rows."""

    after: int
    upto: int
    settled: int  # the last seq before a gap that may still fill: where the mark may move to
    count: int
    rows: list[dict[str, Any]] | None  # None: PostgreSQL projects in SQL

    @property
    def bounds(self) -> dict[str, int]:
        return {"after": self.after, "upto": self.upto}


def _read(connection: Connection, limit: int, after: int | None = None) -> _Batch | None:
    """The next ``limit`` checks past ``after`` (the mark by default), read and (on SQLite)
    parsed without the write lock."""
    if after is None:
        mark = prepared.fetch_one(connection, _MARK, {})
        after = mark[0] if mark else 0
    seqs = prepared.fetch_all(connection, _SEQS, {"after": after, "limit": limit})
    if not seqs:
        return None
    batch = _Batch(after, seqs[-1][0], _settled(seqs, after), len(seqs), None)
    if connection.dialect.name != "sqlite":
        return batch
    rows = [
        {
            "uuid": alert["uuid"],
            "alert_log_id": check_id,
            "alert_id": alert["id"],
            "rule_code": alert["rule"]["id"],
            "severity": alert["severity"],
            "shown": alert["shown"],
            "created_at": created_at,
        }
        for check_id, created_at, alerts in prepared.fetch_all(
            connection, _BATCH_ALERTS, batch.bounds
        )
        for alert in orjson.loads(alerts)
    ]
    return replace(batch, rows=rows)


def _settled(seqs: Sequence[tuple[Any, ...]], after: int) -> int:
    """The last of ``seqs`` (seq, created_at) before a gap that may still fill, or ``after``."""
    wait_over = datetime.now(UTC) - GAP_WAIT
    last = after
    for seq, created_at in seqs:
        if isinstance(created_at, str):  # SQLite's driver hands back the stored text
            created_at = datetime.fromisoformat(created_at)
        aware = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        if seq != last + 1 and aware > wait_over:
            break
        last = seq
    return last


def _write(connection: Connection, batch: _Batch) -> None:
    """Insert the batch's rows (those already there are skipped) and, when the batch starts at
    the mark, move the mark as far as it is settled; in a write transaction."""
    mark = prepared.fetch_one(connection, _LOCK_MARK, {})
    if batch.rows is None:
        prepared.execute(connection, _PROJECT_IN_POSTGRESQL, [batch.bounds])
    elif batch.rows:
        prepared.execute(connection, _INSERT_ROW, batch.rows)
    if (mark[0] if mark else 0) != batch.after or batch.settled == batch.after:
        return
    if mark is None:
        prepared.execute(connection, _NEW_MARK, [{"name": MARK, "seq": batch.settled}])
    else:
        prepared.execute(connection, _MOVE_MARK, [{"seq": batch.settled}])


def project(connection: Connection, limit: int = BATCH) -> int:
    """Project up to ``limit`` checks past the mark in the caller's write transaction; how many."""
    batch = _read(connection, limit)
    if batch is None:
        return 0
    _write(connection, batch)
    return batch.count


def catch_up(db: Database) -> None:
    """Bring the index up to every check logged so far, a batch at a time.

    Each batch is read and parsed in a read transaction and written in a short write
    transaction: on SQLite the write lock, which every check needs, is held only for the inserts.
    """
    after: int | None = None  # the mark, then each batch's last check
    while True:
        with db.transaction(read_only=True) as connection:
            batch = _read(connection, BATCH, after)
        if batch is None:
            return
        with db.transaction() as connection:
            _write(connection, batch)
        if batch.count < BATCH:
            return
        after = batch.upto
