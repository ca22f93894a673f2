"""People (auditors and admins): argon2 passwords, sessions and personal API tokens.

Every change and every sign-in attempt, good or bad, is an audit event. Only hashes of passwords and
tokens are stored; session ids live in ``user_session`` so logout and disabling end them at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, Update, select, update
from sqlalchemy.orm import Session

from . import Database
from .events import record_event
from .models import User, UserSession, UserToken

ROLES = ("auditor", "admin")  # as app_user's check constraint
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024  # long passphrases are welcome; megabytes of "password" are not
MAX_NAME_CHARS = 100
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]*")
TOKEN_PREFIX = "iat_"  # personal tokens say what they are, and never pass for a pharmacy API key

# argon2id with the library's defaults (RFC 9106's second recommended option). When a release of
# argon2-cffi raises them, check_needs_rehash() notices at the next sign-in and the hash is renewed.
_hasher = PasswordHasher()


class UserError(ValueError):
    """An operator asked for something impossible (unknown user, duplicate name, short password)."""


class Refusal(StrEnum):
    """Why a sign-in was refused (for the audit log); the page shows one message for all."""

    WRONG_PASSWORD = "wrong_password"
    UNKNOWN_USER = "unknown_user"
    DISABLED = "disabled"


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: a new session id, or why there is none."""

    user_name: str
    session_id: str | None = None
    refusal: Refusal | None = None

    @property
    def ok(self) -> bool:
        return self.session_id is not None


def normalise_name(name: str) -> str:
    """Names are lower case, so "Alice" at the login form is the ``alice`` the admin created."""
    return name.strip().lower()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise UserError(f"the password must have at most {MAX_PASSWORD_CHARS} characters")


def check_new_name(session: Session, name: str) -> str:
    """The normalised name, if it is well-formed and free."""
    name = normalise_name(name)
    if not NAME_PATTERN.fullmatch(name) or len(name) > MAX_NAME_CHARS:
        raise UserError(
            "a name is 1 to 100 characters: lower-case letters, digits and . _ @ - "
            "(starting with a letter or digit)"
        )
    if session.scalar(select(User.id).filter_by(name=name)) is not None:
        raise UserError(f"a user named {name!r} already exists")
    return name


def create(session: Session, name: str, role: str, password: str, actor: str) -> User:
    """A new auditor or admin with an argon2 hash of ``password``."""
    if role not in ROLES:
        raise UserError(f"the role must be one of {', '.join(ROLES)}")
    check_password(password)
    name = check_new_name(session, name)
    user = User(
        name=name, role=role, password_hash=hash_password(password), created_at=datetime.now(UTC)
    )
    session.add(user)
    record_event(session, actor=actor, action="user.create", target=name, details={"role": role})
    session.flush()
    return user


def by_name(session: Session, name: str) -> User:
    user = session.scalar(select(User).filter_by(name=normalise_name(name)))
    if user is None:
        raise UserError(f"no user named {name!r}")
    return user


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def set_role(
    session: Session, name: str, role: str, actor: str, *, acting_user: str | None = None
) -> tuple[str, str]:
    """Change a role (takes effect on the user's next request); nobody changes their own."""
    if role not in ROLES:
        raise UserError(f"the role must be one of {', '.join(ROLES)}")
    user = by_name(session, name)
    if acting_user is not None and user.name == acting_user:
        raise UserError("you cannot change your own role; ask another admin")
    old = user.role
    if old != role:
        user.role = role
        record_event(
            session,
            actor=actor,
            action="user.set_role",
            target=user.name,
            details={"old": old, "new": role},
        )
    return old, role


def disable(session: Session, name: str, actor: str, *, acting_user: str | None = None) -> bool:
    """Disable a user and end their sessions and tokens now; False if they were already disabled."""
    user = by_name(session, name)
    if acting_user is not None and user.name == acting_user:
        raise UserError("you cannot disable yourself; ask another admin")
    if user.disabled_at is not None:
        return False
    now = datetime.now(UTC)
    user.disabled_at = now
    # access.py already ignores a disabled user's sessions and tokens; ending them as well means
    # nothing comes back to life when the account is re-enabled.
    sessions = _end_sessions(session, user, now)
    tokens = _revoke_tokens(session, user, now)
    record_event(
        session,
        actor=actor,
        action="user.disable",
        target=user.name,
        details={"sessions_ended": sessions, "tokens_revoked": tokens},
    )
    return True


def enable(session: Session, name: str, actor: str) -> bool:
    """Let a disabled user sign in again (with their old password; no session or token returns);
    False if they were not disabled."""
    user = by_name(session, name)
    if user.disabled_at is None:
        return False
    user.disabled_at = None
    record_event(session, actor=actor, action="user.enable", target=user.name)
    return True


def reset_password(
    session: Session, name: str, password: str, actor: str, *, acting_user: str | None = None
) -> int:
    """Set a new password chosen by an admin, and sign the user out everywhere (a reset usually
    means the old one was forgotten or seen); returns how many sessions were ended.

    An admin's own sessions are left alone when they reset their own password from a page.
    """
    check_password(password)
    user = by_name(session, name)
    user.password_hash = hash_password(password)
    ended = 0 if user.name == acting_user else _end_sessions(session, user, datetime.now(UTC))
    record_event(
        session,
        actor=actor,
        action="user.reset_password",
        target=user.name,
        details={"sessions_ended": ended},
    )
    return ended


def rotate_token(session: Session, name: str, actor: str) -> str:
    """Revoke every personal token of the user and give them one new one (returned once)."""
    user = by_name(session, name)
    revoked = _revoke_tokens(session, user, datetime.now(UTC))
    token = _new_token(session, user)
    record_event(
        session,
        actor=actor,
        action="user.rotate_token",
        target=user.name,
        details={"tokens_revoked": revoked},
    )
    return token


def create_token(session: Session, name: str, actor: str) -> str:
    """A personal API token for the user's own tools; returned once, only its hash is kept."""
    user = by_name(session, name)
    token = _new_token(session, user)
    record_event(session, actor=actor, action="user.token", target=user.name)
    return token


def _new_token(session: Session, user: User) -> str:
    if user.disabled_at is not None:
        raise UserError(f"{user.name} is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        UserToken(user_id=user.id, token_hash=token_hash(token), created_at=datetime.now(UTC))
    )
    return token


def _end_sessions(session: Session, user: User, now: datetime) -> int:
    return _changed_rows(
        session,
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now),
    )


def _revoke_tokens(session: Session, user: User, now: datetime) -> int:
    return _changed_rows(
        session,
        update(UserToken)
        .where(UserToken.user_id == user.id, UserToken.revoked_at.is_(None))
        .values(revoked_at=now),
    )


def sign_in(
    database: Database,
    name: str,
    password: str,
    *,
    address: str | None = None,
    now: datetime | None = None,
) -> SignIn:
    """Check a password and, if it is right and the account open, start a session.

    The argon2 work (tens of milliseconds) happens before the write transaction, so a stream of
    guesses never holds the database's write lock, which every check's log entry needs. Failures
    lock no account: the login's rate limits (``accounts.throttle``) slow guessing per address.
    """
    now = now or datetime.now(UTC)
    name = attempted_name(name)
    with database.unit_of_work(read_only=True) as session:
        stored = session.scalar(select(User.password_hash).filter_by(name=name))
    matches = _verify(stored, password)
    renewed = hash_password(password) if matches and _needs_rehash(stored) else None

    with database.unit_of_work() as session:
        user = session.scalar(select(User).filter_by(name=name).with_for_update())
        if user is None:
            _record_failure(session, name, Refusal.UNKNOWN_USER, address)
            result = SignIn(name, refusal=Refusal.UNKNOWN_USER)
        elif matches and user.disabled_at is None:
            result = _start_session(session, user, renewed, now, address)
        else:
            # A disabled account answers like a wrong password, so nothing on the page tells a
            # guesser which accounts exist or are open.
            refusal = Refusal.WRONG_PASSWORD if not matches else Refusal.DISABLED
            _record_failure(session, user.name, refusal, address)
            result = SignIn(user.name, refusal=refusal)
        session.commit()
    return result


def end_session(database: Database, session_id: str, *, address: str | None = None) -> None:
    """Sign out: the session row is ended, so its cookie opens nothing even if replayed."""
    with database.unit_of_work() as session:
        row = session.get(UserSession, session_id)
        if row is None or row.ended_at is not None:
            return
        row.ended_at = datetime.now(UTC)
        user = session.get(User, row.user_id)
        user_name = user.name if user else str(row.user_id)
        record_event(
            session,
            actor=f"user:{user_name}",
            action="logout",
            target=user_name,
            details={"address": address},
        )
        session.commit()


def _start_session(
    session: Session, user: User, renewed: str | None, now: datetime, address: str | None
) -> SignIn:
    if renewed:
        user.password_hash = renewed
    sid = secrets.token_urlsafe(32)  # never a value the browser brought
    session.add(UserSession(id=sid, user_id=user.id, created_at=now, last_seen_at=now))
    record_event(
        session,
        actor=f"user:{user.name}",
        action="login",
        target=user.name,
        details={"address": address, "role": user.role},
    )
    return SignIn(user.name, session_id=sid)


def _record_failure(session: Session, name: str, refusal: Refusal, address: str | None) -> None:
    record_event(
        session,
        actor="anonymous",
        action="login",
        target=name,
        outcome="failure",
        details={"reason": refusal.value, "address": address},
    )


def _verify(stored: str | None, password: str) -> bool:
    """argon2 verification; for an unknown name, the same work against a dummy hash (no timing tell)."""
    if len(password) > MAX_PASSWORD_CHARS:
        password = password[:MAX_PASSWORD_CHARS]
        stored = None
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _needs_rehash(stored: str | None) -> bool:
    return stored is not None and _hasher.check_needs_rehash(stored)


def _dummy_hash() -> str:
    return _dummy_hash_for(_hasher)


@cache
def _dummy_hash_for(hasher: PasswordHasher) -> str:
    """Made with the hasher in use, so an unknown name costs what a real account costs."""
    return hasher.hash(secrets.token_urlsafe(16))


def token_hash(token: str) -> str:
    """Tokens are long and random: a plain SHA-256 is enough to keep them out of the database."""
    return hashlib.sha256(token.encode()).hexdigest()


def _changed_rows(session: Session, statement: Update) -> int:
    result = cast("CursorResult[Any]", session.execute(statement))
    return result.rowcount


def attempted_name(name: str) -> str:
    """The name an anonymous visitor typed, as the log may hold it: normalised, printable, short."""
    return "".join(ch for ch in normalise_name(name) if ch.isprintable())[:MAX_NAME_CHARS]
