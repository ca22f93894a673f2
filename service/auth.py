"""Who is calling: API keys from the Authorization header (or ``apiKey`` where a door allows it)."""

from __future__ import annotations

import threading

from flask import has_request_context, request
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from .appctx import database, note_client
from .checking import Caller, ServiceUnavailable
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


# The callers last seen with each key, in this process, by the key's hash: a hint that spares a
# check its read before evaluating. The check confirms it where it writes its log.
_RECENT: dict[str, Caller] = {}
_RECENT_LOCK = threading.Lock()
RECENT_LIMIT = 1024


def caller_for_key(connection: Connection, key: str) -> Caller | None:
    """The active client holding ``key``, in the caller's transaction; a revoked key is no key."""
    key_hash = clients.hash_key(key)
    client = clients.active_by_key_hash(connection, key_hash)
    caller = Caller(client[0], Severity(client[1]), client[2]) if client else None
    if caller is not None and has_request_context():
        note_client(caller.client_id)
    with _RECENT_LOCK:
        if caller is None:
            _RECENT.pop(key_hash, None)
        elif _RECENT.get(key_hash) != caller:
            _RECENT[key_hash] = caller
            if len(_RECENT) > RECENT_LIMIT:
                del _RECENT[next(iter(_RECENT))]
    return caller


def remembered_caller(key: str) -> Caller | None:
    """The caller last seen with ``key`` here, unconfirmed; None when not seen lately."""
    return _RECENT.get(clients.hash_key(key))


def known_caller(key: str) -> Caller | None:
    """The caller holding ``key``: the one remembered here (a check confirms it), else read now.

    So a door can refuse an unknown key before it looks at the body, without a read per request.
    """
    remembered = remembered_caller(key)
    return remembered if remembered is not None else _read_caller(key)


def _read_caller(key: str) -> Caller | None:
    try:
        with database().transaction(read_only=True) as connection:
            return caller_for_key(connection, key)
    except SQLAlchemyError as error:
        raise ServiceUnavailable("the API clients could not be read") from error


def caller_from_api_key(*, allow_query_parameter: bool = False) -> Caller | None:
    """The client whose key was presented, or None, in a transaction of its own.

    Raises ``ServiceUnavailable`` when the clients cannot be read: a 503, like a check's.
    """
    key = presented_api_key(allow_query_parameter=allow_query_parameter)
    return _read_caller(key) if key is not None else None
