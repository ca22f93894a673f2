"""Who is signed in, and what they may do: the one place doors ask about people's roles.

Auditors read; admins also manage clients and users. Pages use a session cookie that names a
server-side ``user_session`` row (so logout and disabling a user end it at once); auditors' own tools
use a personal token (``flask --app service users token NAME``). Pharmacy API keys never open these.

A session ends ``SESSION_IDLE_MINUTES`` after its last use and ``SESSION_MAX_HOURS`` after sign-in,
judged by the server's own times, so a cookie kept (or a row back-dated) opens nothing after that.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Response, abort, current_app, g, redirect, request, session, url_for
from sqlalchemy import select, update
from werkzeug.wrappers import Response as BaseResponse

from ..appctx import database
from ..auth import bearer_token
from ..db.events import record_event
from ..db.models import User, UserSession, UserToken
from ..db.users import TOKEN_PREFIX, token_hash
from ..problems import problem, unauthorized

SESSION_KEY = "sid"
# How stale ``last_seen_at`` may get before a request writes it: one write a minute per session,
# not one per page, at the cost of idle lifetimes up to a minute longer.
SEEN_RESOLUTION = timedelta(minutes=1)

P = ParamSpec("P")
R = TypeVar("R")


def has_role(user: User, role: str) -> bool:
    """Admins can do everything auditors can."""
    return user.role == "admin" or user.role == role


def current_user() -> User | None:
    """The signed-in user of this request (cookie session or auditor token), or None."""
    if "current_user" not in g:
        g.current_user = _from_session() or _from_token()
    user: User | None = g.current_user
    return user


def session_timed_out() -> bool:
    """Whether this request's session ended for lack of use or age (the login page says so)."""
    return bool(g.get("session_timed_out"))


def _from_session() -> User | None:
    sid = session.get(SESSION_KEY)
    if not isinstance(sid, str):
        return None
    with database().unit_of_work(read_only=True) as db:
        row = db.execute(
            select(User, UserSession.created_at, UserSession.last_seen_at)
            .join(UserSession, UserSession.user_id == User.id)
            .where(
                UserSession.id == sid, UserSession.ended_at.is_(None), User.disabled_at.is_(None)
            )
        ).one_or_none()
    if row is None:
        return None
    user, created, seen = row
    now = datetime.now(UTC)
    ended_by = _lifetime_over(_aware(created), _aware(seen), now)
    if ended_by:
        _end(sid, user.name, ended_by, now)
        session.pop(SESSION_KEY, None)
        g.session_timed_out = True
        return None
    if now - _aware(seen) >= SEEN_RESOLUTION:
        _touch(sid, now)
    return user


def _lifetime_over(created: datetime, seen: datetime, now: datetime) -> str | None:
    """Which lifetime has run out ("absolute" or "idle"), or None while the session may go on."""
    if now - created >= timedelta(hours=current_app.config["SESSION_MAX_HOURS"]):
        return "absolute"
    if now - seen >= timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"]):
        return "idle"
    return None


def _end(sid: str, user_name: str, lifetime: str, now: datetime) -> None:
    """End the row (a replayed cookie stays dead) and record why, once: later requests miss it."""
    with database().unit_of_work() as db:
        ended = db.execute(
            update(UserSession)
            .where(UserSession.id == sid, UserSession.ended_at.is_(None))
            .values(ended_at=now)
        )
        if ended.rowcount:  # type: ignore[attr-defined]
            record_event(
                db,
                actor="system",
                action="session.expire",
                target=user_name,
                details={"lifetime": lifetime},
            )
        db.commit()


def _touch(sid: str, now: datetime) -> None:
    with database().unit_of_work() as db:
        db.execute(update(UserSession).where(UserSession.id == sid).values(last_seen_at=now))
        db.commit()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
                target = request.full_path.rstrip("?")
                timed_out = 1 if session_timed_out() else None  # None: left out of the URL
                return redirect(url_for("accounts.login", next=target, timed_out=timed_out))
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
