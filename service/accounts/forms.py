"""The sign-in and admin forms as posted: read and check their shape. Rules about people and clients
live in the repositories (``db.users``, ``db.clients``); this only catches what never gets that far."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from werkzeug.datastructures import MultiDict

from ..db import users
from ..domain.severity import Severity

SEVERITIES = tuple(s.value for s in sorted(Severity))  # least severe first, as the choice reads
MAX_CLIENT_NAME_CHARS = 100


@dataclass(frozen=True)
class NewUser:
    name: str = ""
    role: str = "auditor"
    password: str = field(default="", repr=False)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NewPassword:
    name: str = ""
    password: str = field(default="", repr=False)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NewClient:
    name: str = ""
    min_severity: str = "minor"
    errors: dict[str, str] = field(default_factory=dict)


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: ``next`` never sends anyone elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or not target.isprintable():  # browsers read "/\evil" and "/\t/evil" as hosts
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def read_new_user(data: MultiDict[str, str]) -> NewUser:
    name = users.normalise_name(data.get("name", ""))
    role = data.get("role", "")
    password = data.get("password", "")
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter a name."
    if role not in users.ROLES:
        errors["role"] = "Choose a role."
    errors.update(_password_errors(data))
    return NewUser(
        name=name, role=role if role in users.ROLES else "auditor", password=password, errors=errors
    )


def read_new_password(data: MultiDict[str, str]) -> NewPassword:
    return NewPassword(
        name=users.normalise_name(data.get("name", "")),
        password=data.get("password", ""),
        errors=_password_errors(data),
    )


def _password_errors(data: MultiDict[str, str]) -> dict[str, str]:
    password = data.get("password", "")
    try:
        users.check_password(password)
    except users.UserError as error:
        return {"password": str(error).capitalize() + "."}
    if password != data.get("password_again", ""):
        return {"password_again": "The two passwords are not the same."}
    return {}


def read_new_client(data: MultiDict[str, str]) -> NewClient:
    name = " ".join(data.get("name", "").split())
    level = data.get("min_severity", "")
    errors: dict[str, str] = {}
    if not name or not name.isprintable() or len(name) > MAX_CLIENT_NAME_CHARS:
        errors["name"] = f"Enter a name of 1 to {MAX_CLIENT_NAME_CHARS} characters."
    if level not in SEVERITIES:
        errors["min_severity"] = "Choose a minimum severity."
    return NewClient(
        name=name, min_severity=level if level in SEVERITIES else "minor", errors=errors
    )
