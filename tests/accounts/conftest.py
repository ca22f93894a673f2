"""People for the accounts tests: an auditor and an admin (password ``factories.PASSWORD``), and
browsers that have signed in as them through the real login form."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from service.db import users
from service.db.models import AuditEvent, User

from .. import factories

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(browser: FlaskClient, page: str = "/login") -> str:
    """The CSRF token of a form on ``page``, as a browser that loaded it would send it back."""
    match = TOKEN.search(browser.get(page).get_data(as_text=True))
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def post_form(
    browser: FlaskClient, path: str, data: dict[str, str], *, page: str = "/login"
) -> TestResponse:
    """POST a form with the CSRF token of ``page``, as the form on that page would."""
    return browser.post(path, data={**data, "csrf_token": csrf_token(browser, page)})


def sign_in(
    browser: FlaskClient, name: str, password: str = factories.PASSWORD, **extra: str
) -> TestResponse:
    return post_form(browser, "/login", {"name": name, "password": password, **extra})


def text(response: TestResponse) -> str:
    """The page's text with tags and runs of whitespace collapsed, for phrase assertions."""
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split()))


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for these tests (``test_users`` checks production's)."""
    monkeypatch.setattr(users, "_hasher", factories.FAST_HASHER)


@pytest.fixture()
def auditor(session: Session) -> User:
    user: User = factories.UserFactory(name="avery", role="auditor")
    session.commit()
    return user


@pytest.fixture()
def admin(session: Session) -> User:
    user: User = factories.UserFactory(name="morgan", role="admin")
    session.commit()
    return user


@pytest.fixture()
def auditor_browser(app: Flask, auditor: User) -> FlaskClient:
    browser = app.test_client()
    assert sign_in(browser, auditor.name).status_code == 303
    return browser


@pytest.fixture()
def admin_browser(app: Flask, admin: User) -> FlaskClient:
    browser = app.test_client()
    assert sign_in(browser, admin.name).status_code == 303
    return browser


def events(session: Session, action: str) -> list[AuditEvent]:
    """The audit events of one kind, oldest first, as they are in the database now."""
    session.expire_all()
    return list(
        session.scalars(select(AuditEvent).filter_by(action=action).order_by(AuditEvent.seq))
    )


def fresh(session: Session, user: User) -> User:
    """``user`` re-read from the database (the app changed it through its own sessions)."""
    session.expire_all()
    found = session.get(User, user.id)
    assert found is not None
    return found
