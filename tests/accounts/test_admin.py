"""The admin pages: people and pharmacy clients. Admins only (auditors get 403, anonymous visitors
the login page); every form posts with CSRF; every change is an audit event with the admin as actor."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db import clients, users
from service.db.models import ApiClient, User

from .conftest import events, fresh, post_form, sign_in, text

PAGES = ["/admin", "/admin/users", "/admin/clients"]
FORMS = [
    (
        "/admin/users",
        {"name": "new", "role": "auditor", "password": "x" * 12, "password_again": "x" * 12},
    ),
    ("/admin/users/role", {"name": "avery", "role": "admin"}),
    ("/admin/users/disable", {"name": "avery", "confirm": "yes"}),
    ("/admin/users/enable", {"name": "avery"}),
    ("/admin/users/password", {"name": "avery", "password": "x" * 12, "password_again": "x" * 12}),
    ("/admin/clients", {"name": "new-pharmacy", "min_severity": "minor"}),
    ("/admin/clients/revoke", {"name": "test-pharmacy", "confirm": "yes"}),
    ("/admin/clients/rotate-key", {"name": "test-pharmacy", "confirm": "yes"}),
    ("/admin/clients/min-severity", {"name": "test-pharmacy", "min_severity": "major"}),
]


@pytest.fixture()
def pharmacy(session: Session, api_key: str) -> ApiClient:
    return _client_holding(session, api_key) or pytest.fail("no client")


def _client_holding(session: Session, key: str) -> ApiClient | None:
    return session.scalar(select(ApiClient).filter_by(key_hash=clients.hash_key(key)))


# --- Who may see and use them ---------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in_and_brought_back(
    anonymous: FlaskClient, path: str
) -> None:
    response = anonymous.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={path}"


@pytest.mark.parametrize("path", PAGES)
def test_auditors_are_refused_with_a_friendly_page(auditor_browser: FlaskClient, path: str) -> None:
    response = auditor_browser.get(path)
    assert response.status_code == 403
    assert "This page is for administrators" in text(response)
    assert "avery, with the auditor role" in text(response)


@pytest.mark.parametrize("path", PAGES)
def test_admins_see_them(admin_browser: FlaskClient, path: str) -> None:
    response = admin_browser.get(path, follow_redirects=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("path", "data"), FORMS)
def test_auditors_cannot_change_anything(
    auditor_browser: FlaskClient,
    session: Session,
    pharmacy: ApiClient,
    path: str,
    data: dict[str, str],
) -> None:
    response = post_form(auditor_browser, path, data, page="/account")
    assert response.status_code == 403
    assert [e.action for e in events(session, "user.create")] == []
    assert (
        fresh(session, session.scalars(select(User).filter_by(name="avery")).one()).role
        == "auditor"
    )
    session.refresh(pharmacy)
    assert (pharmacy.revoked_at, pharmacy.min_severity) == (None, "minor")


@pytest.mark.parametrize(("path", "data"), FORMS)
def test_anonymous_posts_change_nothing(
    anonymous: FlaskClient, session: Session, path: str, data: dict[str, str]
) -> None:
    response = post_form(anonymous, path, data)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(("path", "data"), FORMS)
def test_admin_forms_are_refused_without_their_csrf_token(
    admin_browser: FlaskClient,
    session: Session,
    pharmacy: ApiClient,
    path: str,
    data: dict[str, str],
) -> None:
    response = admin_browser.post(path, data=data)
    assert response.status_code == 400
    assert "Nothing was changed" in text(response)
    session.refresh(pharmacy)
    assert (pharmacy.revoked_at, pharmacy.min_severity) == (None, "minor")


@pytest.mark.parametrize("path", ["/admin/users", "/admin/clients"])
def test_every_form_on_the_admin_pages_carries_a_csrf_token(
    admin_browser: FlaskClient, auditor: User, pharmacy: ApiClient, path: str
) -> None:
    page = admin_browser.get(path).get_data(as_text=True)
    forms = re.findall(r"<form\b.*?</form>", page, flags=re.S)
    assert len(forms) >= 3
    assert all('method="post"' in f and 'name="csrf_token"' in f for f in forms)


# --- People ---------------------------------------------------------------------------------------


def test_an_admin_adds_a_person_who_can_then_sign_in(
    app: Flask, admin_browser: FlaskClient, session: Session
) -> None:
    password = "a password for quinn"
    response = post_form(
        admin_browser,
        "/admin/users",
        {"name": "Quinn", "role": "auditor", "password": password, "password_again": password},
        page="/admin/users",
    )
    assert response.status_code == 303
    page = text(admin_browser.get("/admin/users"))
    assert "Created auditor quinn." in page
    user = session.scalars(select(User).filter_by(name="quinn")).one()
    assert user.password_hash.startswith("$argon2id$")
    [event] = events(session, "user.create")
    assert (event.actor, event.target, event.details) == (
        "user:morgan",
        "quinn",
        {"role": "auditor"},
    )
    assert sign_in(app.test_client(), "quinn", password).status_code == 303


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "role": "auditor"}, "Enter a name."),
        (
            {"name": "x", "role": "auditor", "password": "short", "password_again": "short"},
            "at least 12 characters",
        ),
        (
            {"name": "x", "role": "auditor", "password": "x" * 12, "password_again": "y" * 12},
            "The two passwords are not the same.",
        ),
        (
            {"name": "x", "role": "root", "password": "x" * 12, "password_again": "x" * 12},
            "Choose a role.",
        ),
        (
            {"name": "morgan", "role": "auditor", "password": "x" * 12, "password_again": "x" * 12},
            "already exists",
        ),
        (
            {
                "name": "no spaces",
                "role": "auditor",
                "password": "x" * 12,
                "password_again": "x" * 12,
            },
            "lower-case letters",
        ),
    ],
)
def test_a_person_form_with_a_problem_says_what_and_adds_nobody(
    admin_browser: FlaskClient, session: Session, data: dict[str, str], message: str
) -> None:
    response = post_form(admin_browser, "/admin/users", data, page="/admin/users")
    assert response.status_code == 422
    assert "There is a problem" in text(response) and message in text(response)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert "x" * 12 not in response.get_data(as_text=True)  # a password is never sent back
    assert events(session, "user.create") == []


def test_an_admin_changes_a_role(
    admin_browser: FlaskClient, auditor: User, session: Session
) -> None:
    response = post_form(
        admin_browser, "/admin/users/role", {"name": "avery", "role": "admin"}, page="/admin/users"
    )
    assert response.status_code == 303
    assert "avery now has the admin role." in text(admin_browser.get("/admin/users"))
    assert fresh(session, auditor).role == "admin"
    [event] = events(session, "user.set_role")
    assert (event.actor, event.target, event.details) == (
        "user:morgan",
        "avery",
        {"old": "auditor", "new": "admin"},
    )


def test_an_admin_cannot_change_their_own_role(
    admin_browser: FlaskClient, admin: User, session: Session
) -> None:
    post_form(
        admin_browser,
        "/admin/users/role",
        {"name": "morgan", "role": "auditor"},
        page="/admin/users",
    )
    assert "You cannot change your own role" in text(admin_browser.get("/admin/users"))
    assert fresh(session, admin).role == "admin"


def test_disabling_asks_first_then_signs_the_person_out(
    app: Flask,
    admin_browser: FlaskClient,
    auditor_browser: FlaskClient,
    auditor: User,
    session: Session,
) -> None:
    ask = post_form(admin_browser, "/admin/users/disable", {"name": "avery"}, page="/admin/users")
    assert ask.status_code == 200 and "Disable avery?" in text(ask)
    assert fresh(session, auditor).disabled_at is None
    done = post_form(
        admin_browser,
        "/admin/users/disable",
        {"name": "avery", "confirm": "yes"},
        page="/admin/users",
    )
    assert done.status_code == 303
    assert fresh(session, auditor).disabled_at is not None
    assert auditor_browser.get("/account").status_code == 302
    [event] = events(session, "user.disable")
    assert (event.actor, event.target) == ("user:morgan", "avery")


def test_an_admin_cannot_disable_themselves(
    admin_browser: FlaskClient, admin: User, session: Session
) -> None:
    post_form(
        admin_browser,
        "/admin/users/disable",
        {"name": "morgan", "confirm": "yes"},
        page="/admin/users",
    )
    assert "You cannot disable yourself" in text(admin_browser.get("/admin/users"))
    assert fresh(session, admin).disabled_at is None


def test_a_change_to_an_unknown_person_is_reported(admin_browser: FlaskClient) -> None:
    post_form(
        admin_browser, "/admin/users/role", {"name": "ghost", "role": "admin"}, page="/admin/users"
    )
    assert "No user named 'ghost'." in text(admin_browser.get("/admin/users"))


def test_an_admin_enables_a_disabled_person_who_can_then_sign_in(
    app: Flask, admin_browser: FlaskClient, auditor: User, session: Session
) -> None:
    users.disable(session, "avery", actor="test")
    session.commit()
    page = admin_browser.get("/admin/users").get_data(as_text=True)
    assert 'action="/admin/users/enable"' in page
    response = post_form(
        admin_browser, "/admin/users/enable", {"name": "avery"}, page="/admin/users"
    )
    assert response.status_code == 303
    assert "Enabled avery" in text(admin_browser.get("/admin/users"))
    assert fresh(session, auditor).disabled_at is None
    [event] = events(session, "user.enable")
    assert (event.actor, event.target) == ("user:morgan", "avery")
    assert sign_in(app.test_client(), "avery").status_code == 303


def test_an_admin_sets_a_new_password_and_the_person_is_signed_out(
    app: Flask,
    admin_browser: FlaskClient,
    auditor_browser: FlaskClient,
    auditor: User,
    session: Session,
) -> None:
    form = admin_browser.get("/admin/users/password?name=avery")
    assert form.status_code == 200 and "New password for avery" in text(form)
    new = "a new password for avery"
    response = post_form(
        admin_browser,
        "/admin/users/password",
        {"name": "avery", "password": new, "password_again": new},
        page="/admin/users/password?name=avery",
    )
    assert response.status_code == 303
    assert "Set a new password for avery" in text(admin_browser.get("/admin/users"))
    assert auditor_browser.get("/account").status_code == 302, "signed out everywhere"
    assert sign_in(app.test_client(), "avery").status_code == 200, "the old one is wrong now"
    assert sign_in(app.test_client(), "avery", new).status_code == 303
    [event] = events(session, "user.reset_password")
    assert (event.actor, event.target, event.details) == (
        "user:morgan",
        "avery",
        {"sessions_ended": 1},
    )
    assert admin_browser.get("/account").status_code == 200, "the admin stays signed in"


def test_a_new_password_with_a_problem_says_what_and_changes_nothing(
    admin_browser: FlaskClient, auditor: User, session: Session
) -> None:
    response = post_form(
        admin_browser,
        "/admin/users/password",
        {"name": "avery", "password": "short", "password_again": "short"},
        page="/admin/users/password?name=avery",
    )
    assert response.status_code == 422
    assert "There is a problem" in text(response) and "at least 12 characters" in text(response)
    assert events(session, "user.reset_password") == []


def test_the_password_page_of_an_unknown_person_says_so(admin_browser: FlaskClient) -> None:
    response = admin_browser.get("/admin/users/password?name=ghost")
    assert response.status_code == 303
    assert "No user named 'ghost'." in text(admin_browser.get("/admin/users"))


# --- Pharmacy clients -----------------------------------------------------------------------------


def test_an_admin_creates_a_client_and_sees_its_key_once(
    admin_browser: FlaskClient, session: Session
) -> None:
    response = post_form(
        admin_browser,
        "/admin/clients",
        {"name": "Main St Pharmacy", "min_severity": "major"},
        page="/admin/clients",
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    match = re.search(r'id="api-key">(ia_[^<]+)<', response.get_data(as_text=True))
    assert match
    client = _client_holding(session, match.group(1))
    assert client is not None and (client.name, client.min_severity) == (
        "Main St Pharmacy",
        "major",
    )
    assert match.group(1) not in admin_browser.get("/admin/clients").get_data(as_text=True)
    [event] = events(session, "client.create")
    assert (event.actor, event.target) == ("user:morgan", "Main St Pharmacy")


def test_a_client_name_already_taken_is_reported(
    admin_browser: FlaskClient, pharmacy: ApiClient, session: Session
) -> None:
    response = post_form(
        admin_browser,
        "/admin/clients",
        {"name": "test-pharmacy", "min_severity": "minor"},
        page="/admin/clients",
    )
    assert response.status_code == 422 and "already exists" in text(response)


def test_revoking_asks_first_and_then_the_key_stops_working(
    admin_browser: FlaskClient, pharmacy: ApiClient, api_key: str, session: Session
) -> None:
    ask = post_form(
        admin_browser, "/admin/clients/revoke", {"name": "test-pharmacy"}, page="/admin/clients"
    )
    assert ask.status_code == 200 and "Revoke test-pharmacy?" in text(ask)
    assert clients.active_by_key_hash(session.connection(), clients.hash_key(api_key)) is not None
    post_form(
        admin_browser,
        "/admin/clients/revoke",
        {"name": "test-pharmacy", "confirm": "yes"},
        page="/admin/clients",
    )
    session.expire_all()
    assert clients.active_by_key_hash(session.connection(), clients.hash_key(api_key)) is None
    [event] = events(session, "client.revoke")
    assert (event.actor, event.target) == ("user:morgan", "test-pharmacy")


def test_an_admin_sets_a_clients_minimum_severity_and_it_is_audited(
    admin_browser: FlaskClient, pharmacy: ApiClient, session: Session
) -> None:
    response = post_form(
        admin_browser,
        "/admin/clients/min-severity",
        {"name": "test-pharmacy", "min_severity": "major"},
        page="/admin/clients",
    )
    assert response.status_code == 303
    assert "test-pharmacy is now shown alerts of severity major and above." in text(
        admin_browser.get("/admin/clients")
    )
    session.refresh(pharmacy)
    assert pharmacy.min_severity == "major"
    [event] = events(session, "client.min_severity")
    assert (event.actor, event.details) == ("user:morgan", {"old": "minor", "new": "major"})


def test_an_unknown_severity_changes_nothing(
    admin_browser: FlaskClient, pharmacy: ApiClient, session: Session
) -> None:
    post_form(
        admin_browser,
        "/admin/clients/min-severity",
        {"name": "test-pharmacy", "min_severity": "severe"},
        page="/admin/clients",
    )
    assert "Choose a minimum severity." in text(admin_browser.get("/admin/clients"))
    session.refresh(pharmacy)
    assert pharmacy.min_severity == "minor"
    assert events(session, "client.min_severity") == []


def test_a_new_key_asks_first_then_is_shown_once_and_the_old_key_stops_working(
    app: Flask, admin_browser: FlaskClient, pharmacy: ApiClient, api_key: str, session: Session
) -> None:
    ask = post_form(
        admin_browser, "/admin/clients/rotate-key", {"name": "test-pharmacy"}, page="/admin/clients"
    )
    assert ask.status_code == 200 and "A new key for test-pharmacy?" in text(ask)
    assert _client_holding(session, api_key) is not None
    response = post_form(
        admin_browser,
        "/admin/clients/rotate-key",
        {"name": "test-pharmacy", "confirm": "yes"},
        page="/admin/clients",
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "New key for test-pharmacy" in text(response)
    match = re.search(r'id="api-key">(ia_[^<]+)<', response.get_data(as_text=True))
    assert match and match.group(1) != api_key
    session.expire_all()
    assert _client_holding(session, api_key) is None
    client = _client_holding(session, match.group(1))
    assert client is not None and client.name == "test-pharmacy"
    [event] = events(session, "client.rotate_key")
    assert (event.actor, event.target) == ("user:morgan", "test-pharmacy")
    new_key = {"Authorization": f"Bearer {match.group(1)}"}
    old_key = {"Authorization": f"Bearer {api_key}"}
    body = {"medications": ["clonazepam"]}
    assert app.test_client().post("/api/v1/checks", json=body, headers=new_key).status_code == 200
    assert app.test_client().post("/api/v1/checks", json=body, headers=old_key).status_code == 401


def test_a_revoked_client_gets_no_new_key(
    admin_browser: FlaskClient, pharmacy: ApiClient, session: Session
) -> None:
    clients.revoke(session, "test-pharmacy", actor="test")
    session.commit()
    post_form(
        admin_browser,
        "/admin/clients/rotate-key",
        {"name": "test-pharmacy", "confirm": "yes"},
        page="/admin/clients",
    )
    assert "is revoked; create a new client instead" in text(admin_browser.get("/admin/clients"))
    assert events(session, "client.rotate_key") == []
