"""Merkle tree hashing and proofs of RFC 9162 (Certificate Transparency 2.0), section 2.1.

The transparency log keeps every *perfect* subtree it completes, named by its coordinates
`(level, index)`: the subtree over leaves `[index * 2**level, (index + 1) * 2**level)`; level 0 is
a leaf hash. Any tree of `size` leaves is the left-to-right concatenation of a few perfect subtrees
(its *frontier*, one per set bit of `size`), and every hash a proof needs is either a stored
perfect subtree or a non-perfect right edge folded from its perfect parts. So a proof needs
O(log n) stored hashes, which `inclusion_nodes` / `consistency_nodes` name up front, and a store
can fetch them in one query.

Hashes are raw 32-byte SHA-256 digests. `hashlib.sha256` is called directly on the hot paths
(`Appender.append`, `verify_inclusion`): a sealer appends every log row and `audit verify`
streams every leaf.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from hashlib import sha256

Coordinate = tuple[int, int]
"""A perfect subtree `(level, index)`."""

EMPTY_ROOT = sha256(b"").digest()
"""MTH({}): the root of a tree with no leaves."""

_LEAF = b"\x00"
_NODE = b"\x01"
HASH_SIZE = 32


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the leaf prefix keeps a leaf from passing for an inner node."""
    return sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The reference MTH of RFC 9162 §2.1.1, by recursion; for tests and small trees."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root(leaf_hashes[:k]), root(leaf_hashes[k:]))


def _parts(start: int, end: int) -> list[Coordinate]:
    """The perfect subtrees that make up leaves [start, end), largest first.

    Only meaningful for a range that is a subtree of RFC 9162's split, where `start` is a multiple
    of the largest power of two not above `end - start`.
    """
    parts: list[Coordinate] = []
    for level in range((end - start).bit_length() - 1, -1, -1):
        if (end - start) >> level & 1:
            parts.append((level, start >> level))
            start += 1 << level
    return parts


def frontier(size: int) -> list[Coordinate]:
    """The perfect subtrees whose concatenation is the tree of `size` leaves, left to right."""
    if size < 0:
        raise ValueError(f"a tree cannot have {size} leaves")
    return _parts(0, size)


def root_from_frontier(hashes: Sequence[bytes]) -> bytes:
    """The root of a tree given its frontier's hashes, left to right (EMPTY_ROOT for none).

    RFC 9162 splits off the largest perfect subtree on the left, so the root folds right to left.
    """
    if not hashes:
        return EMPTY_ROOT
    folded = hashes[-1]
    for left in reversed(hashes[:-1]):
        folded = sha256(_NODE + left + folded).digest()
    return folded


class Appender:
    """Builds a tree one leaf at a time, keeping only its frontier (at most 64 hashes)."""

    __slots__ = ("_size", "_stack")

    def __init__(self, size: int = 0, frontier_hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(frontier_hashes) != size.bit_count():
            raise ValueError(
                f"a tree of {size} leaves has {max(size, 0).bit_count()} frontier hashes, "
                f"not {len(frontier_hashes)}"
            )
        if any(len(h) != HASH_SIZE for h in frontier_hashes):
            raise ValueError("frontier hashes are 32 bytes each")
        self._size = size
        self._stack = list(frontier_hashes)

    @property
    def size(self) -> int:
        return self._size

    @property
    def frontier_hashes(self) -> tuple[bytes, ...]:
        """The hashes of `frontier(size)`, left to right: enough to resume appending later."""
        return tuple(self._stack)

    def root(self) -> bytes:
        return root_from_frontier(self._stack)

    def append(self, leaf_hash: bytes) -> list[tuple[Coordinate, bytes]]:
        """Adds a leaf; returns the perfect subtrees of level ≥ 1 it completed, lowest first.

        The new leaf completes one subtree per trailing one bit of the old size: each merges the
        frontier's last (equally sized) subtree with the one just built.
        """
        index = self._size
        self._size = index + 1
        stack = self._stack
        if not index & 1:
            stack.append(leaf_hash)
            return []
        completed: list[tuple[Coordinate, bytes]] = []
        folded = leaf_hash
        level = 0
        pending = index
        while pending & 1:
            folded = sha256(_NODE + stack.pop() + folded).digest()
            level += 1
            pending >>= 1
            completed.append(((level, index >> level), folded))
        stack.append(folded)
        return completed


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form PATH(index, D[size]) (RFC 9162 §2.1.3.1), leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    ranges: list[tuple[int, int]] = []
    low, high = 0, size
    while high - low > 1:
        middle = low + _split(high - low)
        if index < middle:
            ranges.append((middle, high))
            high = middle
        else:
            ranges.append((low, middle))
            low = middle
    ranges.reverse()
    return ranges


def _consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form PROOF(old, D[new]) (RFC 9162 §2.1.4.1), deepest first.

    The proof between equal sizes, or from the empty tree, is empty.
    """
    if not 0 <= old <= new:
        raise ValueError(f"a tree of {old} leaves cannot be a prefix of one of {new}")
    if old in (0, new):
        return []
    ranges: list[tuple[int, int]] = []
    low, high = 0, new
    whole_old_tree_known = True
    while old != high:
        middle = low + _split(high - low)
        if old <= middle:
            ranges.append((middle, high))
            high = middle
        else:
            ranges.append((low, middle))
            low = middle
            whole_old_tree_known = False
    if not whole_old_tree_known:
        ranges.append((low, high))
    ranges.reverse()
    return ranges


def _nodes_of(ranges: list[tuple[int, int]]) -> list[Coordinate]:
    return [part for start, end in ranges for part in _parts(start, end)]


def _hashes_of(ranges: list[tuple[int, int]], hashes: Mapping[Coordinate, bytes]) -> list[bytes]:
    return [root_from_frontier([hashes[part] for part in _parts(s, e)]) for s, e in ranges]


def inclusion_nodes(index: int, size: int) -> list[Coordinate]:
    """The stored perfect subtrees an inclusion proof of leaf `index` in `size` leaves reads."""
    return _nodes_of(_inclusion_ranges(index, size))


def consistency_nodes(old: int, new: int) -> list[Coordinate]:
    """The stored perfect subtrees a consistency proof from `old` to `new` leaves reads."""
    return _nodes_of(_consistency_ranges(old, new))


def inclusion_proof(index: int, size: int, hashes: Mapping[Coordinate, bytes]) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, from the hashes `inclusion_nodes` names."""
    return _hashes_of(_inclusion_ranges(index, size), hashes)


def consistency_proof(old: int, new: int, hashes: Mapping[Coordinate, bytes]) -> list[bytes]:
    """PROOF(old, D[new]) of RFC 9162 §2.1.4.1, from the hashes `consistency_nodes` names."""
    return _hashes_of(_consistency_ranges(old, new), hashes)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether `proof` shows leaf `index` of the tree of `size` leaves with `root` is `leaf_hash`.

    The algorithm of RFC 9162 §2.1.3.2. The size is bound only through the root: check the root
    belongs to that size (a signed checkpoint says both).
    """
    if not 0 <= index < size:
        return False
    position, last = index, size - 1
    folded = leaf_hash
    for sibling in proof:
        if last == 0:
            return False
        if position & 1 or position == last:
            folded = sha256(_NODE + sibling + folded).digest()
            while position and not position & 1:
                position >>= 1
                last >>= 1
        else:
            folded = sha256(_NODE + folded + sibling).digest()
        position >>= 1
        last >>= 1
    return last == 0 and folded == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows the tree of `old` leaves is a prefix of the one of `new` leaves.

    The algorithm of RFC 9162 §2.1.4.2, plus the two cases it leaves out: equal sizes need equal
    roots and an empty proof; the empty tree (with EMPTY_ROOT) is a prefix of every tree.
    """
    if not 0 <= old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    position, last = old - 1, new - 1
    while position & 1:
        position >>= 1
        last >>= 1
    old_folded = new_folded = path[0]
    for sibling in path[1:]:
        if last == 0:
            return False
        if position & 1 or position == last:
            old_folded = sha256(_NODE + sibling + old_folded).digest()
            new_folded = sha256(_NODE + sibling + new_folded).digest()
            while position and not position & 1:
                position >>= 1
                last >>= 1
        else:
            new_folded = sha256(_NODE + new_folded + sibling).digest()
        position >>= 1
        last >>= 1
    return last == 0 and old_folded == old_root and new_folded == new_root
