"""Who is calling: API keys from the Authorization header (or ``apiKey`` where a door allows it)."""

from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy.exc import SQLAlchemyError

from .appctx import database, note_client
from .callers import ApiKey, Caller, known_key, read_key
from .checking import ServiceUnavailable
from .db import clients


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def presented_api_key(*, allow_query_parameter: bool = False) -> str | None:
    """The API key the request carries, if it looks like one (not yet checked)."""
    key = bearer_token()
    if key is None and allow_query_parameter:
        key = request.args.get("apiKey") or None
    return key if key and key.startswith(clients.KEY_PREFIX) else None


def known_caller(key: str) -> Caller | None:
    """The caller holding ``key``: as last read here, else read now. A door's gate, so that an
    unknown key is refused before the body is read without a read per request; the check reads
    the caller again where it writes its log row."""
    caller = known_key(key)
    if caller is None:
        caller = _read_caller(key)
    if caller is not None and has_request_context():
        note_client(caller.client_id)
    return caller


def _read_caller(key: str) -> Caller | None:
    try:
        with database().transaction(read_only=True) as connection:
            return read_key(connection, ApiKey(key))
    except SQLAlchemyError as error:
        raise ServiceUnavailable("the API clients could not be read") from error


def caller_from_api_key(*, allow_query_parameter: bool = False) -> Caller | None:
    """The client whose key was presented, or None, read in a transaction of its own (for the
    requests that are no check). Raises ``ServiceUnavailable`` when the clients cannot be read."""
    key = presented_api_key(allow_query_parameter=allow_query_parameter)
    caller = _read_caller(key) if key is not None else None
    if caller is not None and has_request_context():
        note_client(caller.client_id)
    return caller
