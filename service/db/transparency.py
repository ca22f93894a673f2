"""The transparency log's tables: each log's leaves, the perfect subtrees' hashes, its checkpoints.

An entry of ``alert_log`` or ``audit_event`` becomes a leaf once the sealer appends it to its log's
Merkle tree (RFC 9162 hashing, ``domain.merkle``). The leaf's bytes are the canonical JSON of the
entry's place (``seq``) and content, so anyone holding an entry can recompute its leaf hash. Every
perfect subtree's hash is stored (``tlog_node``), so an inclusion or consistency proof is one
query of O(log n) rows, and every signed checkpoint is kept (``tlog_checkpoint``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select

from .. import jsonio
from ..domain import merkle
from .models import AlertLog, AuditEvent, Base

ALERT_LOG = "alert_log"
AUDIT_EVENT = "audit_event"
LOGS = (ALERT_LOG, AUDIT_EVENT)

_ALERT_LOG_FIELDS = (
    "id", "created_at", "channel", "client_id", "request_id", "kb_version_id", "inputs",
    "medications", "alerts", "scope", "complete", "highest_severity", "min_severity", "patient_ref",
)  # fmt: skip
_AUDIT_EVENT_FIELDS = ("created_at", "actor", "action", "target", "outcome", "details")
# What a leaf covers of each log's entries: every column but the id's sequence.
FIELDS = {ALERT_LOG: _ALERT_LOG_FIELDS, AUDIT_EVENT: _AUDIT_EVENT_FIELDS}
MODELS: dict[str, type[AlertLog] | type[AuditEvent]] = {
    ALERT_LOG: AlertLog,
    AUDIT_EVENT: AuditEvent,
}

_LEAVES = Base.metadata.tables["tlog_leaf"]
_NODES = Base.metadata.tables["tlog_node"]
_CHECKPOINTS = Base.metadata.tables["tlog_checkpoint"]
_ARCHIVES = Base.metadata.tables["tlog_archive"]


def canonical_value(value: Any) -> Any:
    """Times as UTC with microseconds and a Z (SQLite hands back naive ones, stored as UTC)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def leaf_bytes(log: str, seq: int, values: Mapping[str, Any]) -> bytes:
    """The bytes a leaf hashes: readable JSON a third party can check an entry against."""
    content = {field: canonical_value(values[field]) for field in FIELDS[log]}
    return jsonio.canonical({"log": log, "seq": seq, "content": content})


@dataclass(frozen=True)
class StoredCheckpoint:
    log: str
    tree_size: int
    root_hash: bytes
    created_at: datetime
    note: str


def tree_size(connection: Connection, log: str) -> int:
    """How many leaves the log's tree has (leaf indexes are dense from 0)."""
    last = connection.scalar(select(func.max(_LEAVES.c.leaf_index)).where(_LEAVES.c.log == log))
    return 0 if last is None else int(last) + 1


def nodes(
    connection: Connection, log: str, coordinates: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of perfect subtrees ``(level, index)``; level 0 reads the leaves."""
    wanted = set(coordinates)
    found: dict[tuple[int, int], bytes] = {}
    leaves = [index for level, index in wanted if level == 0]
    if leaves:
        rows = connection.execute(
            select(_LEAVES.c.leaf_index, _LEAVES.c.hash).where(
                _LEAVES.c.log == log, _LEAVES.c.leaf_index.in_(leaves)
            )
        )
        found.update({(0, index): bytes(digest) for index, digest in rows})
    inner = [(level, index) for level, index in wanted if level > 0]
    if inner:
        inner_rows = connection.execute(
            select(_NODES.c.level, _NODES.c.node_index, _NODES.c.hash).where(
                _NODES.c.log == log,
                or_(*(and_(_NODES.c.level == lv, _NODES.c.node_index == ix) for lv, ix in inner)),
            )
        )
        found.update({(level, index): bytes(digest) for level, index, digest in inner_rows})
    missing = wanted - found.keys()
    if missing:
        raise LookupError(f"{log}: the tree has no stored hash for subtrees {sorted(missing)}")
    return found


def frontier_hashes(connection: Connection, log: str, size: int) -> list[bytes]:
    """The hashes of the perfect subtrees that make up the tree of ``size`` leaves, left to right."""
    coordinates = merkle.frontier(size)
    stored = nodes(connection, log, coordinates)
    return [stored[c] for c in coordinates]


def leaf_of(connection: Connection, log: str, seq: int) -> tuple[int, bytes] | None:
    """The leaf index and hash of the entry ``seq``, or None while it is not sealed."""
    row = connection.execute(
        select(_LEAVES.c.leaf_index, _LEAVES.c.hash).where(
            _LEAVES.c.log == log, _LEAVES.c.entry_seq == seq
        )
    ).first()
    return (int(row[0]), bytes(row[1])) if row else None


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(row.log, row.tree_size, bytes(row.root_hash), row.created_at, row.note)


def latest_checkpoint(connection: Connection, log: str) -> StoredCheckpoint | None:
    row = connection.execute(
        select(_CHECKPOINTS)
        .where(_CHECKPOINTS.c.log == log)
        .order_by(_CHECKPOINTS.c.tree_size.desc())
        .limit(1)
    ).first()
    return _checkpoint(row) if row else None


def checkpoint_covering(
    connection: Connection, log: str, leaf_index: int
) -> StoredCheckpoint | None:
    """The first checkpoint whose tree includes the leaf ``leaf_index``."""
    row = connection.execute(
        select(_CHECKPOINTS)
        .where(_CHECKPOINTS.c.log == log, _CHECKPOINTS.c.tree_size > leaf_index)
        .order_by(_CHECKPOINTS.c.tree_size)
        .limit(1)
    ).first()
    return _checkpoint(row) if row else None


def add_leaves(
    connection: Connection, log: str, first_index: int, leaves: Sequence[tuple[int, bytes]]
) -> None:
    """Leaves ``(entry seq, leaf hash)`` at indexes from ``first_index`` on."""
    if leaves:
        connection.execute(
            insert(_LEAVES),
            [
                {"log": log, "leaf_index": first_index + n, "entry_seq": seq, "hash": digest}
                for n, (seq, digest) in enumerate(leaves)
            ],
        )


def add_nodes(
    connection: Connection, log: str, new_nodes: Sequence[tuple[tuple[int, int], bytes]]
) -> None:
    if new_nodes:
        connection.execute(
            insert(_NODES),
            [
                {"log": log, "level": level, "node_index": index, "hash": digest}
                for (level, index), digest in new_nodes
            ],
        )


def add_checkpoint(connection: Connection, checkpoint: StoredCheckpoint) -> None:
    connection.execute(
        insert(_CHECKPOINTS).values(
            log=checkpoint.log,
            tree_size=checkpoint.tree_size,
            root_hash=checkpoint.root_hash,
            created_at=checkpoint.created_at,
            note=checkpoint.note,
        )
    )


def archived_leaves(connection: Connection, log: str) -> list[tuple[int, int]]:
    """The leaf ranges ``[first, end)`` of the months ``audit archive`` wrote, in order."""
    rows = connection.execute(
        select(_ARCHIVES.c.first_leaf, _ARCHIVES.c.end_leaf)
        .where(_ARCHIVES.c.log == log)
        .order_by(_ARCHIVES.c.first_leaf)
    )
    return [(int(first), int(end)) for first, end in rows]


def is_archived(ranges: Sequence[tuple[int, int]], leaf_index: int) -> bool:
    return any(first <= leaf_index < end for first, end in ranges)
