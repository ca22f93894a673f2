"""Refuse, before any door reads them, URLs with characters that no parameter may hold.

A NUL cannot be stored in PostgreSQL text and is never part of a name, a date or an id, so a path or
query parameter with one is refused (in the door's own shape, naming the parameter) rather than
failing as a database error deep inside a query. Bodies (JSON, forms) are each door's to read: the
patient form, for one, tidies control characters away rather than refusing them.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import request
from werkzeug.exceptions import BadRequest

NUL = "\x00"


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
