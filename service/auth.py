"""Who is calling: API keys from the Authorization header (or ``apiKey`` where a door allows it)."""

from __future__ import annotations

from flask import request

from .appctx import database
from .checking import Caller
from .db import clients
from .domain.severity import Severity


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def caller_from_api_key(*, allow_query_parameter: bool = False) -> Caller | None:
    """The client whose key was presented, or None; a revoked key is no key."""
    key = bearer_token()
    if key is None and allow_query_parameter:
        key = request.args.get("apiKey") or None
    if not key or not key.startswith(clients.KEY_PREFIX):
        return None
    with database().unit_of_work(read_only=True) as session:
        client = clients.by_key(session, key)
        return Caller(client.id, Severity(client.min_severity)) if client else None
