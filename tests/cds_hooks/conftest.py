"""Keys and signed tokens as a CDS client (an EHR) would make them."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask
from sqlalchemy.orm import Session

from service.db import clients

ISSUER = "https://ehr.example.org"
BASE = "http://localhost"

MakeToken = Callable[..., str]


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def public_jwk(private_key: Any, kid: str) -> dict[str, Any]:
    algorithm = (
        jwt.algorithms.RSAAlgorithm
        if isinstance(private_key, rsa.RSAPrivateKey)
        else jwt.algorithms.ECAlgorithm
    )
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid}


@pytest.fixture()
def ehr(session: Session, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> str:
    """A CDS client registered with one RSA and one EC public key; returns its name."""
    clients.create(session, "ehr", "minor", actor="test")
    clients.add_jwk(session, "ehr", public_jwk(rsa_key, "rsa-1"), ISSUER, actor="test")
    clients.add_jwk(session, "ehr", public_jwk(ec_key, "ec-1"), None, actor="test")
    session.commit()
    return "ehr"


@pytest.fixture()
def make_token(rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> MakeToken:
    def make(
        path: str,
        *,
        alg: str = "RS384",
        kid: str | None = None,
        key: Any = None,
        expires_in: int = 300,
        issued_at: int | None = None,
        jti: str | None = None,
        audience: str | None = None,
        issuer: str = ISSUER,
    ) -> str:
        now = int(time.time())
        signing_key = key if key is not None else (ec_key if alg.startswith("ES") else rsa_key)
        claims = {
            "iss": issuer,
            "aud": audience or f"{BASE}{path}",
            "iat": issued_at if issued_at is not None else now,
            "exp": now + expires_in,
            "jti": jti or str(uuid.uuid4()),
        }
        headers = {"kid": kid or ("ec-1" if alg.startswith("ES") else "rsa-1"), "typ": "JWT"}
        return jwt.encode(claims, signing_key, algorithm=alg, headers=headers)

    return make


@pytest.fixture()
def app(app: Flask) -> Flask:
    """The service as deployed for CDS clients: its public address configured, so JWT audiences
    are checked against it (without it, every CDS JWT is refused)."""
    app.config["PUBLIC_BASE_URL"] = BASE
    return app
