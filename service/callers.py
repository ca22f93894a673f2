"""Who is calling: the credentials a door hands to the check, and the client they name.

A door only says what it was given (an API key, a JWT it verified, or nothing); the check reads
the client those credentials name inside the transaction that writes its log row, so a revoked
client is refused by the same transaction that would have logged its check.

A door also refuses an unknown API key before it reads the body. It asks ``known_key`` first: the
outcome of the last read of that key in this process, kept so that the gate costs no transaction
on the happy path. It is only ever a gate: the check's own read is the one that counts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from .db import clients, prepared, seen_jwts
from .domain.severity import Severity


@dataclass(frozen=True)
class Caller:
    """The client a request speaks for, and the least severity it is to be shown.

    ``rxnav_failure_status``: the HTTP status the RxNav door answers this client's failures with
    (200 for clients that drop non-200 bodies), or None for the failure's own status.
    """

    client_id: str
    min_severity: Severity
    rxnav_failure_status: int | None = None


@dataclass(frozen=True)
class ApiKey:
    """An API key as presented (not yet checked)."""

    key: str


@dataclass(frozen=True)
class VerifiedJwt:
    """A JWT whose signature, audience and lifetime the door checked; its id is not used yet.

    ``jwks_url``: where its key came from, when not from the client's registered keys (the client
    must still name that address); registered keys are never removed, only added.
    """

    client_id: str
    issuer: str
    jwks_url: str | None
    jti: str
    expires_at: datetime


Credentials = ApiKey | VerifiedJwt | None


class NotAuthenticated(Exception):
    """The credentials name no active client (or the JWT was used before); nothing was checked."""


class Asked:
    """The reads that confirm ``credentials``, sent so that they can share a round trip."""

    def __init__(self, connection: Connection, credentials: Credentials) -> None:
        self._connection, self._credentials = connection, credentials
        self._client: prepared.Pending | None = None
        self._seen: prepared.Pending | None = None
        self._key_hash: str | None = None
        if isinstance(credentials, ApiKey):
            self._key_hash = clients.hash_key(credentials.key)
            self._client = clients.ask_active_by_key_hash(connection, self._key_hash)
        elif isinstance(credentials, VerifiedJwt):
            self._client = clients.ask_active_by_issuer(
                connection, credentials.client_id, credentials.issuer, credentials.jwks_url
            )
            self._seen = seen_jwts.ask_seen(connection, credentials.issuer, credentials.jti)

    def caller(self) -> Caller | None:
        """The client, confirmed; records a JWT's id as used. Raises ``NotAuthenticated``."""
        credentials = self._credentials
        if credentials is None or self._client is None:
            return None
        row = self._client.first()
        caller = Caller(row[0], Severity(row[1]), row[2]) if row else None
        if self._key_hash is not None:
            _remember(self._key_hash, caller)
        if caller is None:
            raise NotAuthenticated
        if isinstance(credentials, VerifiedJwt):
            if self._seen is not None and self._seen.first() is not None:
                raise NotAuthenticated  # a replay
            seen_jwts.record(
                self._connection, credentials.issuer, credentials.jti, credentials.expires_at
            )
        return caller


def read_key(connection: Connection, key: ApiKey) -> Caller | None:
    """The active client holding ``key``, read now in the caller's transaction; None if none."""
    try:
        return Asked(connection, key).caller()
    except NotAuthenticated:
        return None


# The outcome of the last read of each key here, by the key's hash: the gate in front of the body.
_KNOWN: dict[str, Caller] = {}
_KNOWN_LOCK = threading.Lock()
KNOWN_LIMIT = 1024


def known_key(key: str) -> Caller | None:
    """The caller last read with ``key`` in this process, unconfirmed; None when not seen lately."""
    return _KNOWN.get(clients.hash_key(key))


def _remember(key_hash: str, caller: Caller | None) -> None:
    with _KNOWN_LOCK:
        if caller is None:
            _KNOWN.pop(key_hash, None)
        elif _KNOWN.get(key_hash) != caller:
            _KNOWN[key_hash] = caller
            if len(_KNOWN) > KNOWN_LIMIT:
                del _KNOWN[next(iter(_KNOWN))]
