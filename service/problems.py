"""RFC 9457 problem documents: the one error vocabulary of every JSON door."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from .appctx import note_problem

PROBLEM_TYPE_BASE = "https://interaction-alerts.example/problems/"


def problem(status: int, title: str, detail: str, slug: str, **extra: Any) -> Response:
    """A ``application/problem+json`` response; ``slug`` names the problem type (and goes to the log)."""
    note_problem(slug)
    body = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def bearer_challenge(realm: str) -> str:
    """The ``WWW-Authenticate`` value of a 401 (RFC 6750 §3).

    ``error="invalid_token"`` only when credentials were sent: a request without any gets the bare
    challenge, as §3.1 asks.
    """
    sent = bool(request.headers.get("Authorization") or request.args.get("apiKey"))
    return f'Bearer realm="{realm}"' + (', error="invalid_token"' if sent else "")


def unauthorized(detail: str, *, realm: str = "interaction-alerts", **extra: Any) -> Response:
    """401 with the Bearer challenge the JSON doors share."""
    response = problem(401, "Unauthorized", detail, "unauthorized", **extra)
    response.headers["WWW-Authenticate"] = bearer_challenge(realm)
    return response


def unavailable(reason: object, **extra: Any) -> Response:
    """503 when the check could not run: never to be read as "no interactions"."""
    return problem(
        503,
        "Service unavailable",
        f"No alerts were produced because {reason}. Do not treat this as 'no interactions'.",
        "service-unavailable",
        **extra,
    )
