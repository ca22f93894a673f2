"""Rate limits on the staff login that slow guessing without letting anyone lock a real user out.

Two counters, both in the database every worker shares (``rate_limiting``):

- **per address**: every attempt from one address, whatever the name (``LOGIN_ADDRESS_RATE_LIMIT``,
  30 per 15 minutes): one machine cannot spray passwords over many names, nor spend the service's
  CPU on argon2 (refused attempts are answered before any hashing);
- **per name and address**: failed attempts at one name from one address (``LOGIN_MAX_FAILURES``
  in ``LOGIN_LOCKOUT_MINUTES``, 5 in 15): guessing one person's password from one place stops.

No counter is per name alone, so nobody can lock an account by failing at it: an outsider's
failures pause only their own address, and the real user, from their own address, still signs
in. The price: guessing from many addresses goes at 5 per address per 15 minutes, against 12+
character passwords hashed with argon2. Unknown names are counted exactly as real ones, so the
answers tell a guesser nothing about which names exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flask import current_app

from ..appctx import database
from ..db import rate_limits, users
from ..db.events import record_event
from ..db.rate_limits import Rate, Verdict
from ..rate_limiting import client_address, count, key

Scope = Literal["address", "name"]


@dataclass(frozen=True)
class Paused:
    """Sign-in refused, or about to be, by one of the limits; ``retry_after`` is in seconds."""

    scope: Scope
    retry_after: int


_ADDRESS, _FAILURES = "login-address", "login-failures"  # the counters' scopes


def _address_rate() -> Rate:
    return Rate.parse(str(current_app.config["LOGIN_ADDRESS_RATE_LIMIT"]))


def _failure_rate() -> Rate:
    minutes = int(current_app.config["LOGIN_LOCKOUT_MINUTES"])
    return Rate(int(current_app.config["LOGIN_MAX_FAILURES"]), minutes * 60)


def before_attempt(name: str) -> Paused | None:
    """Count the attempt against its address; refuse it if either limit is already reached."""
    address = client_address()
    verdict = count(_ADDRESS, _address_rate(), address)
    if not verdict.allowed:
        if verdict.just_exceeded:
            _record_pause("address", name, address, verdict)
        return Paused("address", verdict.retry_after)
    failures = rate_limits.peek(database(), key(_FAILURES, *_failure_parts(name)), _failure_rate())
    if not failures.allowed:
        return Paused("name", failures.retry_after)
    return None


def after_attempt(name: str, *, succeeded: bool) -> Paused | None:
    """A success clears its failures; a failure counts, and the one that reaches the limit pauses."""
    if succeeded:
        rate_limits.clear(database(), key(_FAILURES, *_failure_parts(name)))
        return None
    rate = _failure_rate()
    verdict = count(_FAILURES, rate, *_failure_parts(name))
    if verdict.hits < rate.limit:
        return None
    if verdict.hits == rate.limit:
        _record_pause("name", name, client_address(), verdict)
    return Paused("name", verdict.retry_after)


def _failure_parts(name: str) -> tuple[str, str]:
    """Failures are counted per name *and* address: never per name alone (see the module's note)."""
    return users.attempted_name(name), client_address()


def _record_pause(scope: Scope, name: str, address: str, verdict: Verdict) -> None:
    """One event when a pause begins (not one per refused attempt, which a flood would multiply)."""
    with database().unit_of_work() as session:
        record_event(
            session,
            actor="system",
            action="login.paused",
            target=users.attempted_name(name),
            outcome="failure",
            details={"limit": scope, "address": address, "seconds": verdict.retry_after},
        )
        session.commit()
