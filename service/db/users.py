"""People (auditors and admins): argon2 passwords, lockout, sessions and personal API tokens.

Every change and every sign-in attempt, good or bad, is an audit event. Only hashes of passwords and
tokens are stored; session ids live in ``user_session`` so logout and disabling end them at once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, Update, func, select, update
from sqlalchemy.orm import Session

from ..accounts.access import TOKEN_PREFIX, token_hash
from . import Database
from .events import record_event
from .models import AuditEvent, User, UserSession, UserToken

ROLES = ("auditor", "admin")  # as app_user's check constraint
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024  # long passphrases are welcome; megabytes of "password" are not
MAX_NAME_CHARS = 100
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]*")

# argon2id with the library's defaults (RFC 9106's second recommended option). When a release of
# argon2-cffi raises them, check_needs_rehash() notices at the next sign-in and the hash is renewed.
_hasher = PasswordHasher()


class UserError(ValueError):
    """An operator asked for something impossible (unknown user, duplicate name, short password)."""


class Refusal(StrEnum):
    """Why a sign-in was refused. The page shows one message for all but ``LOCKED``."""

    WRONG_PASSWORD = "wrong_password"
    UNKNOWN_USER = "unknown_user"
    DISABLED = "disabled"
    LOCKED = "locked"


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    duration: timedelta = timedelta(minutes=15)


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
        name=name,
        role=role,
        password_hash=hash_password(password),
        created_at=datetime.now(UTC),
        failed_logins=0,
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


def is_locked(user: User, now: datetime | None = None) -> bool:
    return user.locked_until is not None and _aware(user.locked_until) > (now or datetime.now(UTC))


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
    # nothing comes back to life if the account is ever re-enabled by hand.
    sessions = _changed_rows(
        session,
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now),
    )
    tokens = _changed_rows(
        session,
        update(UserToken)
        .where(UserToken.user_id == user.id, UserToken.revoked_at.is_(None))
        .values(revoked_at=now),
    )
    record_event(
        session,
        actor=actor,
        action="user.disable",
        target=user.name,
        details={"sessions_ended": sessions, "tokens_revoked": tokens},
    )
    return True


def create_token(session: Session, name: str, actor: str) -> str:
    """A personal API token for the user's own tools; returned once, only its hash is kept."""
    user = by_name(session, name)
    if user.disabled_at is not None:
        raise UserError(f"{user.name} is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        UserToken(user_id=user.id, token_hash=token_hash(token), created_at=datetime.now(UTC))
    )
    record_event(session, actor=actor, action="user.token", target=user.name)
    return token


def sign_in(
    database: Database,
    name: str,
    password: str,
    policy: LockoutPolicy,
    *,
    address: str | None = None,
    now: datetime | None = None,
) -> SignIn:
    """Check a password and, if it is right and the account open, start a session.

    The argon2 work (tens of milliseconds) happens before the write transaction, so a stream of
    guesses never holds the database's write lock, which every check's log entry needs.
    """
    now = now or datetime.now(UTC)
    name = _printable(normalise_name(name))[:MAX_NAME_CHARS]
    with database.unit_of_work(read_only=True) as session:
        stored = session.scalar(select(User.password_hash).filter_by(name=name))
    matches = _verify(stored, password)
    renewed = hash_password(password) if matches and _needs_rehash(stored) else None

    with database.unit_of_work() as session:
        user = session.scalar(select(User).filter_by(name=name).with_for_update())
        if user is None:
            result = _refuse_unknown(session, name, policy, now, address)
        else:
            result = _decide(session, user, matches, renewed, policy, now, address)
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


def _decide(
    session: Session,
    user: User,
    matches: bool,
    renewed: str | None,
    policy: LockoutPolicy,
    now: datetime,
    address: str | None,
) -> SignIn:
    if is_locked(user, now):
        _record_attempt(session, user.name, "login.locked", Refusal.LOCKED, address)
        return SignIn(user.name, refusal=Refusal.LOCKED)
    if matches and user.disabled_at is None:
        user.failed_logins, user.locked_until = 0, None
        if renewed:
            user.password_hash = renewed
        sid = secrets.token_urlsafe(32)  # never a value the browser brought
        session.add(UserSession(id=sid, user_id=user.id, created_at=now))
        record_event(
            session,
            actor=f"user:{user.name}",
            action="login",
            target=user.name,
            details={"address": address, "role": user.role},
        )
        return SignIn(user.name, session_id=sid)
    # A disabled account answers like a wrong password, and counts towards a lockout like one,
    # so nothing on the page tells a guesser which accounts exist or are open.
    refusal = Refusal.WRONG_PASSWORD if not matches else Refusal.DISABLED
    user.failed_logins = (user.failed_logins or 0) + 1
    _record_attempt(session, user.name, "login", refusal, address, failures=user.failed_logins)
    if user.failed_logins < policy.max_failures:
        return SignIn(user.name, refusal=refusal)
    user.failed_logins, user.locked_until = 0, now + policy.duration
    _record_lockout(session, user.name, policy, now, known_user=True)
    return SignIn(user.name, refusal=Refusal.LOCKED)


def _refuse_unknown(
    session: Session, name: str, policy: LockoutPolicy, now: datetime, address: str | None
) -> SignIn:
    """A name nobody has gets the same answers a real account would, lockout included.

    Its lockout state is read back from the audit log (the last lockout of that name, the failures
    since), so no table of guessed names is kept and the page never tells the two apart.
    """
    last_lockout = session.scalar(
        select(func.max(AuditEvent.created_at)).where(
            AuditEvent.action == "user.lockout", AuditEvent.target == name
        )
    )
    if last_lockout is not None and _aware(last_lockout) + policy.duration > now:
        _record_attempt(session, name, "login.locked", Refusal.LOCKED, address)
        return SignIn(name, refusal=Refusal.LOCKED)
    since = [AuditEvent.created_at > last_lockout] if last_lockout is not None else []
    earlier = session.scalar(
        select(func.count()).where(
            AuditEvent.action == "login",
            AuditEvent.outcome == "failure",
            AuditEvent.target == name,
            *since,
        )
    )
    failures = (earlier or 0) + 1
    _record_attempt(session, name, "login", Refusal.UNKNOWN_USER, address, failures=failures)
    if failures < policy.max_failures:
        return SignIn(name, refusal=Refusal.UNKNOWN_USER)
    _record_lockout(session, name, policy, now, known_user=False)
    return SignIn(name, refusal=Refusal.LOCKED)


def _record_attempt(
    session: Session,
    name: str,
    action: str,
    refusal: Refusal,
    address: str | None,
    *,
    failures: int | None = None,
) -> None:
    details: dict[str, object] = {"reason": refusal.value, "address": address}
    if failures is not None:
        details["consecutive_failures"] = failures
    record_event(
        session, actor="anonymous", action=action, target=name, outcome="failure", details=details
    )


def _record_lockout(
    session: Session, name: str, policy: LockoutPolicy, now: datetime, *, known_user: bool
) -> None:
    record_event(
        session,
        actor="system",
        action="user.lockout",
        target=name,
        details={
            "failures": policy.max_failures,
            "until": (now + policy.duration).isoformat(),
            "known_user": known_user,
        },
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


def _changed_rows(session: Session, statement: Update) -> int:
    result = cast("CursorResult[Any]", session.execute(statement))
    return result.rowcount


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; we stored them as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _printable(text: str) -> str:
    """What an anonymous visitor typed goes into the log only as printable text."""
    return "".join(ch for ch in text if ch.isprintable())
