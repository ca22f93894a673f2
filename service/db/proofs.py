"""Inclusion proofs for one log entry: its leaf, the path to a root, and the signed checkpoint.

A proof is built against the log's newest checkpoint, from the stored perfect subtrees the path
needs (``merkle.inclusion_nodes``, O(log n) of them). It is checked here before it is handed out:
a proof that does not verify means the stored tree or the entry was changed, which is for
``audit verify`` to name, never for a client to receive as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from ..domain import merkle
from . import transparency


class NotSealed(Exception):
    """The entry is committed but the sealer has not added it to the tree yet."""


class BrokenTree(Exception):
    """The stored entry, leaf or subtrees no longer prove the entry: the log was tampered with."""


@dataclass(frozen=True)
class InclusionProof:
    log: str
    leaf_index: int
    leaf: bytes
    leaf_hash: bytes
    path: list[bytes]
    checkpoint: transparency.StoredCheckpoint


def inclusion(connection: Connection, log: str, seq: int) -> InclusionProof:
    """The proof that entry ``seq`` of ``log`` is in the tree of the newest checkpoint."""
    sealed = transparency.leaf_of(connection, log, seq)
    checkpoint = transparency.latest_checkpoint(connection, log)
    if sealed is None or checkpoint is None or checkpoint.tree_size <= sealed[0]:
        raise NotSealed(f"{log} entry {seq} is not sealed yet")
    index, stored_hash = sealed
    leaf = transparency.leaf_bytes(log, seq, _entry(connection, log, seq))
    if merkle.leaf_hash(leaf) != stored_hash:
        raise BrokenTree(f"{log} entry {seq} no longer matches its leaf {index}")
    size = checkpoint.tree_size
    path = merkle.inclusion_proof(
        index,
        size,
        transparency.nodes(connection, log, merkle.inclusion_nodes(index, size)),
    )
    if not merkle.verify_inclusion(stored_hash, index, size, path, checkpoint.root_hash):
        raise BrokenTree(f"the stored tree does not prove {log} leaf {index} in checkpoint {size}")
    return InclusionProof(log, index, leaf, stored_hash, path, checkpoint)


def _entry(connection: Connection, log: str, seq: int) -> dict[str, object]:
    model = transparency.MODELS[log]
    fields = transparency.FIELDS[log]
    row = connection.execute(
        select(*(getattr(model, f) for f in fields)).where(model.seq == seq)
    ).one()
    return dict(zip(fields, row, strict=True))
