"""API clients: keys (stored only as hashes), minimum severity, JWT keys; every change is an audit event."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection, Text, bindparam, or_, select
from sqlalchemy.orm import Session, selectinload

from . import prepared
from .events import record_event
from .models import ApiClient, ClientFhirServer, ClientKey

KEY_PREFIX = "ia_"


class ClientError(ValueError):
    """An operator asked for something impossible (unknown client, duplicate name, bad key)."""


def hash_key(key: str) -> str:
    """SHA-256 suffices: keys are 256 random bits, so there is nothing to brute-force, and it is fast."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


RXNAV_FAILURE_STATUSES = (200,)


def create(
    session: Session,
    name: str,
    min_severity: str,
    actor: str,
    *,
    rxnav_failure_status: int | None = None,
) -> tuple[ApiClient, str]:
    """A new client and its key; the key is returned once and never stored.

    ``rxnav_failure_status`` 200 is for RxNav clients that drop the body of every non-200 answer:
    their failures are answered 200, so the "CHECK FAILED" entry in the body reaches the screen.
    """
    if rxnav_failure_status is not None and rxnav_failure_status not in RXNAV_FAILURE_STATUSES:
        raise ClientError(
            f"rxnav failure status {rxnav_failure_status} is not supported (only 200, or none)"
        )
    if session.scalar(select(ApiClient.id).filter_by(name=name)):
        raise ClientError(f"a client named {name!r} already exists")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(
        id=str(uuid.uuid4()),
        name=name,
        key_hash=hash_key(key),
        min_severity=min_severity,
        created_at=datetime.now(UTC),
        rxnav_failure_status=rxnav_failure_status,
    )
    session.add(client)
    record_event(
        session,
        actor=actor,
        action="client.create",
        target=name,
        details={"min_severity": min_severity, "rxnav_failure_status": rxnav_failure_status},
    )
    return client, key


def by_name(session: Session, name: str) -> ApiClient:
    client = session.scalar(
        select(ApiClient).filter_by(name=name).options(selectinload(ApiClient.keys))
    )
    if client is None:
        raise ClientError(f"no client named {name!r}")
    return client


_ACTIVE_BY_KEY_HASH = select(
    ApiClient.id, ApiClient.min_severity, ApiClient.rxnav_failure_status
).where(ApiClient.key_hash == bindparam("key_hash"), ApiClient.revoked_at.is_(None))


def ask_active_by_key_hash(connection: Connection, key_hash: str) -> prepared.Pending:
    """(id, min_severity, rxnav_failure_status) of the active client whose key hashes to
    ``key_hash``: one cheap row, sent now and read with ``first()``."""
    return prepared.send(connection, _ACTIVE_BY_KEY_HASH, {"key_hash": key_hash})


def active_by_key_hash(connection: Connection, key_hash: str) -> tuple[str, str, int | None] | None:
    """That row, read now."""
    row = ask_active_by_key_hash(connection, key_hash).first()
    return (row[0], row[1], row[2]) if row else None


_ACTIVE_BY_ISSUER = select(
    ApiClient.id, ApiClient.min_severity, ApiClient.rxnav_failure_status
).where(
    ApiClient.id == bindparam("client_id"),
    ApiClient.jwt_issuer == bindparam("issuer"),
    ApiClient.revoked_at.is_(None),
    or_(bindparam("jwks_url", type_=Text).is_(None), ApiClient.jwks_url == bindparam("jwks_url")),
)


def ask_active_by_issuer(
    connection: Connection, client_id: str, issuer: str, jwks_url: str | None
) -> prepared.Pending:
    """The same row for the client ``client_id`` if it is active, still has ``issuer`` and, for a
    key fetched from a JWK Set, still names ``jwks_url``."""
    return prepared.send(
        connection,
        _ACTIVE_BY_ISSUER,
        {"client_id": client_id, "issuer": issuer, "jwks_url": jwks_url},
    )


def by_issuer(session: Session, issuer: str) -> ApiClient | None:
    client = session.scalar(
        select(ApiClient).filter_by(jwt_issuer=issuer).options(selectinload(ApiClient.keys))
    )
    return client if client is not None and client.revoked_at is None else None


def all_clients(session: Session) -> list[ApiClient]:
    return list(session.scalars(select(ApiClient).order_by(ApiClient.name)))


def revoke(session: Session, name: str, actor: str) -> ApiClient:
    client = by_name(session, name)
    if client.revoked_at is None:
        client.revoked_at = datetime.now(UTC)
        record_event(session, actor=actor, action="client.revoke", target=name)
    return client


def rotate_key(session: Session, name: str, actor: str) -> tuple[ApiClient, str]:
    """A new key for a client, returned once; the old one stops working when this commits."""
    client = by_name(session, name)
    if client.revoked_at is not None:
        raise ClientError(f"client {name!r} is revoked; create a new client instead")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    client.key_hash = hash_key(key)
    record_event(session, actor=actor, action="client.rotate_key", target=name)
    return client, key


def set_min_severity(session: Session, name: str, level: str, actor: str) -> tuple[str, str]:
    """The adjustable severity of ONC 170.315(a)(4): operator-only, and every change is recorded."""
    client = by_name(session, name)
    old = client.min_severity
    client.min_severity = level
    record_event(
        session,
        actor=actor,
        action="client.min_severity",
        target=name,
        details={"old": old, "new": level},
    )
    return old, level


def add_jwk(
    session: Session, name: str, jwk: dict[str, Any], issuer: str | None, actor: str
) -> str:
    """Register a public key (JWK) for a CDS client's signed JWTs; returns its ``kid``."""
    client = by_name(session, name)
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ClientError("the JWK needs a kid (CDS Hooks requires kid in the JWT header)")
    if any(k in jwk for k in ("d", "p", "q", "k")):
        raise ClientError("that is a private or symmetric key; register the public key only")
    if jwk.get("kty") not in ("RSA", "EC"):
        raise ClientError(
            "only RSA and EC keys are accepted (CDS Hooks forbids symmetric algorithms)"
        )
    _set_issuer(session, client, issuer)
    if any(k.kid == kid for k in client.keys):
        raise ClientError(f"client {name!r} already has a key with kid {kid!r}")
    client.keys.append(ClientKey(kid=kid, jwk=jwk, added_at=datetime.now(UTC)))
    record_event(session, actor=actor, action="client.add_jwk", target=name, details={"kid": kid})
    return kid


def set_jwks_url(session: Session, name: str, url: str, issuer: str | None, actor: str) -> None:
    client = by_name(session, name)
    if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
        raise ClientError("a JWKS URL must use https")
    _set_issuer(session, client, issuer)
    client.jwks_url = url
    record_event(session, actor=actor, action="client.jwks_url", target=name, details={"url": url})


def _set_issuer(session: Session, client: ApiClient, issuer: str | None) -> None:
    if issuer:
        other = session.scalar(select(ApiClient.name).filter_by(jwt_issuer=issuer))
        if other is not None and other != client.name:
            raise ClientError(f"issuer {issuer!r} already belongs to client {other!r}")
        client.jwt_issuer = issuer
    if not client.jwt_issuer:
        raise ClientError("give --issuer: the JWT iss value this client signs with")


def normalize_fhir_base(url: str) -> str | None:
    """``url`` as a FHIR base URL compares (scheme and host lower-cased, no trailing slash), or None.

    Only http(s) URLs with a host and without credentials, query or fragment are FHIR base URLs.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username or parts.password or parts.query or parts.fragment:
        return None
    host = parts.hostname.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


def add_fhir_server(session: Session, name: str, url: str, actor: str) -> str:
    """Allow NAME's CDS requests to have the service fetch from the FHIR server at ``url``.

    https is expected; an http URL is allowed only because an operator registered it, so a test or
    an internal server can be used knowingly. Returns the URL as stored.
    """
    client = by_name(session, name)
    base = normalize_fhir_base(url)
    if base is None:
        raise ClientError(
            f"{url!r} is not a FHIR base URL (http or https, a host, no query, fragment or password)"
        )
    if any(s.url == base for s in client.fhir_servers):
        raise ClientError(f"client {name!r} already has FHIR server {base}")
    client.fhir_servers.append(ClientFhirServer(url=base, added_at=datetime.now(UTC)))
    record_event(
        session, actor=actor, action="client.add_fhir_server", target=name, details={"url": base}
    )
    return base


def remove_fhir_server(session: Session, name: str, url: str, actor: str) -> str:
    """Stop fetching from ``url`` for NAME's requests."""
    client = by_name(session, name)
    base = normalize_fhir_base(url) or url
    found = next((s for s in client.fhir_servers if s.url == base), None)
    if found is None:
        raise ClientError(f"client {name!r} has no FHIR server {base}")
    client.fhir_servers.remove(found)
    session.delete(found)
    record_event(
        session, actor=actor, action="client.remove_fhir_server", target=name, details={"url": base}
    )
    return base


def fhir_servers(session: Session, client_id: str) -> list[str]:
    """The FHIR base URLs registered for a client, as stored (normalised)."""
    return list(
        session.scalars(
            select(ClientFhirServer.url)
            .where(ClientFhirServer.client_id == client_id)
            .order_by(ClientFhirServer.id)
        )
    )
