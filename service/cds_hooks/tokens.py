"""CDS Hooks client authentication: signed JWTs (asymmetric only, no replays) or our API keys."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..checking import Caller
from ..db import Database, clients
from ..db.models import ApiClient, SeenJwt
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


def verify(db: Database, token: str, audiences: list[str]) -> Caller:
    """The client a valid JWT speaks for; raises ``InvalidToken`` otherwise."""
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
    with db.unit_of_work(read_only=True) as session:
        client = clients.by_issuer(session, issuer)
        if client is None:
            raise InvalidToken(f"issuer {issuer!r} is not registered")
        key = _signing_key(client, kid)
        caller = Caller(client.id, Severity(client.min_severity))
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
    _remember(db, issuer, str(claims["jti"]), expires)
    return caller


def _storable(claim: str, value: str, limit: int) -> None:
    """Looked up or stored as text: a NUL (which PostgreSQL refuses) or an overlong value is no
    client's, so it is a refused token rather than a database error."""
    if "\x00" in value or len(value) > limit:
        raise InvalidToken(f"{claim} is not a text of at most {limit} characters")


def _signing_key(client: ApiClient, kid: str) -> Any:
    registered = next((k for k in client.keys if k.kid == kid), None)
    if registered is not None:
        return jwt.PyJWK(registered.jwk).key
    if client.jwks_url:
        try:
            return _jwks_client(client.jwks_url).get_signing_key(kid).key
        except jwt.PyJWTError as error:
            raise InvalidToken(f"kid {kid!r} not in {client.jwks_url}: {error}") from error
    raise InvalidToken(f"kid {kid!r} is not registered for this client")


def _jwks_client(url: str) -> jwt.PyJWKClient:
    """One cached JWK Set client per URL, so keys are fetched once and refreshed on rotation."""
    with _jwks_lock:
        if url not in _jwks_clients:
            _jwks_clients[url] = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)
        return _jwks_clients[url]


def _remember(db: Database, issuer: str, jti: str, expires: datetime) -> None:
    """Record the jti; a second use of the same one is a replay. Expired ids are swept as we go."""
    with db.unit_of_work() as session:
        _sweep(session)
        session.add(
            SeenJwt(issuer=issuer, jti=jti, expires_at=expires + timedelta(seconds=LEEWAY_SECONDS))
        )
        try:
            session.commit()
        except IntegrityError as error:
            raise InvalidToken("jti was already used (replay)") from error


def _sweep(session: Session) -> None:
    session.execute(delete(SeenJwt).where(SeenJwt.expires_at < datetime.now(UTC)))
