"""Refuse, before any door reads them, characters that no field may hold.

A NUL cannot be stored in PostgreSQL text and is never part of a name, a date or an id, so a URL,
query parameter or form field with one is a 400 (in the door's own shape, naming the field) rather
than a database error deep inside a query. JSON bodies are each door's schema's to judge.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import request
from werkzeug.exceptions import BadRequest

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class NulCharacter(BadRequest):
    """A field held a NUL; ``field`` names it for the door's error document."""

    message = "must not hold a NUL character"

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} {self.message}.")
        self.field = field


def refuse_nul_bytes() -> None:
    if request.routing_exception is not None:
        return  # a 404 or 405 reads nothing, and each door words its own
    for field, value in _fields():
        if NUL in field or NUL in value:
            raise NulCharacter(field.replace(NUL, "\\0"))


def _fields() -> Iterator[tuple[str, str]]:
    yield "path", request.path
    yield from request.args.items(multi=True)
    if request.mimetype in FORM_TYPES:
        yield from request.form.items(multi=True)
