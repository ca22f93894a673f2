"""Inclusion proofs for one check's log entry: its leaf, the path to a root, the signed checkpoint.

A proof is built against the log's newest checkpoint, from the stored perfect subtrees the path
needs (``merkle.inclusion_nodes``, O(log n) of them, read in one query). Two reads in all: the
entry with its leaf and the newest checkpoint, then the subtrees. It is checked here before it is handed
out: a proof that does not verify means the stored tree or the entry was changed, which is for
``audit verify`` to name, never for a client to receive as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, literal, select, true, tuple_, union_all

from ..domain import merkle
from . import transparency
from .models import AlertLog, Base

_LEAVES = Base.metadata.tables["tlog_leaf"]
_NODES = Base.metadata.tables["tlog_node"]
_LOG = transparency.ALERT_LOG
_FIELDS = transparency.FIELDS[_LOG]
_CHECKPOINTS = Base.metadata.tables["tlog_checkpoint"]
_NEWEST = (
    select(_CHECKPOINTS)
    .where(_CHECKPOINTS.c.log == _LOG)
    .order_by(_CHECKPOINTS.c.tree_size.desc())
    .limit(1)
    .subquery("newest")
)
# The check's entry, its leaf once sealed, and the newest checkpoint: one read.
_ENTRY = select(
    _LEAVES.c.leaf_index,
    _LEAVES.c.hash,
    _NEWEST.c.tree_size,
    _NEWEST.c.root_hash,
    _NEWEST.c.created_at,
    _NEWEST.c.note,
    AlertLog.seq,
    *(getattr(AlertLog, f) for f in _FIELDS),
).select_from(
    AlertLog.__table__.outerjoin(
        _LEAVES, (_LEAVES.c.log == _LOG) & (_LEAVES.c.entry_seq == AlertLog.seq)
    ).outerjoin(_NEWEST, true())
)


class NotSealed(Exception):
    """The entry is committed but the sealer has not added it to the tree yet."""


class BrokenTree(Exception):
    """The stored entry, leaf or subtrees no longer prove the entry: the log was tampered with."""


@dataclass(frozen=True)
class CheckEntry:
    """A check's log entry, its leaf once sealed, and the log's newest checkpoint."""

    seq: int
    values: dict[str, Any]
    leaf_index: int | None
    leaf_hash: bytes | None
    newest: transparency.StoredCheckpoint | None

    @property
    def client_id(self) -> str | None:
        client: str | None = self.values["client_id"]
        return client


@dataclass(frozen=True)
class InclusionProof:
    log: str
    leaf_index: int
    leaf: bytes
    leaf_hash: bytes
    path: list[bytes]
    checkpoint: transparency.StoredCheckpoint


def check_entry(connection: Connection, check_id: str) -> CheckEntry | None:
    row = connection.execute(_ENTRY.where(AlertLog.id == check_id)).first()
    if row is None:
        return None
    leaf_index, leaf_hash, size, root, created_at, note, seq = row[:7]
    newest = (
        transparency.StoredCheckpoint(_LOG, size, bytes(root), created_at, note)
        if size is not None
        else None
    )
    leaf = bytes(leaf_hash) if leaf_hash is not None else None
    return CheckEntry(seq, dict(zip(_FIELDS, row[7:], strict=True)), leaf_index, leaf, newest)


def inclusion(connection: Connection, entry: CheckEntry) -> InclusionProof:
    """The proof that ``entry`` is in the tree of the alert log's newest checkpoint."""
    checkpoint = entry.newest
    index, stored_hash = entry.leaf_index, entry.leaf_hash
    if index is None or stored_hash is None or checkpoint is None or checkpoint.tree_size <= index:
        raise NotSealed(f"{_LOG} entry {entry.seq} is not sealed yet")
    leaf = transparency.leaf_bytes(_LOG, entry.seq, entry.values)
    if merkle.leaf_hash(leaf) != stored_hash:
        raise BrokenTree(f"{_LOG} entry {entry.seq} no longer matches its leaf {index}")
    size = checkpoint.tree_size
    path = merkle.inclusion_proof(
        index, size, _subtrees(connection, merkle.inclusion_nodes(index, size))
    )
    if not merkle.verify_inclusion(stored_hash, index, size, path, checkpoint.root_hash):
        raise BrokenTree(f"the stored tree does not prove {_LOG} leaf {index} in checkpoint {size}")
    return InclusionProof(_LOG, index, leaf, stored_hash, path, checkpoint)


@dataclass(frozen=True)
class Seal:
    """Where a sealed entry is: its leaf, and the first checkpoint that covers it."""

    leaf_index: int
    checkpoint: transparency.StoredCheckpoint


def seal_of(connection: Connection, seq: int) -> Seal | None:
    """The alert log entry ``seq``'s seal, or None while it waits for the sealer."""
    sealed = transparency.leaf_of(connection, _LOG, seq)
    if sealed is None:
        return None
    covering = transparency.checkpoint_covering(connection, _LOG, sealed[0])
    return Seal(sealed[0], covering) if covering is not None else None


def _subtrees(
    connection: Connection, coordinates: list[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of perfect subtrees, leaves (level 0) included, in one query."""
    leaves = [index for level, index in coordinates if level == 0]
    inner = [(level, index) for level, index in coordinates if level > 0]
    parts = [
        select(literal(0).label("level"), _LEAVES.c.leaf_index, _LEAVES.c.hash).where(
            _LEAVES.c.log == _LOG, _LEAVES.c.leaf_index.in_(leaves or [-1])
        ),
        select(_NODES.c.level, _NODES.c.node_index, _NODES.c.hash).where(
            _NODES.c.log == _LOG,
            tuple_(_NODES.c.level, _NODES.c.node_index).in_(inner or [(-1, -1)]),
        ),
    ]
    found = {
        (int(level), int(index)): bytes(digest)
        for level, index, digest in connection.execute(union_all(*parts))
    }
    if missing := set(coordinates) - found.keys():
        raise BrokenTree(f"the stored tree lacks the subtrees {sorted(missing)}")
    return found
