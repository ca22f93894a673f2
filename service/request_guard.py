"""Refuse, before any door reads them, URLs with characters that no parameter may hold.

A NUL cannot be stored in PostgreSQL text and is never part of a name, a date or an id, so a path or
query parameter with one is refused (in the door's own shape, naming the parameter) rather than
failing as a database error deep inside a query. Bodies (JSON, forms) are each door's to read: the
patient form, for one, tidies control characters away rather than refusing them.

And after a door has answered, the rest of a body it did not need is read (``drain_unread_body``).
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import request
from werkzeug.exceptions import BadRequest, ClientDisconnected

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


def drain_unread_body(_: BaseException | None = None) -> None:
    """Read what is left of a body the answer did not need, up to the request's size limit.

    Why: a door may answer before reading the body (401 for an unknown key, 404 for an unknown CDS
    service). A worker that closes its connection with body bytes unread resets it, and a proxy
    still sending the body then answers 502 in place of the door's answer. Runs as the request
    ends, before the server writes the answer; a body over the limit is never read.
    """
    length, limit = request.content_length, request.max_content_length
    if not length or (limit is not None and length > limit):
        return
    try:
        while request.stream.read(64 * 1024):
            pass
    except (OSError, ClientDisconnected):
        return  # the client is gone: nothing to protect


def _fields() -> Iterator[tuple[str, str]]:
    yield "path", request.path
    yield from request.args.items(multi=True)
