"""The login page: a right password opens a session; anything else gets one friendly message.
(How repeated failures are slowed down: ``test_login_limits``.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from service.db.models import User

from .. import factories
from .conftest import events, fresh, sign_in, text

WRONG = "not the password at all"


def test_the_login_page_is_a_labelled_form_with_a_csrf_token(anonymous: FlaskClient) -> None:
    page = anonymous.get("/login").get_data(as_text=True)
    assert '<label for="name">Name</label>' in page
    assert '<label for="password">Password</label>' in page
    assert 'autocomplete="current-password"' in page
    assert 'name="csrf_token"' in page


def test_the_right_password_signs_in_and_is_recorded(
    anonymous: FlaskClient, auditor: User, session: Session
) -> None:
    response = sign_in(anonymous, "avery")
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert "avery (auditor)" in text(anonymous.get("/account"))
    [event] = events(session, "login")
    assert (event.actor, event.target, event.outcome) == ("user:avery", "avery", "success")


def test_the_name_is_not_case_sensitive(anonymous: FlaskClient, auditor: User) -> None:
    assert sign_in(anonymous, "  Avery ").status_code == 303


def test_a_wrong_password_gets_a_friendly_message_and_is_recorded(
    anonymous: FlaskClient, auditor: User, session: Session
) -> None:
    response = sign_in(anonymous, "avery", WRONG)
    assert response.status_code == 200
    page = text(response)
    assert "We could not sign you in" in page
    assert "The name or the password is not right" in page
    [event] = events(session, "login")
    assert (event.actor, event.target, event.outcome) == ("anonymous", "avery", "failure")
    assert event.details["reason"] == "wrong_password"
    assert anonymous.get("/account").status_code == 302  # still not signed in


def test_an_unknown_name_gets_exactly_the_page_a_wrong_password_gets(
    app: Flask, auditor: User, session: Session
) -> None:
    wrong_password = text(sign_in(app.test_client(), "avery", WRONG))
    unknown_name = text(sign_in(app.test_client(), "nobody", WRONG))
    assert unknown_name == wrong_password
    [_, event] = events(session, "login")
    assert (event.target, event.outcome, event.details["reason"]) == (
        "nobody",
        "failure",
        "unknown_user",
    )


def test_a_disabled_person_cannot_sign_in_and_is_not_told_why(app: Flask, session: Session) -> None:
    factories.UserFactory(name="dale", disabled_at=datetime.now(UTC))
    factories.UserFactory(name="eve")
    session.commit()
    disabled = sign_in(app.test_client(), "dale")
    assert disabled.status_code == 200
    assert text(disabled) == text(sign_in(app.test_client(), "eve", WRONG))
    assert events(session, "login")[0].details["reason"] == "disabled"


def test_a_hash_made_with_weaker_parameters_is_renewed_at_sign_in(
    anonymous: FlaskClient, session: Session
) -> None:
    current = factories.FAST_HASHER  # what the service hashes with in these tests
    weak = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(factories.PASSWORD)
    user = factories.UserFactory(name="old", password_hash=weak)
    session.commit()
    assert sign_in(anonymous, "old").status_code == 303
    renewed = fresh(session, user).password_hash
    assert renewed != weak
    assert not current.check_needs_rehash(renewed)
    assert current.verify(renewed, factories.PASSWORD)


@pytest.mark.parametrize(
    ("next_path", "landing"),
    [
        ("/audit/checks?channel=web", "/audit/checks?channel=web"),
        ("/admin/users", "/admin/users"),
        ("https://evil.example/", "/account"),
        ("//evil.example/", "/account"),
        ("/\\evil.example/", "/account"),
        ("/\t/evil.example/", "/account"),
        ("javascript:alert(1)", "/account"),
        ("", "/account"),
    ],
)
def test_after_sign_in_next_leads_only_to_a_page_of_this_site(
    anonymous: FlaskClient, auditor: User, next_path: str, landing: str
) -> None:
    response = sign_in(anonymous, "avery", next=next_path)
    assert response.headers["Location"] == landing


def test_the_login_page_keeps_only_a_local_next(anonymous: FlaskClient) -> None:
    assert 'value="/admin/users"' in anonymous.get("/login?next=/admin/users").get_data(
        as_text=True
    )
    assert "evil" not in anonymous.get("/login?next=//evil.example/").get_data(as_text=True)


def test_a_login_post_without_its_csrf_token_signs_nobody_in(
    anonymous: FlaskClient, auditor: User, session: Session
) -> None:
    response = anonymous.post("/login", data={"name": "avery", "password": factories.PASSWORD})
    assert response.status_code == 400
    assert "Please sign in again" in text(response)
    assert anonymous.get("/account").status_code == 302
    assert events(session, "login") == []
