"""The Merkle tree hashes and proves as RFC 9162 says, from no more stored hashes than it names."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from functools import cache
from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain import merkle
from service.domain.merkle import Appender, Coordinate

LARGEST = 400
profile = settings(max_examples=150, deadline=None)

# The 8-leaf tree of the Certificate Transparency reference implementation and the roots of its
# first 1..8 leaves, with proofs from the same test data (RFC 6962 test vectors).
CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION_5_OF_8 = [
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
]
CT_CONSISTENCY_6_TO_8 = [
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
]
CT_CONSISTENCY_2_TO_5 = [
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
]


class RecordingStore(Mapping[Coordinate, bytes]):
    """A store of perfect-subtree hashes that remembers which coordinates were read."""

    def __init__(self, hashes: dict[Coordinate, bytes]) -> None:
        self._hashes = hashes
        self.read: list[Coordinate] = []

    def __getitem__(self, coordinate: Coordinate) -> bytes:
        self.read.append(coordinate)
        return self._hashes[coordinate]

    def __iter__(self) -> Iterator[Coordinate]:
        raise AssertionError("a proof must ask for its nodes by name, not scan the store")

    def __len__(self) -> int:
        return len(self._hashes)


@cache
def leaves() -> tuple[bytes, ...]:
    return tuple(merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(LARGEST))


@cache
def stored_nodes() -> dict[Coordinate, bytes]:
    """Every perfect subtree of the largest tree, as the sealer stores them (leaves at level 0)."""
    appender = Appender()
    nodes: dict[Coordinate, bytes] = {}
    for index, leaf in enumerate(leaves()):
        nodes[(0, index)] = leaf
        nodes.update(appender.append(leaf))
    return nodes


@cache
def reference_root(size: int) -> bytes:
    return merkle.root(leaves()[:size])


def reference_path(index: int, tree: tuple[bytes, ...]) -> list[bytes]:
    """PATH(m, D[n]) written out as RFC 9162 §2.1.3.1 defines it."""
    if len(tree) == 1:
        return []
    k = 1 << ((len(tree) - 1).bit_length() - 1)
    if index < k:
        return [*reference_path(index, tree[:k]), merkle.root(tree[k:])]
    return [*reference_path(index - k, tree[k:]), merkle.root(tree[:k])]


def reference_subproof(old: int, tree: tuple[bytes, ...], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) written out as RFC 9162 §2.1.4.1 defines it."""
    if old == len(tree):
        return [] if whole else [merkle.root(tree)]
    k = 1 << ((len(tree) - 1).bit_length() - 1)
    if old <= k:
        return [*reference_subproof(old, tree[:k], whole), merkle.root(tree[k:])]
    return [*reference_subproof(old - k, tree[k:], False), merkle.root(tree[:k])]


def flipped(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def bound(size: int) -> float:
    return 2 * math.log2(size) + 2 if size > 1 else 2


def test_the_hashes_are_domain_separated_sha256() -> None:
    assert merkle.EMPTY_ROOT == sha256(b"").digest() == merkle.root([])
    assert merkle.leaf_hash(b"abc") == sha256(b"\x00abc").digest()
    assert (
        merkle.node_hash(b"L" * 32, b"R" * 32) == sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_the_roots_match_the_certificate_transparency_test_vectors(size: int) -> None:
    hashes = [merkle.leaf_hash(bytes.fromhex(data)) for data in CT_LEAVES[:size]]
    appender = Appender()
    for leaf in hashes:
        appender.append(leaf)
    assert merkle.root(hashes).hex() == CT_ROOTS[size - 1]
    assert appender.root().hex() == CT_ROOTS[size - 1]


def test_the_proofs_match_the_certificate_transparency_test_vectors() -> None:
    hashes = [merkle.leaf_hash(bytes.fromhex(data)) for data in CT_LEAVES]
    store = {(0, i): h for i, h in enumerate(hashes)}
    appender = Appender()
    for leaf in hashes:
        store.update(appender.append(leaf))
    roots = [bytes.fromhex(r) for r in CT_ROOTS]

    inclusion = merkle.inclusion_proof(5, 8, store)
    assert [h.hex() for h in inclusion] == CT_INCLUSION_5_OF_8
    assert merkle.verify_inclusion(hashes[5], 5, 8, inclusion, roots[7])
    assert not merkle.verify_inclusion(hashes[5], 4, 8, inclusion, roots[7])

    six_to_eight = merkle.consistency_proof(6, 8, store)
    assert [h.hex() for h in six_to_eight] == CT_CONSISTENCY_6_TO_8
    assert merkle.verify_consistency(6, 8, roots[5], roots[7], six_to_eight)
    assert not merkle.verify_consistency(6, 8, roots[4], roots[7], six_to_eight)

    two_to_five = merkle.consistency_proof(2, 5, store)
    assert [h.hex() for h in two_to_five] == CT_CONSISTENCY_2_TO_5
    assert merkle.verify_consistency(2, 5, roots[1], roots[4], two_to_five)


def test_the_appender_gives_the_reference_root_at_every_size_and_emits_exactly_the_perfect_nodes() -> (
    None
):
    appender = Appender()
    assert appender.root() == merkle.EMPTY_ROOT
    emitted: dict[Coordinate, bytes] = {}
    for size, leaf in enumerate(leaves(), start=1):
        for coordinate, value in appender.append(leaf):
            assert coordinate not in emitted
            emitted[coordinate] = value
        assert appender.size == size
        assert appender.root() == reference_root(size)
        perfect = {
            (level, index)
            for level in range(1, size.bit_length())
            for index in range(size >> level)
        }
        assert set(emitted) == perfect
    for (level, index), value in emitted.items():
        assert value == merkle.root(leaves()[index << level : (index + 1) << level])


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 8, 100, 255, 256, 257])
def test_an_appender_resumed_from_its_frontier_goes_on_as_if_never_stopped(size: int) -> None:
    frontier_hashes = [stored_nodes()[c] for c in merkle.frontier(size)]
    resumed = Appender(size, frontier_hashes)
    assert resumed.root() == reference_root(size)
    assert resumed.frontier_hashes == tuple(frontier_hashes)
    for later in range(size, size + 40):
        completed = resumed.append(leaves()[later])
        assert all(stored_nodes()[c] == h for c, h in completed)
        assert resumed.root() == reference_root(later + 1)


def test_an_appender_refuses_a_frontier_that_does_not_fit_its_size() -> None:
    with pytest.raises(ValueError):
        Appender(3, [leaves()[0]])
    with pytest.raises(ValueError):
        Appender(1, [b"short"])
    with pytest.raises(ValueError):
        Appender(-1)


@pytest.mark.parametrize("size", range(LARGEST + 1))
def test_the_frontier_tiles_the_tree_left_to_right_with_shrinking_perfect_subtrees(
    size: int,
) -> None:
    covered = 0
    levels = []
    for level, index in merkle.frontier(size):
        assert index << level == covered
        covered += 1 << level
        levels.append(level)
    assert covered == size
    assert levels == sorted(set(levels), reverse=True)
    hashes = [stored_nodes()[c] for c in merkle.frontier(size)]
    assert merkle.root_from_frontier(hashes) == reference_root(size)


@pytest.mark.parametrize("size", range(1, 130))
def test_every_leafs_inclusion_proof_is_the_reference_path_and_verifies(size: int) -> None:
    for index in range(size):
        store = RecordingStore(stored_nodes())
        proof = merkle.inclusion_proof(index, size, store)
        assert proof == reference_path(index, leaves()[:size])
        assert merkle.verify_inclusion(leaves()[index], index, size, proof, reference_root(size))
        named = merkle.inclusion_nodes(index, size)
        assert sorted(store.read) == sorted(set(named)) == sorted(named)
        assert len(named) <= bound(size)


@pytest.mark.parametrize("new", range(1, 80))
def test_every_consistency_proof_is_the_reference_proof_and_verifies(new: int) -> None:
    for old in range(new + 1):
        store = RecordingStore(stored_nodes())
        proof = merkle.consistency_proof(old, new, store)
        if 0 < old < new:
            assert proof == reference_subproof(old, leaves()[:new], True)
        else:
            assert proof == []
        assert merkle.verify_consistency(old, new, reference_root(old), reference_root(new), proof)
        named = merkle.consistency_nodes(old, new)
        assert sorted(store.read) == sorted(set(named)) == sorted(named)
        assert len(named) <= bound(new)


@st.composite
def leaf_in_tree(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, LARGEST))
    return draw(st.integers(0, size - 1)), size


@st.composite
def tree_pair(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(2, LARGEST))
    return draw(st.integers(1, new - 1)), new


@profile
@given(leaf=leaf_in_tree())
def test_an_inclusion_proof_verifies_and_reads_only_its_named_nodes(leaf: tuple[int, int]) -> None:
    index, size = leaf
    store = RecordingStore(stored_nodes())
    proof = merkle.inclusion_proof(index, size, store)
    assert merkle.verify_inclusion(leaves()[index], index, size, proof, reference_root(size))
    assert sorted(store.read) == sorted(merkle.inclusion_nodes(index, size))
    assert len(store.read) <= bound(size)


@profile
@given(leaf=leaf_in_tree(), data=st.data())
def test_a_tampered_inclusion_claim_is_rejected(leaf: tuple[int, int], data: st.DataObject) -> None:
    index, size = leaf
    proof = merkle.inclusion_proof(index, size, stored_nodes())
    root = reference_root(size)
    leaf_hash = leaves()[index]
    verify = merkle.verify_inclusion

    assert not verify(flipped(leaf_hash), index, size, proof, root)
    assert not verify(leaves()[(index + 1) % LARGEST], index, size, proof, root)
    assert not verify(leaf_hash, index, size, proof, flipped(root))
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1), label="changed hash")
        assert not verify(
            leaf_hash, index, size, [*proof[:at], flipped(proof[at]), *proof[at + 1 :]], root
        )
        assert not verify(leaf_hash, index, size, proof[:-1], root)
        assert not verify(leaf_hash, index, size, proof[1:], root)
    assert not verify(leaf_hash, index, size, [*proof, leaves()[0]], root)
    assert not verify(leaf_hash, index, size, [leaves()[0], *proof], root)

    other_index = data.draw(st.integers(-1, size).filter(lambda i: i != index), label="index")
    assert not verify(leaf_hash, other_index, size, proof, root)
    other_size = data.draw(st.integers(1, LARGEST).filter(lambda n: n != size), label="size")
    assert not verify(leaf_hash, index, other_size, proof, reference_root(other_size))


@profile
@given(pair=tree_pair())
def test_a_consistency_proof_verifies_and_reads_only_its_named_nodes(pair: tuple[int, int]) -> None:
    old, new = pair
    store = RecordingStore(stored_nodes())
    proof = merkle.consistency_proof(old, new, store)
    assert merkle.verify_consistency(old, new, reference_root(old), reference_root(new), proof)
    assert sorted(store.read) == sorted(merkle.consistency_nodes(old, new))
    assert len(store.read) <= bound(new)


@profile
@given(pair=tree_pair(), data=st.data())
def test_a_tampered_consistency_claim_is_rejected(
    pair: tuple[int, int], data: st.DataObject
) -> None:
    old, new = pair
    proof = merkle.consistency_proof(old, new, stored_nodes())
    old_root, new_root = reference_root(old), reference_root(new)
    verify = merkle.verify_consistency

    assert not verify(old, new, flipped(old_root), new_root, proof)
    assert not verify(old, new, old_root, flipped(new_root), proof)
    at = data.draw(st.integers(0, len(proof) - 1), label="changed hash")
    assert not verify(
        old, new, old_root, new_root, [*proof[:at], flipped(proof[at]), *proof[at + 1 :]]
    )
    assert not verify(old, new, old_root, new_root, proof[:-1])
    assert not verify(old, new, old_root, new_root, proof[1:])
    assert not verify(old, new, old_root, new_root, [*proof, leaves()[0]])
    assert not verify(old, new, old_root, new_root, [leaves()[0], *proof])

    other_old = data.draw(st.integers(1, new - 1).filter(lambda n: n != old), label="old")
    assert not verify(other_old, new, reference_root(other_old), new_root, proof)
    other_new = data.draw(st.integers(old + 1, LARGEST).filter(lambda n: n != new), label="new")
    assert not verify(old, other_new, old_root, reference_root(other_new), proof)


def test_sizes_that_cannot_be_are_refused() -> None:
    store = stored_nodes()
    with pytest.raises(ValueError):
        merkle.inclusion_proof(5, 5, store)
    with pytest.raises(ValueError):
        merkle.consistency_proof(6, 5, store)
    with pytest.raises(ValueError):
        merkle.frontier(-1)
    assert not merkle.verify_inclusion(leaves()[0], 0, 0, [], merkle.EMPTY_ROOT)
    assert not merkle.verify_consistency(6, 5, reference_root(6), reference_root(5), [])


def test_the_empty_tree_and_an_unchanged_tree_need_no_proof_but_the_right_roots() -> None:
    root_of_7 = reference_root(7)
    assert merkle.verify_consistency(0, 7, merkle.EMPTY_ROOT, root_of_7, [])
    assert not merkle.verify_consistency(0, 7, root_of_7, root_of_7, [])
    assert not merkle.verify_consistency(0, 7, merkle.EMPTY_ROOT, root_of_7, [root_of_7])
    assert merkle.verify_consistency(7, 7, root_of_7, root_of_7, [])
    assert not merkle.verify_consistency(7, 7, root_of_7, reference_root(6), [])
    assert not merkle.verify_consistency(7, 7, root_of_7, root_of_7, [root_of_7])
