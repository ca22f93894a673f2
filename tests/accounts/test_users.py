"""The people repository (``service.db.users``): its rules, independent of any page or command."""

from __future__ import annotations

from datetime import UTC, datetime

import argon2
import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from service.db import Database, users
from service.db.models import AuditEvent, User, UserSession, UserToken

from .. import factories

pytestmark = pytest.mark.both_databases  # user rows and their constraints

PASSWORD = "long enough password"


def test_passwords_are_hashed_with_argon2id_at_rfc_9106_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.undo()  # production's hasher, not the tests' cheap one
    stored = users.hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert argon2.extract_parameters(stored) == argon2.profiles.RFC_9106_LOW_MEMORY


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


def sign_in(connection: Connection, name: str, password: str) -> users.SignIn:
    return users.sign_in(Database(connection), name, password)


def test_failures_lock_no_account_so_nobody_can_lock_out_someone_else(
    connection: Connection, session: Session
) -> None:
    """Guessing is slowed per address by the login's rate limits (``test_login_limits``), not here."""
    factories.UserFactory(name="pat")
    session.commit()
    for _ in range(20):
        assert sign_in(connection, "pat", "wrong password here").refusal is (
            users.Refusal.WRONG_PASSWORD
        )
    result = sign_in(connection, "pat", factories.PASSWORD)
    assert result.ok and result.session_id


def test_a_new_session_starts_as_last_seen_at_sign_in(
    connection: Connection, session: Session
) -> None:
    factories.UserFactory(name="pat")
    session.commit()
    result = sign_in(connection, "pat", factories.PASSWORD)
    row = session.get(UserSession, result.session_id)
    assert row is not None and row.last_seen_at == row.created_at


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


def test_enable_lets_a_disabled_user_back_in_without_their_old_tokens(
    connection: Connection, session: Session
) -> None:
    factories.UserFactory(name="pat")
    session.commit()
    token = users.create_token(session, "pat", actor="test")
    users.disable(session, "pat", actor="test")
    assert users.enable(session, "pat", actor="admin:test") is True
    assert users.enable(session, "pat", actor="admin:test") is False
    session.commit()
    assert sign_in(connection, "pat", factories.PASSWORD).ok
    revoked = session.scalar(select(UserToken).filter_by(token_hash=users.token_hash(token)))
    assert revoked is not None and revoked.revoked_at is not None
    [event] = session.scalars(select(AuditEvent).filter_by(action="user.enable")).all()
    assert (event.actor, event.target) == ("admin:test", "pat")


def test_reset_password_replaces_the_old_one_and_ends_every_session(
    connection: Connection, session: Session
) -> None:
    user = factories.UserFactory(name="pat")
    session.commit()
    first, second = (sign_in(connection, "pat", factories.PASSWORD) for _ in range(2))
    assert first.ok and second.ok
    assert users.reset_password(session, "pat", "a brand new passphrase", actor="test") == 2
    session.commit()
    assert sign_in(connection, "pat", factories.PASSWORD).refusal is users.Refusal.WRONG_PASSWORD
    assert sign_in(connection, "pat", "a brand new passphrase").ok
    ended = session.scalars(
        select(UserSession.id).filter_by(user_id=user.id).where(UserSession.ended_at.is_not(None))
    ).all()
    assert set(ended) == {first.session_id, second.session_id}
    with pytest.raises(users.UserError, match="at least 12 characters"):
        users.reset_password(session, "pat", "short", actor="test")


def test_rotate_token_revokes_every_old_token_and_returns_one_new_one(session: Session) -> None:
    factories.UserFactory(name="pat")
    old = [users.create_token(session, "pat", actor="test") for _ in range(2)]
    new = users.rotate_token(session, "pat", actor="test")
    session.flush()
    live = session.scalars(select(UserToken.token_hash).where(UserToken.revoked_at.is_(None))).all()
    assert live == [users.token_hash(new)]
    assert new not in old and new.startswith(users.TOKEN_PREFIX)
    [event] = session.scalars(select(AuditEvent).filter_by(action="user.rotate_token")).all()
    assert event.details == {"tokens_revoked": 2}


def test_a_disabled_user_gets_no_new_token(session: Session) -> None:
    factories.UserFactory(name="pat", disabled_at=datetime.now(UTC))
    with pytest.raises(users.UserError, match="pat is disabled"):
        users.rotate_token(session, "pat", actor="test")
