"""Who is calling: API keys from the Authorization header (or ``apiKey`` where a door allows it)."""

from __future__ import annotations

from flask import request
from sqlalchemy import Connection

from .appctx import database
from .checking import Caller
from .db import clients
from .domain.severity import Severity


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def presented_api_key(*, allow_query_parameter: bool = False) -> str | None:
    """The API key the request carries, if it looks like one (not yet checked)."""
    key = bearer_token()
    if key is None and allow_query_parameter:
        key = request.args.get("apiKey") or None
    return key if key and key.startswith(clients.KEY_PREFIX) else None


def caller_for_key(connection: Connection, key: str) -> Caller | None:
    """The active client holding ``key``, in the caller's transaction; a revoked key is no key."""
    client = clients.active_by_key(connection, key)
    if client is None:
        return None
    client_id, min_severity = client
    return Caller(client_id, Severity(min_severity))


def caller_from_api_key(*, allow_query_parameter: bool = False) -> Caller | None:
    """The client whose key was presented, or None, in a transaction of its own."""
    key = presented_api_key(allow_query_parameter=allow_query_parameter)
    if key is None:
        return None
    with database().transaction(read_only=True) as connection:
        return caller_for_key(connection, key)
