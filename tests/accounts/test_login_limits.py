"""The login's rate limits: five failures at one name from one address pause that name *from that
address*; every address has a limit on attempts at any name. Nobody can lock out someone else."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, update
from sqlalchemy.orm import Session

from service import create_app
from service.checking import SnapshotCache
from service.db import Database
from service.db.models import RateLimitCounter, User

from .conftest import events, sign_in, text

pytestmark = pytest.mark.both_databases  # the rate-limit store

WRONG = "not the password at all"
ATTACKER, OWNER = "198.51.100.66", "203.0.113.5"


def browser_at(app: Flask, address: str) -> FlaskClient:
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


def test_five_failures_pause_the_name_from_that_address_with_a_429_and_retry_after(
    app: Flask, auditor: User, session: Session
) -> None:
    browser = browser_at(app, ATTACKER)
    for _ in range(4):
        assert sign_in(browser, "avery", WRONG).status_code == 200
    fifth = sign_in(browser, "avery", WRONG)
    assert fifth.status_code == 429
    assert 14 * 60 < int(fifth.headers["Retry-After"]) <= 15 * 60
    page = text(fifth)
    assert "Sign-in is paused for this name" in page
    assert "After 5 failed attempts" in page and "wait 15 minutes" in page
    assert "Content-Security-Policy" in fifth.headers
    # Even the right password is refused from here until the pause ends, before any hashing.
    logins_before = len(events(session, "login"))
    assert sign_in(browser, "avery").status_code == 429
    assert len(events(session, "login")) == logins_before
    assert browser.get("/account").status_code == 302
    [pause] = events(session, "login.paused")
    assert (pause.actor, pause.target, pause.outcome) == ("system", "avery", "failure")
    assert pause.details["limit"] == "name" and pause.details["address"] == ATTACKER


def test_the_real_user_from_their_own_address_signs_in_during_an_attack(
    app: Flask, auditor: User
) -> None:
    attacker = browser_at(app, ATTACKER)
    for _ in range(12):
        sign_in(attacker, "avery", WRONG)
    assert sign_in(attacker, "avery").status_code == 429
    owner = browser_at(app, OWNER)
    assert sign_in(owner, "avery").status_code == 303
    assert "avery (auditor)" in text(owner.get("/account"))


def test_an_unknown_name_is_paused_the_same_way_so_the_pages_tell_nothing(
    app: Flask, auditor: User
) -> None:
    known, unknown = browser_at(app, ATTACKER), browser_at(app, ATTACKER)
    pages = []
    for _ in range(6):
        answers = sign_in(known, "avery", WRONG), sign_in(unknown, "nobody", WRONG)
        pages.append(tuple((a.status_code, text(a).replace("nobody", "avery")) for a in answers))
    assert all(a == b for a, b in pages)
    assert [status for (status, _), _ in pages] == [200, 200, 200, 200, 429, 429]


def test_the_pause_ends_with_its_window(app: Flask, auditor: User, session: Session) -> None:
    browser = browser_at(app, ATTACKER)
    for _ in range(5):
        sign_in(browser, "avery", WRONG)
    session.execute(update(RateLimitCounter).values(resets_at=time.time() - 1))
    session.commit()
    assert sign_in(browser, "avery").status_code == 303


def test_a_success_clears_the_count_of_failures(app: Flask, auditor: User) -> None:
    browser = browser_at(app, ATTACKER)
    for _ in range(4):
        sign_in(browser, "avery", WRONG)
    assert sign_in(browser, "avery").status_code == 303
    for _ in range(4):
        assert sign_in(browser_at(app, ATTACKER), "avery", WRONG).status_code == 200


def test_the_number_of_failures_and_the_pause_are_configurable(app: Flask, auditor: User) -> None:
    app.config.update(LOGIN_MAX_FAILURES=2, LOGIN_LOCKOUT_MINUTES=60)
    browser = browser_at(app, ATTACKER)
    assert sign_in(browser, "avery", WRONG).status_code == 200
    paused = sign_in(browser, "avery", WRONG)
    assert paused.status_code == 429
    assert int(paused.headers["Retry-After"]) > 59 * 60
    assert "After 2 failed attempts" in text(paused) and "wait 60 minutes" in text(paused)


def test_one_address_trying_many_names_is_paused_before_any_password_is_checked(
    app: Flask, auditor: User, session: Session
) -> None:
    app.config["LOGIN_ADDRESS_RATE_LIMIT"] = "3 per 10 minutes"
    sprayer = browser_at(app, ATTACKER)
    for name in ("ann", "bob", "cy"):
        assert sign_in(sprayer, name, WRONG).status_code == 200
    refused = sign_in(sprayer, "avery")
    assert refused.status_code == 429
    assert 9 * 60 < int(refused.headers["Retry-After"]) <= 10 * 60
    assert "Too many sign-in attempts" in text(refused)
    assert [e.target for e in events(session, "login")] == ["ann", "bob", "cy"]
    [pause] = events(session, "login.paused")
    assert pause.details["limit"] == "address"
    assert sign_in(sprayer, "avery").status_code == 429
    assert len(events(session, "login.paused")) == 1, "one event per pause, not per attempt"
    assert sign_in(browser_at(app, OWNER), "avery").status_code == 303


def test_workers_share_the_counts(
    connection: Connection,
    database_url: str,
    snapshot_cache: SnapshotCache,
    auditor: User,
    tmp_path: Path,
) -> None:
    """Two apps on one database, as two gunicorn workers: failures in either count together."""
    settings = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "DATABASE": Database(connection),
        "SNAPSHOTS": snapshot_cache,
        "SECRET_KEY": "test",
    }
    workers = [create_app(settings), create_app(settings)]
    statuses = [
        sign_in(browser_at(workers[n % 2], ATTACKER), "avery", WRONG).status_code for n in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]
    assert sign_in(browser_at(workers[1], ATTACKER), "avery").status_code == 429
