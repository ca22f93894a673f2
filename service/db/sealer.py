"""The sealer: appends committed log entries to their log's Merkle tree and signs a checkpoint.

A check's transaction only inserts its entry; sealing follows, a batch every ``SEAL_INTERVAL``.
One sealer at a time across processes and hosts: on PostgreSQL a transaction-scoped advisory lock
(a second sealer skips its turn), on SQLite the writer lock every write transaction takes. The
tree's size and frontier are read after the lock is held, so two sealers never append the same
entry (and ``tlog_leaf``'s unique ``(log, entry_seq)`` would refuse it if they tried).

Which entries: those no leaf names, past a watermark. PostgreSQL's ``seq`` comes from a sequence,
so an entry may commit after a later one was sealed; it is sealed by the next batch. The watermark
is the last entry of the newest checkpoint at least ``GAP_WAIT`` old: a number missing below it
was taken by a transaction that has been open that long, longer than the database lets one run,
so it was rolled back. Entries are never assumed to be ``leaf_index + 1``.

The checkpoint is exported (``checkpoints.export``) after the commit, never inside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, exists, func, select, text

from ..domain import merkle
from ..domain.checkpoint import Checkpoint, SigningKey
from ..observability import metrics
from . import Database, transparency
from .models import Base

log = logging.getLogger(__name__)

GAP_WAIT = timedelta(minutes=2)
BATCH = 10_000  # entries per checkpoint at most; a backlog after downtime takes several
# Advisory lock keys (any fixed 64-bit numbers), one per log: the two logs seal side by side.
_LOCK_KEYS = {transparency.ALERT_LOG: 0x7469_6C6F_6731, transparency.AUDIT_EVENT: 0x7469_6C6F_6732}

_LEAVES = Base.metadata.tables["tlog_leaf"]
_CHECKPOINTS = Base.metadata.tables["tlog_checkpoint"]


@dataclass(frozen=True)
class SealResult:
    """A batch sealed: the leaves ``[first_index, tree_size)`` and the checkpoint that signs them."""

    log: str
    first_index: int
    tree_size: int
    root: bytes
    note: str


def origin_of(base: str, log_name: str) -> str:
    """Each log is a tree of its own, so its checkpoints name it: ``<LOG_ORIGIN>/<log>``."""
    return f"{base}/{log_name}"


def _locked(connection: Connection, log_name: str) -> bool:
    if connection.dialect.name != "postgresql":
        return True  # SQLite: this write transaction already holds the database's writer lock
    taken = connection.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK_KEYS[log_name]}
    ).scalar_one()
    return bool(taken)


def _watermark(connection: Connection, log_name: str, now: datetime) -> int:
    """Every entry up to this seq is sealed, or was rolled back (see the module's docstring)."""
    size = connection.scalar(
        select(func.max(_CHECKPOINTS.c.tree_size)).where(
            _CHECKPOINTS.c.log == log_name, _CHECKPOINTS.c.created_at <= now - GAP_WAIT
        )
    )
    if not size:
        return 0
    seq = connection.scalar(
        select(_LEAVES.c.entry_seq).where(
            _LEAVES.c.log == log_name, _LEAVES.c.leaf_index == size - 1
        )
    )
    return int(seq or 0)


def _unsealed(connection: Connection, log_name: str, after: int, limit: int) -> Any:
    """Committed entries past ``after`` that no leaf names, in ``seq`` order."""
    model = transparency.MODELS[log_name]
    sealed = exists().where(_LEAVES.c.log == log_name, _LEAVES.c.entry_seq == model.seq)
    columns = [getattr(model, f) for f in transparency.FIELDS[log_name]]
    return connection.execute(
        select(model.seq, *columns)
        .where(model.seq > after, ~sealed)
        .order_by(model.seq)
        .limit(limit)
    ).all()


def seal(
    db: Database, log_name: str, key: SigningKey, origin: str, batch: int = BATCH
) -> SealResult | None:
    """Seal up to ``batch`` entries of ``log_name`` and sign a checkpoint; None when there were
    none, or another sealer holds the lock."""
    now = datetime.now(UTC)
    with db.transaction(read_only=True) as connection:
        after = _watermark(connection, log_name, now)
        if not _unsealed(connection, log_name, after, 1):
            return None  # nothing to do: no write lock taken (SQLite's checks need it)
    with db.transaction() as connection:
        if not _locked(connection, log_name):
            return None
        rows = _unsealed(connection, log_name, after, batch)
        if not rows:
            return None
        size = transparency.tree_size(connection, log_name)
        appender = merkle.Appender(size, transparency.frontier_hashes(connection, log_name, size))
        leaves: list[tuple[int, bytes]] = []
        nodes: list[tuple[tuple[int, int], bytes]] = []
        fields = transparency.FIELDS[log_name]
        for row in rows:
            values = dict(zip(fields, row[1:], strict=True))
            digest = merkle.leaf_hash(transparency.leaf_bytes(log_name, row[0], values))
            nodes.extend(appender.append(digest))
            leaves.append((row[0], digest))
        transparency.add_leaves(connection, log_name, size, leaves)
        transparency.add_nodes(connection, log_name, nodes)
        sealed_at = datetime.now(UTC)
        checkpoint = Checkpoint(origin, appender.size, appender.root(), sealed_at)
        note = key.sign(checkpoint)
        transparency.add_checkpoint(
            connection,
            transparency.StoredCheckpoint(
                log_name, appender.size, checkpoint.root, sealed_at, note
            ),
        )
    for row in rows:
        created_at = row[1 + fields.index("created_at")]
        metrics.record_seal_lag(log_name, (sealed_at - _aware(created_at)).total_seconds())
    return SealResult(log_name, size, appender.size, checkpoint.root, note)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
