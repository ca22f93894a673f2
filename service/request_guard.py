"""Refuse, before any door reads them, characters that no field may hold.

A NUL cannot be stored in PostgreSQL text and is never part of a name, a date or an id, so a URL,
query parameter or form field with one is a 400 (in the door's own shape) rather than a database
error deep inside a query. JSON bodies are each door's schema's to judge.
"""

from __future__ import annotations

from flask import abort, request

NUL = "\x00"


def refuse_nul_bytes() -> None:
    fields = [request.path]
    fields += [part for pair in request.args.items(multi=True) for part in pair]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        fields += [part for pair in request.form.items(multi=True) for part in pair]
    if any(NUL in field for field in fields):
        abort(400, "The request holds a NUL character, which no field accepts.")
