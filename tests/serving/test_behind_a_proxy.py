"""Behind the reverse proxy the app sees each client's own address and scheme, and only then."""

from __future__ import annotations

import pytest
from flask import Flask, request

from service import create_app

FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


def app_with(hops: int, database_url: str) -> Flask:
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "PROXY_HOPS": hops})
    app.add_url_rule(
        "/whoami", "whoami", lambda: {"addr": request.remote_addr, "scheme": request.scheme}
    )
    return app


@pytest.mark.parametrize(
    ("hops", "seen"),
    [(1, {"addr": "203.0.113.9", "scheme": "https"}), (0, {"addr": "10.0.0.2", "scheme": "http"})],
    ids=["one trusted proxy: the client's", "no proxy configured: the headers are ignored"],
)
def test_forwarded_headers_count_only_with_a_configured_proxy(
    hops: int, seen: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "test")  # else the app writes one under instance/
    client = app_with(hops, "sqlite://").test_client()
    response = client.get("/whoami", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert response.get_json() == seen
