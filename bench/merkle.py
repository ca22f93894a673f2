"""Merkle tree benchmark: appending leaves, and one inclusion proof at a million leaves.

Why: the sealer appends every committed log row (about 1,000 a second under load), `audit verify`
streams every leaf of the log through an `Appender` (1,000,000 entries must verify in under 60 s,
leaf hashing and the database read included), and `GET /api/v1/checks/<id>/proof` builds and
checks one inclusion proof (under 20 ms at 1,000,000 entries, the database read included).

What is measured (`time.perf_counter`, pure Python, no database):

* appending: `Appender.append` over N leaf hashes made beforehand (so only the tree is timed),
  keeping every perfect node it returns in a dict, as a store would receive them; leaves/s.
* streaming: the same without keeping the nodes (what verify does); leaves/s.
* leaf hashing: `leaf_hash` of N 300-byte leaves (about one log row's canonical JSON); leaves/s.
* one proof: for 2,000 random leaves of the N-leaf tree, `inclusion_nodes` + `inclusion_proof`
  from the node dict + `verify_inclusion` against the root; µs per proof (median and p99).

Run: `PYTHONPATH=. .venv/bin/python bench/merkle.py [N]` (N = 1,000,000 by default).
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from service.domain import merkle
from service.domain.merkle import Appender, Coordinate

PROOFS = 2_000


def main(leaves: int) -> None:
    hashes = [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(leaves)]

    nodes: dict[Coordinate, bytes] = {(0, i): h for i, h in enumerate(hashes)}
    appender = Appender()
    started = time.perf_counter()
    for leaf in hashes:
        nodes.update(appender.append(leaf))
    root = appender.root()
    elapsed = time.perf_counter() - started
    print(f"append, keeping nodes:  {leaves / elapsed:>12,.0f} leaves/s  ({elapsed:.2f} s)")

    streaming = Appender()
    started = time.perf_counter()
    for leaf in hashes:
        streaming.append(leaf)
    elapsed = time.perf_counter() - started
    assert streaming.root() == root
    print(f"append, roots only:     {leaves / elapsed:>12,.0f} leaves/s  ({elapsed:.2f} s)")

    row = b"x" * 300
    started = time.perf_counter()
    for _ in range(leaves):
        merkle.leaf_hash(row)
    elapsed = time.perf_counter() - started
    print(f"leaf_hash, 300 bytes:   {leaves / elapsed:>12,.0f} leaves/s  ({elapsed:.2f} s)")

    chooser = random.Random(17)
    timings = []
    for _ in range(PROOFS):
        index = chooser.randrange(leaves)
        started = time.perf_counter()
        wanted = merkle.inclusion_nodes(index, leaves)
        proof = merkle.inclusion_proof(index, leaves, {c: nodes[c] for c in wanted})
        verified = merkle.verify_inclusion(hashes[index], index, leaves, proof, root)
        timings.append(time.perf_counter() - started)
        assert verified
    timings.sort()
    median = statistics.median(timings) * 1e6
    p99 = timings[int(len(timings) * 0.99)] * 1e6
    print(
        f"inclusion proof (nodes + build + verify) at {leaves:,} leaves: "
        f"median {median:.1f} µs, p99 {p99:.1f} µs, {len(proof)} hashes, {len(wanted)} nodes read"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
