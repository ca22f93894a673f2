"""Hostile input for the fuzz tests of every door: text, JSON, query strings and headers that once
made a door answer 5xx, mixed with whatever hypothesis generates around them.

Example counts stay modest (``FUZZ``): each example is a real request through the app and its
database, on both backends, and the whole suite has to stay quick.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# The fixtures (database connection, app, signed-in clients) are built once per test and shared by
# its examples on purpose: every example runs in the same rolled-back transaction.
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY_TEXT = (
    "",
    " ",
    "\x00",
    "clonazepam\x00",
    "\x00" * 3 + "70",
    "²",
    "¹²³",
    "\u0667\u0660",  # Arabic-Indic 70: isdecimal() says yes
    "\uff17\uff10",  # full-width digits 70
    "1e400",
    "-1",
    "99999999999999999999999999",
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23:59:59Z",
    "10000-01-01",
    "2026-02-30",
    "2026-13-01T25:61Z",
    "-0001-01-01",
    "NaN",
    "Infinity",
    "true",
    "null",
    "[]",
    "{}",
    "%00",
    "'; DROP TABLE alert_log; --",
    "\ud7ff\ue000\U0010ffff",
    "\u202e\u200b\ufeff",
    "a" * 5000,
    "é" * 300,
)

hostile_text = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=40))

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)

json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(hostile_text, children, max_size=4),
    ),
    max_leaves=12,
)


def nested(depth: int) -> bytes:
    """A JSON document nested ``depth`` levels deep: past any parser's recursion limit."""
    return b'{"medications": ' + b"[" * depth + b"]" * depth + b"}"


# Deep enough for any parser's recursion limit, small enough for every door's body limit (64 KiB).
DEEP_JSON = (nested(20_000), b"[" * 30_000, b'{"a":' * 6_000 + b"1" + b"}" * 6_000)


def query_strings(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Query strings over a door's own parameter names (and some it does not know), hostile values."""
    name = st.one_of(st.sampled_from(names), st.text(min_size=1, max_size=8))
    pairs = st.lists(st.tuples(name, hostile_text), max_size=6)
    return pairs.map(lambda items: urlencode(items, encoding="utf-8", errors="surrogatepass"))


header_value = st.one_of(
    st.sampled_from(
        ("", "Bearer", "Bearer ", "Bearer ia_", "Basic Zm9vOmJhcg==", "ia_" + "x" * 900)
    ),
    st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
        max_size=60,
    ),
)

hostile_headers = st.dictionaries(
    st.sampled_from(
        ("Authorization", "Content-Type", "Accept", "X-Request-ID", "Cookie", "X-Forwarded-For")
    ),
    header_value,
    max_size=4,
)


def json_body(value: Any) -> bytes:
    """``value`` as JSON bytes; lone surrogates go out as ``\\ud800`` escapes, which parse."""
    return json.dumps(value).encode()
