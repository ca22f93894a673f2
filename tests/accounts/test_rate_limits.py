"""The shared rate-limit store (``service.db.rate_limits``): one counter per key in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from service.db import Database, rate_limits
from service.db.models import RateLimitCounter
from service.db.rate_limits import Rate

pytestmark = pytest.mark.both_databases  # the rate-limit store

T0 = 1_800_000_000.0  # any moment; the store is told the time


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("30 per minute", Rate(30, 60)),
        ("20 per 5 minutes", Rate(20, 300)),
        ("100/hour", Rate(100, 3600)),
        (" 1 per 2 Days ", Rate(1, 172800)),
    ],
)
def test_rates_read_as_operators_write_them(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize(
    "text", ["", "per minute", "0 per minute", "5 per 0 minutes", "5 per 00 minutes", "5 a week"]
)
def test_a_rate_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a rate"):
        Rate.parse(text)


def test_hits_within_the_limit_pass_and_the_next_is_told_when_to_retry(
    connection: Connection, session: Session
) -> None:
    db, rate = Database(connection), Rate(3, 60)
    verdicts = [rate_limits.hit(db, "k", rate, now=T0 + n) for n in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.hits for v in verdicts] == [1, 2, 3, 4]
    assert verdicts[3].retry_after == 57  # the window began with the first hit
    assert verdicts[3].just_exceeded and not verdicts[2].just_exceeded
    assert not rate_limits.hit(db, "k", rate, now=T0 + 59.5).just_exceeded


def test_a_new_window_begins_with_the_first_hit_after_the_last_one_ended(
    connection: Connection, session: Session
) -> None:
    db, rate = Database(connection), Rate(1, 60)
    assert rate_limits.hit(db, "k", rate, now=T0).allowed
    assert not rate_limits.hit(db, "k", rate, now=T0 + 30).allowed
    fresh = rate_limits.hit(db, "k", rate, now=T0 + 61)
    assert (fresh.allowed, fresh.hits, fresh.retry_after) == (True, 1, 60)


def test_keys_are_counted_apart(connection: Connection, session: Session) -> None:
    db, rate = Database(connection), Rate(1, 60)
    assert rate_limits.hit(db, "a", rate, now=T0).allowed
    assert rate_limits.hit(db, "b", rate, now=T0).allowed
    assert not rate_limits.hit(db, "a", rate, now=T0).allowed


def test_peek_does_not_count_and_clear_forgets(connection: Connection, session: Session) -> None:
    db, rate = Database(connection), Rate(2, 60)
    assert rate_limits.peek(db, "k", rate, now=T0).allowed
    rate_limits.hit(db, "k", rate, now=T0)
    assert rate_limits.peek(db, "k", rate, now=T0 + 1).hits == 1
    rate_limits.hit(db, "k", rate, now=T0 + 2)
    refused = rate_limits.peek(db, "k", rate, now=T0 + 3)
    assert (refused.allowed, refused.hits, refused.retry_after) == (False, 2, 57)
    assert not rate_limits.peek(db, "k", rate, now=T0 + 4).allowed, "peeking never counted"
    rate_limits.clear(db, "k")
    assert rate_limits.peek(db, "k", rate, now=T0 + 5).allowed


def test_ended_windows_are_swept_so_the_table_holds_only_live_counters(
    connection: Connection, session: Session
) -> None:
    db = Database(connection)
    for n in range(5):
        rate_limits.hit(db, f"old-{n}", Rate(1, 60), now=T0)
    rate_limits.hit(db, "new", Rate(1, 60), now=T0 + 120)
    assert session.scalar(select(func.count()).select_from(RateLimitCounter)) == 1
