"""CDS Hooks client authentication: signed JWTs (asymmetric only, no replays) or our API keys."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from ..callers import Asked, Caller, NotAuthenticated, VerifiedJwt
from ..db import Database, clients
from ..domain.severity import Severity

log = logging.getLogger(__name__)

# The spec forbids "none" and symmetric (HS*) algorithms and recommends ES384 and RS384.
ALGORITHMS = ("RS384", "ES384", "RS256", "ES256", "RS512", "ES512", "PS256", "PS384", "PS512")
MAX_LIFETIME = timedelta(hours=1)
LEEWAY_SECONDS = 30
# The columns that hold them (``jwt_issuer``, ``kid``, ``seen_jwt.jti``): longer is no client's.
MAX_ISSUER, MAX_KID, MAX_JTI = 300, 200, 200

_jwks_clients: dict[str, jwt.PyJWKClient] = {}
_jwks_lock = threading.Lock()


class InvalidToken(Exception):
    """Why a token was refused; logged for operators, never sent to the caller."""


@dataclass(frozen=True)
class _Issuer:
    """A registered issuer's client and its registered keys, as last read here."""

    caller: Caller
    keys: dict[str, dict[str, Any]]  # JWK by kid; registered keys are only ever added
    jwks_url: str | None


# By issuer: a token is verified without a read; the check (or ``redeem``) confirms the client.
_issuers: dict[str, _Issuer] = {}
_issuers_lock = threading.Lock()
ISSUERS_KEPT = 256


def verify(db: Database, token: str, audiences: list[str]) -> tuple[VerifiedJwt, Caller]:
    """The credentials a valid JWT carries, and its client as last read here.

    Raises ``InvalidToken``. The token's id is not used up here: the transaction that acts on the
    token records it (``check_and_log`` for a check, ``redeem`` otherwise), so a replay is refused
    there, together with a client revoked meanwhile.
    """
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise InvalidToken(f"not a JWT: {error}") from error
    algorithm, kid, issuer = header.get("alg"), header.get("kid"), unverified.get("iss")
    if algorithm not in ALGORITHMS:
        raise InvalidToken(f"algorithm {algorithm!r} is not accepted")
    if not isinstance(kid, str) or not isinstance(issuer, str):
        raise InvalidToken("kid and iss are required")
    _storable("iss", issuer, MAX_ISSUER)
    _storable("kid", kid, MAX_KID)
    known = _issuers.get(issuer)
    if known is None or (kid not in known.keys and known.jwks_url is None):
        known = _read_issuer(db, issuer)  # first sight, or a key added since
    key, jwks_url = _signing_key(known, kid)
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[algorithm],
            audience=audiences,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except (jwt.PyJWTError, TypeError, ValueError) as error:
        # TypeError/ValueError: PyJWT's word for a key of another type than ``alg`` names.
        raise InvalidToken(str(error) or type(error).__name__) from error
    _storable("jti", str(claims["jti"]), MAX_JTI)
    # In whole seconds first: a far-future ``exp`` is refused here, before it could overflow a date.
    if claims["exp"] - claims["iat"] > MAX_LIFETIME.total_seconds():
        raise InvalidToken("token lifetime exceeds one hour")
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    credentials = VerifiedJwt(known.caller.client_id, issuer, jwks_url, str(claims["jti"]), expires)
    return credentials, known.caller


def redeem(db: Database, credentials: VerifiedJwt) -> Caller:
    """Use the token up and confirm its client, in a transaction of its own (requests that are
    no check). Raises ``InvalidToken``."""
    with db.transaction() as connection:
        try:
            caller = Asked(connection, credentials).caller()
        except NotAuthenticated:
            forget(credentials.issuer)
            raise InvalidToken("the client is revoked or the token was used before") from None
    assert caller is not None  # a JWT names a client, or the read raised
    return caller


def forget(issuer: str) -> None:
    """Read the issuer again next time: its client was found revoked or changed."""
    with _issuers_lock:
        _issuers.pop(issuer, None)


def _read_issuer(db: Database, issuer: str) -> _Issuer:
    with db.unit_of_work(read_only=True) as session:
        client = clients.by_issuer(session, issuer)
        if client is None:
            raise InvalidToken(f"issuer {issuer!r} is not registered")
        known = _Issuer(
            Caller(client.id, Severity(client.min_severity), client.rxnav_failure_status),
            {k.kid: k.jwk for k in client.keys},
            client.jwks_url,
        )
    with _issuers_lock:
        _issuers[issuer] = known
        if len(_issuers) > ISSUERS_KEPT:
            del _issuers[next(iter(_issuers))]
    return known


def _storable(claim: str, value: str, limit: int) -> None:
    """Looked up or stored as text: a NUL (which PostgreSQL refuses) or an overlong value is no
    client's, so it is a refused token rather than a database error."""
    if "\x00" in value or len(value) > limit:
        raise InvalidToken(f"{claim} is not a text of at most {limit} characters")


def _signing_key(known: _Issuer, kid: str) -> tuple[Any, str | None]:
    """The key for ``kid`` and, when it came from the client's JWK Set, that set's address."""
    registered = known.keys.get(kid)
    if registered is not None:
        return jwt.PyJWK(registered).key, None
    if known.jwks_url:
        try:
            return _jwks_client(known.jwks_url).get_signing_key(kid).key, known.jwks_url
        except jwt.PyJWTError as error:
            raise InvalidToken(f"kid {kid!r} not in {known.jwks_url}: {error}") from error
    raise InvalidToken(f"kid {kid!r} is not registered for this client")


def _jwks_client(url: str) -> jwt.PyJWKClient:
    """One cached JWK Set client per URL, so keys are fetched once and refreshed on rotation."""
    with _jwks_lock:
        if url not in _jwks_clients:
            _jwks_clients[url] = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)
        return _jwks_clients[url]
