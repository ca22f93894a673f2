"""JWT ids already used, kept until they expire, so that a captured token cannot be replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, insert, select

from . import prepared
from .models import SeenJwt

# Tokens are accepted this long past their ``exp``: their ids are kept as long.
LEEWAY = timedelta(seconds=30)

_SEEN = select(SeenJwt.jti).where(
    SeenJwt.issuer == bindparam("issuer"), SeenJwt.jti == bindparam("jti")
)
_SWEEP = delete(SeenJwt).where(SeenJwt.expires_at < bindparam("now"))
_RECORD = insert(SeenJwt)


def ask_seen(connection: Connection, issuer: str, jti: str) -> prepared.Pending:
    """Whether ``jti`` was used before, sent now and read with ``first()`` (a row: it was)."""
    return prepared.send(connection, _SEEN, {"issuer": issuer, "jti": jti})


def record(connection: Connection, issuer: str, jti: str, expires_at: datetime) -> None:
    """Mark ``jti`` used, in the caller's transaction, and forget the ids that have expired.

    Two uses of one id racing each other: the second waits on the first's row and fails on the
    key, so its transaction (and its check) is refused.
    """
    prepared.execute(connection, _SWEEP, [{"now": datetime.now(UTC)}])
    prepared.execute(
        connection,
        _RECORD,
        [{"issuer": issuer, "jti": jti, "expires_at": expires_at + LEEWAY}],
    )
