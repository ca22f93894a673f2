"""Who is signed in, and what they may do: the one place doors ask about people's roles.

Auditors read; admins also manage clients and users. Pages use a session cookie that names a
server-side ``user_session`` row (so logout and disabling a user end it at once); auditors' own tools
use a personal token (``flask --app service users token NAME``). Pharmacy API keys never open these.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Response, abort, g, redirect, request, session, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from ..appctx import database
from ..auth import bearer_token
from ..db.models import User, UserSession, UserToken
from ..problems import problem, unauthorized

ROLES = ("auditor", "admin")
SESSION_KEY = "sid"
TOKEN_PREFIX = "iat_"

P = ParamSpec("P")
R = TypeVar("R")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def has_role(user: User, role: str) -> bool:
    """Admins can do everything auditors can."""
    return user.role == "admin" or user.role == role


def current_user() -> User | None:
    """The signed-in user of this request (cookie session or auditor token), or None."""
    if "current_user" not in g:
        g.current_user = _from_session() or _from_token()
    user: User | None = g.current_user
    return user


def _from_session() -> User | None:
    sid = session.get(SESSION_KEY)
    if not isinstance(sid, str):
        return None
    with database().unit_of_work(read_only=True) as db:
        row = db.execute(
            select(User)
            .join(UserSession, UserSession.user_id == User.id)
            .where(
                UserSession.id == sid, UserSession.ended_at.is_(None), User.disabled_at.is_(None)
            )
        ).scalar_one_or_none()
    return row


def _from_token() -> User | None:
    token = bearer_token()
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    with database().unit_of_work(read_only=True) as db:
        return db.execute(
            select(User)
            .join(UserToken, UserToken.user_id == User.id)
            .where(
                UserToken.token_hash == token_hash(token),
                UserToken.revoked_at.is_(None),
                User.disabled_at.is_(None),
            )
        ).scalar_one_or_none()


def require_page_role(role: str) -> Callable[[Callable[P, R]], Callable[P, R | BaseResponse]]:
    """For pages: anonymous → the login page (coming back afterwards); wrong role → 403."""

    def decorate(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
            user = current_user()
            if user is None:
                return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
            if not has_role(user, role):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def require_api_role(role: str) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """For the auditor API: no credentials → 401; a pharmacy key or too small a role → 403."""

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            user = current_user()
            if user is None:
                token = bearer_token()
                if token and not token.startswith(TOKEN_PREFIX):
                    return problem(
                        403,
                        "Forbidden",
                        "Pharmacy API keys cannot read the audit log.",
                        "forbidden",
                    )
                return unauthorized(
                    "Sign in as an auditor or send an auditor token.", realm="audit"
                )
            if not has_role(user, role):
                return problem(403, "Forbidden", f"This needs the {role} role.", "forbidden")
            return view(*args, **kwargs)

        return wrapper

    return decorate
