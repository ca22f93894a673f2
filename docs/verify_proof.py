"""Check a check's proof from the transparency log without trusting the service that gave it.

Usage: python verify_proof.py PROOF.json VERIFIER_KEY

PROOF.json is the answer of GET /api/v1/checks/<id>/proof; VERIFIER_KEY is the log's public key
as its operator published it (``flask --app service audit public-key``), not the one inside the
proof: a server that lies would hand out a key of its own. Needs only the standard library, plus
the ``cryptography`` package for the Ed25519 signature on the checkpoint.

What it proves: the entry (the JSON in ``leaf``) is leaf ``leaf_index`` of the tree whose root
the operator's key signed in ``checkpoint``. Keep that checkpoint: if the log is ever rewritten,
it will contradict what ``audit verify --checkpoint`` finds.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def open_note(note: str, verifier_key: str) -> list[str]:
    """The lines of a C2SP signed note, once its Ed25519 signature by ``verifier_key`` verifies."""
    name, key_id, encoded = verifier_key.strip().split("+", 2)
    key = base64.b64decode(encoded)
    if key[:1] != b"\x01" or sha256(name.encode() + b"\n" + key)[:4].hex() != key_id:
        raise ValueError("not an Ed25519 verifier key of the signed-note format")
    text, blank, signatures = note.rpartition("\n\n")
    if not blank:
        raise ValueError("not a signed note")
    text += "\n"  # the signed text ends with its newline
    for line in signatures.splitlines():
        signer, _, signature = line.removeprefix("\N{EM DASH} ").partition(" ")
        blob = base64.b64decode(signature)
        if signer == name and blob[:4].hex() == key_id:
            Ed25519PublicKey.from_public_bytes(key[1:]).verify(blob[4:], text.encode())
            return text.splitlines()  # raises InvalidSignature above if the note was altered
    raise ValueError(f"the checkpoint is not signed by {name}")


def root_from_path(leaf_hash: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """The root a leaf and its audit path lead to (RFC 9162, section 2.1.3.2)."""
    if not 0 <= index < size:
        raise ValueError("the leaf index is outside the tree")
    position, last, node = index, size - 1, leaf_hash
    for sibling in path:
        if last == 0:
            raise ValueError("the path is too long")
        if position % 2 == 1 or position == last:
            node = sha256(b"\x01" + sibling + node)
            while position % 2 == 0 and position != 0:
                position, last = position // 2, last // 2
        else:
            node = sha256(b"\x01" + node + sibling)
        position, last = position // 2, last // 2
    if last != 0:
        raise ValueError("the path is too short")
    return node


def verify_proof(proof: dict[str, Any], verifier_key: str) -> dict[str, Any]:
    """The log entry the proof is about, if it holds; raises ValueError (or InvalidSignature)."""
    origin, size, root, *_ = open_note(proof["checkpoint"], verifier_key)
    leaf = base64.b64decode(proof["leaf"])
    leaf_hash = sha256(b"\x00" + leaf)
    if base64.b64encode(leaf_hash).decode() != proof["leaf_hash"]:
        raise ValueError("leaf_hash is not the hash of leaf")
    if int(size) != proof["tree_size"]:
        raise ValueError("the proof is for another tree size than the checkpoint's")
    path = [base64.b64decode(h) for h in proof["inclusion_proof"]]
    if root_from_path(leaf_hash, proof["leaf_index"], int(size), path) != base64.b64decode(root):
        raise ValueError("the path does not lead to the checkpoint's root")
    entry: dict[str, Any] = json.loads(leaf)
    if not origin.endswith("/" + entry["log"]):
        raise ValueError(f"the checkpoint is for {origin}, not the log {entry['log']}")
    return entry


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as file:
        entry = verify_proof(json.load(file), sys.argv[2])
    content = entry["content"]
    print(
        f"OK: {entry['log']} entry {entry['seq']} (check {content.get('id')}, "
        f"{content['created_at']}) is in the signed log."
    )
