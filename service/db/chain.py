"""The hash chain the logs carried until migration 0018 replaced it with a Merkle tree.

Kept only for the migrations: 0003 built the chain and 0018 verifies it once before turning
every chained entry into a leaf (and its downgrade rebuilds it). Nothing in the service writes
or reads it any more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from .. import jsonio
from .transparency import FIELDS, canonical_value

GENESIS = "0" * 64


def entry_hash(chain: str, seq: int, prev_hash: str, values: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash, the position and the canonical JSON of the entry's content."""
    content = {field: canonical_value(values[field]) for field in FIELDS[chain]}
    canonical = jsonio.canonical({"chain": chain, "seq": seq, "content": content})
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical).hexdigest()
