"""The people repository (``service.db.users``): its rules, independent of any page or command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import argon2
import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from service.accounts import access
from service.db import Database, users
from service.db.models import AuditEvent, User, UserSession, UserToken

from .. import factories

POLICY = users.LockoutPolicy()
PASSWORD = "long enough password"


def test_passwords_are_hashed_with_argon2id_at_rfc_9106_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.undo()  # production's hasher, not the tests' cheap one
    stored = users.hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert argon2.extract_parameters(stored) == argon2.profiles.RFC_9106_LOW_MEMORY


def test_the_repository_and_the_access_contract_know_the_same_roles() -> None:
    assert users.ROLES == access.ROLES


@pytest.mark.parametrize(
    ("name", "role", "password", "problem"),
    [
        ("ok", "owner", PASSWORD, "the role must be one of auditor, admin"),
        ("ok", "auditor", "x" * 11, "at least 12 characters"),
        ("ok", "auditor", "x" * 1025, "at most 1024 characters"),
        ("", "auditor", PASSWORD, "a name is 1 to 100 characters"),
        ("two words", "auditor", PASSWORD, "a name is 1 to 100 characters"),
        (".dot", "auditor", PASSWORD, "a name is 1 to 100 characters"),
        ("x" * 101, "auditor", PASSWORD, "a name is 1 to 100 characters"),
    ],
)
def test_create_refuses_what_cannot_sign_in_well(
    session: Session, name: str, role: str, password: str, problem: str
) -> None:
    with pytest.raises(users.UserError, match=problem):
        users.create(session, name, role, password, actor="test")
    assert session.scalars(select(User)).all() == []


def test_names_are_kept_in_lower_case(session: Session) -> None:
    user = users.create(session, " A.Jones@Pharmacy.example ", "admin", PASSWORD, actor="test")
    assert user.name == "a.jones@pharmacy.example"
    assert users.by_name(session, "A.JONES@pharmacy.example") is user


def sign_in(
    connection: Connection, name: str, password: str, now: datetime | None = None
) -> users.SignIn:
    return users.sign_in(Database(connection), name, password, POLICY, now=now)


def test_an_unknown_names_pause_ends_like_a_real_accounts(
    connection: Connection, session: Session
) -> None:
    for _ in range(4):
        assert sign_in(connection, "ghost", PASSWORD).refusal is users.Refusal.UNKNOWN_USER
    assert sign_in(connection, "ghost", PASSWORD).refusal is users.Refusal.LOCKED
    assert sign_in(connection, "ghost", PASSWORD).refusal is users.Refusal.LOCKED
    later = datetime.now(UTC) + POLICY.duration + timedelta(seconds=1)
    # After the pause, the count starts again from zero, as it does for an account.
    assert sign_in(connection, "ghost", PASSWORD, later).refusal is users.Refusal.UNKNOWN_USER


def test_a_real_accounts_pause_ends_after_the_window(
    connection: Connection, session: Session
) -> None:
    factories.UserFactory(name="pat")
    session.commit()
    for _ in range(5):
        sign_in(connection, "pat", "wrong password here")
    assert sign_in(connection, "pat", factories.PASSWORD).refusal is users.Refusal.LOCKED
    later = datetime.now(UTC) + POLICY.duration + timedelta(seconds=1)
    result = sign_in(connection, "pat", factories.PASSWORD, later)
    assert result.ok and result.session_id


def test_an_overlong_password_is_simply_wrong(connection: Connection, session: Session) -> None:
    factories.UserFactory(name="pat")
    session.commit()
    result = sign_in(connection, "pat", factories.PASSWORD + "x" * 2000)
    assert result.refusal is users.Refusal.WRONG_PASSWORD


def test_disable_ends_sessions_and_revokes_tokens(connection: Connection, session: Session) -> None:
    user = factories.UserFactory(name="pat")
    session.commit()
    sign_in(connection, "pat", factories.PASSWORD)
    users.create_token(session, "pat", actor="test")
    assert users.disable(session, "pat", actor="test") is True
    assert users.disable(session, "pat", actor="test") is False
    assert all(
        s.ended_at is not None
        for s in session.scalars(select(UserSession).filter_by(user_id=user.id))
    )
    assert all(
        t.revoked_at is not None
        for t in session.scalars(select(UserToken).filter_by(user_id=user.id))
    )


def test_setting_the_same_role_records_nothing(session: Session) -> None:
    factories.UserFactory(name="pat")
    assert users.set_role(session, "pat", "auditor", actor="test") == ("auditor", "auditor")
    session.flush()
    assert session.scalars(select(AuditEvent).filter_by(action="user.set_role")).all() == []
