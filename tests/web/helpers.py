"""Helpers for the web door's Flask-client tests: a form post carries the CSRF token of a GET."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient) -> str:
    """The token from the form page, as a browser would read it (the session cookie comes along)."""
    match = TOKEN.search(client.get("/").get_data(as_text=True))
    assert match, "the form page has no CSRF token"
    return match.group(1)


def post_form(
    client: FlaskClient,
    medicines: Sequence[str],
    *,
    alcohol: bool = False,
    age: str = "",
    token: str | None = None,
    fields: Mapping[str, str] | None = None,
    **extra: Any,
) -> TestResponse:
    """Post the form as the page would; ``token=""`` posts without one. ``fields`` holds those
    whose names are no Python names (``correct-0``)."""
    data: dict[str, Any] = {"medicine": list(medicines), "age": age, **(fields or {}), **extra}
    if alcohol:
        data["alcohol"] = "yes"
    data["csrf_token"] = csrf_token(client) if token is None else token
    return client.post("/", data=data)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)
