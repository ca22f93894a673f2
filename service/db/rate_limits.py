"""Rate limits counted in the database, so every worker and host sees the same counts.

One row per key: how many hits since the window began, and when it ends. A window starts with the
first hit after the last one ended, so a key that is over its limit is refused until then (the
``Retry-After`` a caller is told). Keys are keyed hashes made by the caller; no address is stored.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import Database
from .models import RateLimitCounter

SWEEP_ROWS = 100  # ended counters deleted per hit: more than hits create, so the table stays small
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"\s*(\d+)\s*(?:per|/)\s*(\d+)?\s*(second|minute|hour|day)s?\s*", re.I)


@dataclass(frozen=True)
class Rate:
    """At most ``limit`` hits in ``seconds``."""

    limit: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"30 per minute"``, ``"20 per 5 minutes"`` or ``"100/hour"``."""
        match = _RATE.fullmatch(text)
        limit, units = (int(match.group(1)), int(match.group(2) or 1)) if match else (0, 0)
        if not match or limit < 1 or units < 1:
            raise ValueError(f"not a rate like '30 per minute' or '20 per 5 minutes': {text!r}")
        return cls(limit, units * _UNITS[match.group(3).lower()])


@dataclass(frozen=True)
class Verdict:
    """Whether a hit is within the limit, the hits counted so far, and seconds until they reset."""

    allowed: bool
    hits: int
    retry_after: int
    limit: int

    @property
    def just_exceeded(self) -> bool:
        """The first refused hit of a window: the moment worth one audit event, not every later one."""
        return not self.allowed and self.hits == self.limit + 1


def hit(database: Database, key: str, rate: Rate, *, now: float | None = None) -> Verdict:
    """Count one hit under ``key`` and say whether it is within ``rate``.

    One upsert, atomic on both backends: concurrent workers never lose a count. Then a few ended
    windows of any key are swept, skipping rows another transaction holds: a sweep never waits,
    so two workers cannot each wait for a row the other swept (a deadlock on PostgreSQL).
    """
    now = time.time() if now is None else now
    with database.unit_of_work() as session:
        row = RateLimitCounter
        insert = (postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert)(row)
        running = row.resets_at > now  # in SET, the row's values from before this hit
        statement = (
            insert.values(key=key, hits=1, resets_at=now + rate.seconds)
            .on_conflict_do_update(
                index_elements=[row.key],
                set_={
                    "hits": case((running, row.hits + 1), else_=1),
                    "resets_at": case((running, row.resets_at), else_=now + rate.seconds),
                },
            )
            .returning(row.hits, row.resets_at)
        )
        hits, resets_at = session.execute(statement).one()
        ended = (
            select(row.key)
            .where(row.resets_at < now)
            .limit(SWEEP_ROWS)
            .with_for_update(skip_locked=True)
        )
        session.execute(delete(row).where(row.key.in_(ended)))
        session.commit()
    return _verdict(hits, resets_at, rate, now, counting=True)


def peek(database: Database, key: str, rate: Rate, *, now: float | None = None) -> Verdict:
    """Whether one more hit under ``key`` would be allowed, without counting one."""
    now = time.time() if now is None else now
    with database.unit_of_work(read_only=True) as session:
        row = session.execute(
            select(RateLimitCounter.hits, RateLimitCounter.resets_at).where(
                RateLimitCounter.key == key, RateLimitCounter.resets_at > now
            )
        ).one_or_none()
    if row is None:
        return Verdict(True, 0, 0, rate.limit)
    return _verdict(row.hits, row.resets_at, rate, now, counting=False)


def clear(database: Database, key: str) -> None:
    """Forget ``key``'s hits (a right password ends the count of wrong ones)."""
    with database.unit_of_work() as session:
        session.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key))
        session.commit()


def _verdict(hits: int, resets_at: float, rate: Rate, now: float, *, counting: bool) -> Verdict:
    allowed = hits <= rate.limit if counting else hits < rate.limit
    return Verdict(allowed, hits, max(1, math.ceil(resets_at - now)), rate.limit)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
