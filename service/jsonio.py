"""JSON for answers, log rows and hashes, through orjson: answers carry dozens of alerts, and
encoding them with the standard library was a large part of a check's cost.

No Flask here, so the database layer can use it; Flask's own JSON provider is ``json_provider``.
"""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def canonical(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same bytes for the same content, for hashing."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
