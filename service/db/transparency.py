"""The transparency log's tables: each log's leaves, the perfect subtrees' hashes, its checkpoints.

An entry of ``alert_log`` or ``audit_event`` becomes a leaf once the sealer appends it to its log's
Merkle tree (RFC 9162 hashing, ``domain.merkle``). The leaf's bytes are the canonical JSON of the
entry's place (``seq``) and content, so anyone holding an entry can recompute its leaf hash. Every
perfect subtree's hash is stored (``tlog_node``), so an inclusion or consistency proof is one
query of O(log n) rows, and every signed checkpoint is kept (``tlog_checkpoint``).
"""

from __future__ import annotations

import base64
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


def _archived(ranges: Sequence[tuple[int, int]], leaf_index: int) -> bool:
    return any(first <= leaf_index < end for first, end in ranges)


def _uncovered(ranges: Sequence[tuple[int, int]], end: int) -> range:
    """The leaves before ``end`` from the first one no archived range holds (empty: none)."""
    covered = 0
    for first, last in ranges:
        if first > covered:
            break
        covered = max(covered, last)
    return range(covered, end) if covered < end else range(0)


def first_attached_leaf(connection: Connection, log: str) -> int:
    """The first leaf of the oldest month still in the database (0 if none was detached).

    Only a month's own rows count: a row of the next month sealed first would not be missed,
    since its leaf follows this one's.
    """
    model = MODELS[log]
    oldest = connection.scalar(select(func.min(model.created_at)))
    if oldest is None:
        return 0
    month_end = datetime(oldest.year + oldest.month // 12, oldest.month % 12 + 1, 1, tzinfo=UTC)
    first = connection.scalar(
        select(func.min(_LEAVES.c.leaf_index))
        .join(model, model.seq == _LEAVES.c.entry_seq)
        .where(_LEAVES.c.log == log, model.created_at < month_end)
    )
    return 0 if first is None else int(first)


@dataclass(frozen=True)
class Verification:
    """What ``verify_leaves`` found for one log (``first_broken``: the entry's seq)."""

    log: str
    entries: int
    head: str  # the latest checkpoint's root, base64; empty before the first checkpoint
    first_broken: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_leaves(connection: Connection, log: str, batch: int = 5_000) -> Verification:
    """Recompute every sealed entry's leaf and the latest checkpoint's root from the leaves.

    Catches an entry edited, deleted or moved after it was sealed, and leaves or nodes rewritten
    without the checkpoint's signature being forged; the full verification against checkpoints
    held outside the database (consistency proofs) is ``audit verify --checkpoint``.

    Months archived and detached (``audit archive``) are skipped: the walk starts from the stored
    frontier at the oldest attached month's first leaf, and a leaf without its row is accepted
    only inside an archived month's leaves. The archive files prove the rest, offline.
    """
    model = MODELS[log]
    columns = [getattr(model, f) for f in FIELDS[log]]
    checkpoint = latest_checkpoint(connection, log)
    head = base64.b64encode(checkpoint.root_hash).decode() if checkpoint else ""
    archived = archived_leaves(connection, log)
    start = first_attached_leaf(connection, log) if archived else 0
    if uncovered := _uncovered(archived, start):
        return Verification(
            log, 0, head, None,
            f"the entries of leaves {uncovered.start}..{start - 1} are gone, and no archive "
            "holds them",
        )  # fmt: skip
    stmt = (
        select(_LEAVES.c.leaf_index, _LEAVES.c.entry_seq, _LEAVES.c.hash, model.seq, *columns)
        .select_from(_LEAVES.outerjoin(model, model.seq == _LEAVES.c.entry_seq))
        .where(_LEAVES.c.log == log, _LEAVES.c.leaf_index >= start)
        .order_by(_LEAVES.c.leaf_index)
    )
    appender = merkle.Appender(start, frontier_hashes(connection, log, start))
    rows = connection.execute(stmt.execution_options(yield_per=batch))
    try:
        for row in rows:
            leaf_index, seq, stored, found = row[0], row[1], bytes(row[2]), row[3]
            problem = None
            if leaf_index != appender.size:
                problem = f"leaf {appender.size} is missing: a sealed leaf was deleted"
            elif found is None:
                # Detached after archiving, the entry is proved by its files; else deleted.
                if not _archived(archived, leaf_index):
                    problem = f"entry {seq} was sealed and is gone: it was deleted"
            else:
                values = dict(zip(FIELDS[log], row[4:], strict=True))
                if merkle.leaf_hash(leaf_bytes(log, seq, values)) != stored:
                    problem = f"entry {seq} does not match its leaf: its content was modified"
            if problem:
                return Verification(log, appender.size, head, seq, problem)
            appender.append(stored)
            if (
                checkpoint is not None
                and appender.size == checkpoint.tree_size
                and appender.root() != checkpoint.root_hash
            ):
                return Verification(
                    log, appender.size, head, seq,
                    f"the leaves do not hash to checkpoint {checkpoint.tree_size}'s root",
                )  # fmt: skip
    finally:
        rows.close()
    if checkpoint and appender.size < checkpoint.tree_size:
        return Verification(
            log, appender.size, head, None,
            f"checkpoint {checkpoint.tree_size} covers more leaves than the {appender.size} stored",
        )  # fmt: skip
    return Verification(log, appender.size, head, None, None)


def oldest_unsealed(connection: Connection, log: str) -> tuple[int, datetime] | None:
    """The seq and time of the log's oldest entry no leaf names yet, if any."""
    model = MODELS[log]
    sealed = select(_LEAVES.c.entry_seq).where(
        _LEAVES.c.log == log, _LEAVES.c.entry_seq == model.seq
    )
    row = connection.execute(
        select(model.seq, model.created_at)
        .where(~sealed.exists())
        .order_by(model.created_at)
        .limit(1)
    ).first()
    if row is None:
        return None
    moment = row[1] if row[1].tzinfo else row[1].replace(tzinfo=UTC)
    return int(row[0]), moment
