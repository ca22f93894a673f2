"""The one rate-limit mechanism of every door that has one (the web form, the staff login).

Counts live in the database (``db.rate_limits``), so with several gunicorn workers, or hosts, a
limit of 30 a minute is 30 a minute, not 30 per worker. Addresses and names are keyed with a
secret derived from ``SECRET_KEY`` before they become keys: the counter table holds neither.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from flask import Response, current_app, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import TooManyRequests

from .appctx import database
from .db import rate_limits
from .db.rate_limits import Rate, Verdict

log = logging.getLogger(__name__)


class RateLimited(TooManyRequests):
    """Over a limit: the door's error handler renders its own page; ``retry_after`` is seconds."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(retry_after=verdict.retry_after)
        self.verdict = verdict


def key(scope: str, *parts: str) -> str:
    """A counter's key: the scope in clear (for operators), the parts as a keyed hash."""
    secret = hmac.new(
        str(current_app.config["SECRET_KEY"]).encode(), b"rate-limit keys", hashlib.sha256
    ).digest()
    digest = hmac.new(secret, "\0".join(parts).encode(), hashlib.sha256).hexdigest()
    return f"{scope}:{digest[:48]}"


def client_address() -> str:
    return request.remote_addr or "unknown"


def count(scope: str, rate: Rate, *parts: str) -> Verdict:
    """Count this request under ``scope`` and ``parts``; the verdict says if it is within ``rate``.

    A database that cannot count lets the request through: what it asks for needs the same
    database, and its door answers that failure with its own page (a 503), not a limiter's 500.
    """
    try:
        return rate_limits.hit(database(), key(scope, *parts), rate)
    except DBAPIError as error:
        log.warning(
            "rate limit %s not counted, the database failed: %s", scope, type(error).__name__
        )
        return Verdict(allowed=True, hits=0, retry_after=0, limit=rate.limit)


def with_retry_after(response: Response, retry_after: int) -> Response:
    response.headers["Retry-After"] = str(retry_after)
    return response
