"""The rate-limit store under concurrent writers, as several gunicorn workers use it: no hit is lost
and exactly the limit is let through, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, delete

from service.db import Database, rate_limits
from service.db.models import RateLimitCounter
from service.db.rate_limits import Rate

pytestmark = pytest.mark.both_databases  # the rate-limit store

WORKERS, HITS_EACH, LIMIT = 6, 10, 25


def test_concurrent_hits_are_all_counted_and_exactly_the_limit_passes(engine: Engine) -> None:
    database, key, rate = Database(engine), f"test:{uuid.uuid4().hex}", Rate(LIMIT, 600)

    def worker(_: int) -> list[rate_limits.Verdict]:
        return [rate_limits.hit(database, key, rate) for _ in range(HITS_EACH)]

    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            verdicts = [v for batch in pool.map(worker, range(WORKERS)) for v in batch]
        assert sorted(v.hits for v in verdicts) == list(range(1, WORKERS * HITS_EACH + 1))
        assert sum(v.allowed for v in verdicts) == LIMIT
    finally:
        with database.unit_of_work() as session:
            session.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key))
            session.commit()
