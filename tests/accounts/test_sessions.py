"""Sessions: a new server-side session at each sign-in, ended at sign-out, when the person is
disabled, after a while unused and some hours after sign-in; the cookie is HttpOnly, SameSite=Lax,
and Secure unless the app runs in debug or testing mode or is told otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from service import create_app
from service.checking import SnapshotCache
from service.db import Database, users
from service.db.models import User, UserSession
from service.staff.access import SESSION_KEY

from .conftest import csrf_token, events, post_form, sign_in

pytestmark = pytest.mark.both_databases  # expiry times compared in SQL


def session_id(browser: FlaskClient) -> str | None:
    with browser.session_transaction() as cookie:
        value = cookie.get(SESSION_KEY)
    return value if isinstance(value, str) else None


def cookie_header(browser: FlaskClient) -> str:
    """The Set-Cookie header of a sign-in, as a browser receives it."""
    response = sign_in(browser, "avery")
    assert response.status_code == 303
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    return header


def test_a_session_id_planted_before_sign_in_is_never_used(
    anonymous: FlaskClient, auditor: User, session: Session
) -> None:
    with anonymous.session_transaction() as cookie:
        cookie[SESSION_KEY] = "chosen-by-an-attacker"
    assert anonymous.get("/account").status_code == 302  # it opens nothing
    sign_in(anonymous, "avery")
    sid = session_id(anonymous)
    assert sid is not None and sid != "chosen-by-an-attacker"
    rows = session.scalars(select(UserSession.id).filter_by(user_id=auditor.id)).all()
    assert rows == [sid]


def test_each_sign_in_gets_a_new_session_id_and_ends_the_one_it_replaces(
    anonymous: FlaskClient, auditor: User, session: Session
) -> None:
    sign_in(anonymous, "avery")
    first = session_id(anonymous)
    sign_in(anonymous, "avery")  # signing in again while signed in
    second = session_id(anonymous)
    assert first and second and first != second
    earlier = session.get(UserSession, first)
    assert earlier is not None and earlier.ended_at is not None  # the replaced one is over


def test_sign_out_ends_the_session_so_the_old_cookie_opens_nothing(
    app: Flask, auditor_browser: FlaskClient, session: Session
) -> None:
    sid = session_id(auditor_browser)
    old_cookie = auditor_browser.get_cookie("session")
    assert old_cookie is not None
    response = post_form(auditor_browser, "/logout", {}, page="/account")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?signed_out=1"
    [cleared] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert "Expires=Thu, 01 Jan 1970" in cleared
    assert auditor_browser.get("/account").status_code == 302
    row = session.get(UserSession, sid)
    assert row is not None and row.ended_at is not None
    # Someone who kept a copy of the cookie gets nothing from it.
    replay = app.test_client()
    replay.set_cookie("session", old_cookie.value)
    assert replay.get("/account").status_code == 302
    [event] = events(session, "logout")
    assert (event.actor, event.target) == ("user:avery", "avery")


def test_sign_out_needs_its_csrf_token(auditor_browser: FlaskClient, session: Session) -> None:
    assert auditor_browser.post("/logout").status_code == 400
    assert auditor_browser.get("/account").status_code == 200
    assert events(session, "logout") == []


def test_signing_out_twice_is_harmless(auditor_browser: FlaskClient) -> None:
    post_form(auditor_browser, "/logout", {}, page="/account")
    response = post_form(auditor_browser, "/logout", {})
    assert response.status_code == 303


def test_the_signed_out_page_says_so(anonymous: FlaskClient) -> None:
    assert "You have signed out." in anonymous.get("/login?signed_out=1").get_data(as_text=True)


def test_the_cookie_is_http_only_and_same_site_lax_and_expires_with_the_session(
    anonymous: FlaskClient, auditor: User
) -> None:
    header = cookie_header(anonymous)
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header  # testing mode: plain HTTP
    [expires] = [part.split("=", 1)[1] for part in header.split("; ") if part.startswith("Expires")]
    lifetime = parsedate_to_datetime(expires) - datetime.now(UTC)
    assert timedelta(hours=11, minutes=59) < lifetime <= timedelta(hours=12)  # the absolute one


@pytest.mark.parametrize(
    ("environment", "secure"),
    [
        ({}, True),
        ({"SESSION_COOKIE_SECURE": "0"}, False),
        ({"FLASK_DEBUG": "1"}, False),
        ({"FLASK_DEBUG": "1", "SESSION_COOKIE_SECURE": "1"}, True),
    ],
)
def test_the_cookie_is_secure_by_default_outside_debug_and_testing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: dict[str, str], secure: bool
) -> None:
    for name in ("SESSION_COOKIE_SECURE", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}", "SECRET_KEY": "x"}
    assert create_app(settings).config["SESSION_COOKIE_SECURE"] is secure


def test_the_cookie_is_secure_when_configured(app: Flask, auditor: User) -> None:
    app.config["SESSION_COOKIE_SECURE"] = True
    header = cookie_header(app.test_client())
    assert "Secure" in header and "HttpOnly" in header


def test_the_cookie_is_secure_when_the_environment_says_so(
    connection: Connection,
    database_url: str,
    snapshot_cache: SnapshotCache,
    auditor: User,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "DATABASE": Database(connection),
            "SNAPSHOTS": snapshot_cache,
            "SECRET_KEY": "test",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    # A Secure cookie is only sent back over HTTPS, as a browser would.
    browser = app.test_client()
    token = csrf_token(browser, "https://localhost/login")
    response = browser.post(
        "https://localhost/login",
        data={"name": "avery", "password": "correct horse battery staple", "csrf_token": token},
        headers={"Referer": "https://localhost/login"},
    )
    assert response.status_code == 303
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert "Secure" in header


def test_disabling_a_person_ends_their_sessions_at_once(
    app: Flask, auditor_browser: FlaskClient, auditor: User, session: Session
) -> None:
    assert auditor_browser.get("/account").status_code == 200
    users.disable(session, "avery", actor="test")
    session.commit()
    assert auditor_browser.get("/account").status_code == 302
    assert auditor_browser.get("/api/v1/me").status_code == 401
    ended = session.scalars(select(UserSession.ended_at).filter_by(user_id=auditor.id)).all()
    assert ended and all(e is not None for e in ended)


def test_a_session_also_opens_the_auditor_api(auditor_browser: FlaskClient) -> None:
    response = auditor_browser.get("/api/v1/me")
    assert response.status_code == 200
    assert response.get_json() == {"name": "avery", "role": "auditor"}


def _age(session: Session, sid: str, *, signed_in: timedelta, last_seen: timedelta) -> None:
    """Move a session's times into the past, as if it had been kept (or forged) that long."""
    now = datetime.now(UTC)
    session.execute(
        update(UserSession)
        .where(UserSession.id == sid)
        .values(created_at=now - signed_in, last_seen_at=now - last_seen)
    )
    session.commit()


@pytest.mark.parametrize(
    ("signed_in", "last_seen", "lifetime"),
    [
        (timedelta(days=700), timedelta(seconds=5), "absolute"),  # back-dated 23 months
        (timedelta(hours=12, seconds=1), timedelta(minutes=1), "absolute"),
        (timedelta(hours=1), timedelta(minutes=31), "idle"),
    ],
)
def test_a_session_past_its_lifetime_is_refused_ended_and_recorded(
    auditor_browser: FlaskClient,
    session: Session,
    signed_in: timedelta,
    last_seen: timedelta,
    lifetime: str,
) -> None:
    sid = session_id(auditor_browser)
    assert sid is not None
    _age(session, sid, signed_in=signed_in, last_seen=last_seen)
    response = auditor_browser.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account&timed_out=1"
    assert "Your session has ended" in auditor_browser.get(response.headers["Location"]).text
    row = session.get(UserSession, sid)
    session.refresh(row)
    assert row is not None and row.ended_at is not None
    [event] = events(session, "session.expire")
    assert (event.actor, event.target, event.details) == ("system", "avery", {"lifetime": lifetime})
    # Its cookie, replayed with the times put back, opens nothing: the row has ended.
    _age(session, sid, signed_in=timedelta(0), last_seen=timedelta(0))
    with auditor_browser.session_transaction() as cookie:
        cookie[SESSION_KEY] = sid
    assert auditor_browser.get("/api/v1/me").status_code == 401


def test_a_session_in_use_goes_on_and_is_marked_as_seen(
    auditor_browser: FlaskClient, session: Session
) -> None:
    sid = session_id(auditor_browser)
    assert sid is not None
    _age(session, sid, signed_in=timedelta(hours=11), last_seen=timedelta(minutes=29))
    assert auditor_browser.get("/account").status_code == 200
    row = session.get(UserSession, sid)
    session.refresh(row)
    assert row is not None and row.ended_at is None
    seen = row.last_seen_at if row.last_seen_at.tzinfo else row.last_seen_at.replace(tzinfo=UTC)
    assert datetime.now(UTC) - seen < timedelta(minutes=1)


def test_the_lifetimes_are_configurable(
    app: Flask, auditor_browser: FlaskClient, session: Session
) -> None:
    app.config.update(SESSION_IDLE_MINUTES=5, SESSION_MAX_HOURS=1)
    sid = session_id(auditor_browser)
    assert sid is not None
    _age(session, sid, signed_in=timedelta(minutes=30), last_seen=timedelta(minutes=4))
    assert auditor_browser.get("/account").status_code == 200
    _age(session, sid, signed_in=timedelta(minutes=30), last_seen=timedelta(minutes=6))
    assert auditor_browser.get("/account").status_code == 302
