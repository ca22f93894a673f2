"""No input makes the staff pages answer 5xx: sign-in, the account page and the admin forms
answer hostile names, passwords, targets and cookies with a page, never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import Connection
from werkzeug.test import TestResponse

from service import create_app
from service.checking import SnapshotCache
from service.db import Database
from service.db.models import User

from .. import factories
from ..hostile import FUZZ, hostile_headers, hostile_text, query_strings

pytestmark = pytest.mark.both_databases  # hostile text reaches SQL


def assert_page(response: TestResponse) -> None:
    """Below 500; a person's answer is a page or a redirect to one."""
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        assert response.mimetype == "text/html"


@pytest.fixture()
def staff_app(
    connection: Connection, database_url: str, snapshot_cache: SnapshotCache, tmp_path: Path
) -> Flask:
    """Without the CSRF check (tested on its own), so every example reaches the forms' reading."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "DATABASE": Database(connection),
            "SNAPSHOTS": snapshot_cache,
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": False,
            # The sign-in limits have their own tests.
            "LOGIN_MAX_FAILURES": 1_000_000,
            "LOGIN_ADDRESS_RATE_LIMIT": "1000000 per minute",
        }
    )


@FUZZ
@given(name=hostile_text, password=hostile_text, target=hostile_text)
@example(name="morgan\x00", password=factories.PASSWORD, target="/admin")
@example(name="m" * 5000, password="p" * 100_00, target="//evil.example")
@example(name="\uff4d\uff4f\uff52\uff47\uff41\uff4e", password=factories.PASSWORD, target="/\x00")
def test_no_sign_in_gives_a_5xx(
    staff_app: Flask, admin: User, name: str, password: str, target: str
) -> None:
    browser = staff_app.test_client()
    response = browser.post("/login", data={"name": name, "password": password, "next": target})
    assert_page(response)


@FUZZ
@given(
    path=st.sampled_from(["/login", "/account", "/admin", "/admin/users", "/admin/clients"]),
    query=query_strings(("next", "signed_out")),
    headers=hostile_headers,
)
@example(path="/account", query="", headers={"Cookie": "session=\x01\x02; sid=%00"})
def test_no_staff_page_request_gives_a_5xx(
    staff_app: Flask, path: str, query: str, headers: dict[str, str]
) -> None:
    assert_page(staff_app.test_client().get(f"{path}?{query}", headers=headers))


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/admin/users",
            "/admin/users/role",
            "/admin/users/disable",
            "/admin/clients",
            "/admin/clients/revoke",
            "/admin/clients/min-severity",
        ]
    ),
    fields=st.dictionaries(
        st.sampled_from(
            ["name", "role", "password", "confirm", "min_severity", "kind", "fhir_server", "x"]
        ),
        hostile_text,
        max_size=5,
    ),
)
@example(path="/admin/users", fields={"name": "a" * 5000, "role": "auditor", "password": "x" * 20})
@example(path="/admin/users/role", fields={"name": "morgan", "role": "²"})
@example(path="/admin/clients", fields={"name": "n\x00", "min_severity": "minor"})
def test_no_admin_form_gives_a_5xx(
    staff_app: Flask, admin: User, path: str, fields: dict[str, str]
) -> None:
    browser = staff_app.test_client()
    signed = browser.post("/login", data={"name": admin.name, "password": factories.PASSWORD})
    assert signed.status_code == 303
    assert_page(browser.post(path, data=fields))


@pytest.mark.parametrize("path", ["/login", "/admin/users", "/admin/clients"])
def test_a_form_that_is_not_utf_8_is_answered_with_a_page(
    staff_app: Flask, admin: User, path: str
) -> None:
    browser = staff_app.test_client()
    browser.post("/login", data={"name": admin.name, "password": factories.PASSWORD})
    raw = b"name=%ED%A0%80%FF&password=%C0%AF&role=auditor&min_severity=minor"
    assert_page(browser.post(path, data=raw, content_type="application/x-www-form-urlencoded"))
