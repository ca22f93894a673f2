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
