"""Turn pydantic's errors into a list a caller can act on: which field, what was wrong."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

_TEXT_BRANCHES = ("str", "constrained-str")


def _branch(part: object) -> type | None:
    """Pydantic names the union member it tried in the error location; map it to the input's type."""
    if part in _TEXT_BRANCHES:
        return str
    if isinstance(part, str) and "MedicationItem" in part:
        return dict
    return None


def field_errors(error: ValidationError, body: Any) -> list[dict[str, str]]:
    """One entry per wrong field; for an item that may be text or an object, the branch it tried to be."""
    found: dict[str, str] = {}
    for item in error.errors(include_url=False):
        loc = list(item["loc"])
        index = next((i for i, part in enumerate(loc) if _branch(part)), None)
        if index is not None:
            value = _at(body, loc[:index])
            wanted = _branch(loc[index]) or object
            if not isinstance(value, str | dict):
                found[_path(loc[:index])] = "must be text or an object with text or rxcui"
                continue
            if not isinstance(value, wanted):
                continue
            loc = loc[:index] + loc[index + 1 :]
        message = str(item["msg"]).removeprefix("Value error, ")
        found.setdefault(_path(loc), message)
    return [{"field": field, "message": message} for field, message in found.items()]


def _at(body: Any, loc: list[Any]) -> Any:
    for part in loc:
        try:
            body = body[part]
        except (KeyError, IndexError, TypeError):
            return None
    return body


def _path(loc: list[Any]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"
