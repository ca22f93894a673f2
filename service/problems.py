"""RFC 9457 problem documents: the one error vocabulary of every JSON door."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

PROBLEM_TYPE_BASE = "https://interaction-alerts.example/problems/"


def problem(status: int, title: str, detail: str, slug: str, **extra: Any) -> Response:
    """A ``application/problem+json`` response; ``slug`` names the problem type."""
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


def unauthorized(detail: str, **extra: Any) -> Response:
    """401 with the Bearer challenge the JSON doors share."""
    response = problem(401, "Unauthorized", detail, "unauthorized", **extra)
    response.headers["WWW-Authenticate"] = 'Bearer realm="interaction-alerts"'
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
