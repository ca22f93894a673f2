"""``flask --app service users …``: create, list, disable, set-role and token, each recorded."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts import cli as users_cli
from service.db import users
from service.db.models import User, UserToken

from .. import factories
from .conftest import events

PASSWORD = "a long enough password"
OPERATOR = f"cli:{getpass.getuser()}"


def run(app: Flask, *args: str, input: str | None = None) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["users", *args], input=input)
    return result.exit_code, result.output


def user_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def test_create_reads_the_password_from_standard_input_and_stores_only_an_argon2_hash(
    app: Flask, session: Session
) -> None:
    code, output = run(app, "create", "Alice", "--role", "auditor", input=PASSWORD + "\n")
    assert code == 0, output
    assert "Created auditor alice." in output
    user = session.scalars(select(User).filter_by(name="alice")).one()
    assert user.role == "auditor"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert PasswordHasher().verify(user.password_hash, PASSWORD)
    [event] = events(session, "user.create")
    assert (event.actor, event.target, event.details) == (OPERATOR, "alice", {"role": "auditor"})


def test_create_on_a_terminal_asks_twice_with_a_hidden_prompt(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users_cli, "_interactive", lambda: True)
    code, output = run(
        app,
        "create",
        "bo",
        "--role",
        "admin",
        input=f"short\n{PASSWORD}\n{PASSWORD}x\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert code == 0, output
    assert "at least 12 characters" in output  # "short" was refused and asked again
    assert "do not match" in output  # the confirmation differed, so both were asked again
    assert PASSWORD not in output  # hidden input is never echoed
    assert session.scalars(select(User.role).filter_by(name="bo")).one() == "admin"


def test_a_password_is_never_accepted_as_an_option(app: Flask, session: Session) -> None:
    code, output = run(app, "create", "carol", "--role", "auditor", "--password", PASSWORD)
    assert code == 2
    assert "No such option" in output
    assert user_count(session) == 0


def test_create_refuses_a_short_password(app: Flask, session: Session) -> None:
    code, output = run(app, "create", "dana", "--role", "auditor", input="eleven char\n")
    assert code != 0
    assert "at least 12 characters" in output
    assert user_count(session) == 0


def test_create_refuses_a_taken_name_before_asking_for_a_password(
    app: Flask, session: Session
) -> None:
    factories.UserFactory(name="erin")
    session.commit()
    code, output = run(app, "create", "Erin", "--role", "auditor", input="")
    assert code == 1
    assert "already exists" in output
    assert user_count(session) == 1


def test_create_refuses_an_unknown_role(app: Flask, session: Session) -> None:
    code, output = run(app, "create", "fay", "--role", "superuser", input=PASSWORD + "\n")
    assert code == 2 and "superuser" in output
    assert user_count(session) == 0


def test_list_shows_each_person_with_role_and_status(app: Flask, session: Session) -> None:
    factories.UserFactory(name="gail", role="admin")
    factories.UserFactory(name="hal", disabled_at=datetime.now(UTC))
    session.commit()
    code, output = run(app, "list")
    assert code == 0
    lines = output.splitlines()
    assert lines[0].startswith("gail\tadmin\tactive\tcreated ")
    assert lines[1].startswith("hal\tauditor\tdisabled ")


def test_list_with_nobody_says_how_to_create_someone(app: Flask, session: Session) -> None:
    code, output = run(app, "list")
    assert code == 0 and "users create NAME --role admin" in output


def test_disable_records_the_change_and_is_idempotent(app: Flask, session: Session) -> None:
    user = factories.UserFactory(name="ivy")
    session.commit()
    assert run(app, "disable", "ivy") == (0, "Disabled ivy.\n")
    assert run(app, "disable", "ivy") == (0, "ivy was already disabled.\n")
    session.refresh(user)
    assert user.disabled_at is not None
    [event] = events(session, "user.disable")
    assert (event.actor, event.target) == (OPERATOR, "ivy")


def test_set_role_records_old_and_new(app: Flask, session: Session) -> None:
    user = factories.UserFactory(name="jo")
    session.commit()
    code, output = run(app, "set-role", "jo", "admin")
    assert (code, output) == (0, "jo: role auditor -> admin.\n")
    session.refresh(user)
    assert user.role == "admin"
    [event] = events(session, "user.set_role")
    assert event.details == {"old": "auditor", "new": "admin"} and event.actor == OPERATOR


@pytest.mark.parametrize(
    "command", [["disable", "nobody"], ["set-role", "nobody", "admin"], ["token", "nobody"]]
)
def test_commands_on_an_unknown_name_fail_plainly(
    app: Flask, session: Session, command: list[str]
) -> None:
    code, output = run(app, *command)
    assert code == 1 and "no user named 'nobody'" in output


def test_token_is_printed_once_as_the_last_line_and_only_its_hash_is_kept(
    app: Flask, session: Session
) -> None:
    factories.UserFactory(name="kim")
    session.commit()
    code, output = run(app, "token", "kim")
    assert code == 0
    token = output.splitlines()[-1]
    assert token.startswith(users.TOKEN_PREFIX) and len(token) > 40
    stored = session.scalars(select(UserToken.token_hash)).one()
    assert stored == users.token_hash(token) and token not in stored
    [event] = events(session, "user.token")
    assert (event.actor, event.target) == (OPERATOR, "kim")
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json() == {"name": "kim", "role": "auditor"}


def test_a_disabled_person_gets_no_token(app: Flask, session: Session) -> None:
    factories.UserFactory(name="lee", disabled_at=datetime.now(UTC))
    session.commit()
    code, output = run(app, "token", "lee")
    assert code == 1 and "disabled" in output
    assert session.scalar(select(func.count()).select_from(UserToken)) == 0


def test_enable_lets_a_disabled_person_sign_in_again(app: Flask, session: Session) -> None:
    factories.UserFactory(name="dale", disabled_at=datetime.now(UTC))
    session.commit()
    code, output = run(app, "enable", "dale")
    assert code == 0 and "Enabled dale." in output
    assert run(app, "enable", "dale")[1].strip() == "dale was not disabled."
    assert "dale\tauditor\tactive" in run(app, "list")[1]
    [event] = events(session, "user.enable")
    assert (event.actor, event.target) == (OPERATOR, "dale")
    assert run(app, "enable", "ghost")[0] != 0


def test_reset_password_reads_the_new_one_from_standard_input(app: Flask, session: Session) -> None:
    factories.UserFactory(name="dale")
    session.commit()
    code, output = run(app, "reset-password", "dale", input="a brand new passphrase\n")
    assert code == 0 and "Set a new password for dale; 0 session(s) ended." in output
    session.expire_all()
    stored = session.scalars(select(User).filter_by(name="dale")).one().password_hash
    assert PasswordHasher().verify(stored, "a brand new passphrase")
    assert [e.target for e in events(session, "user.reset_password")] == ["dale"]
    code, output = run(app, "reset-password", "dale", input="short\n")
    assert code != 0 and "at least 12 characters" in output
    code, output = run(app, "reset-password", "ghost", input="a brand new passphrase\n")
    assert code != 0 and "no user named 'ghost'" in output


def test_rotate_token_prints_one_new_token_and_the_old_ones_stop_working(
    app: Flask, session: Session
) -> None:
    factories.UserFactory(name="dale")
    session.commit()
    old = run(app, "token", "dale")[1].strip().splitlines()[-1]
    code, output = run(app, "rotate-token", "dale")
    assert code == 0 and "they no longer work" in output
    new = output.strip().splitlines()[-1]
    assert new.startswith(users.TOKEN_PREFIX) and new != old
    browser = app.test_client()
    assert browser.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    me = browser.get("/api/v1/me", headers={"Authorization": f"Bearer {new}"})
    assert me.status_code == 200 and me.get_json()["name"] == "dale"
    [event] = events(session, "user.rotate_token")
    assert event.details == {"tokens_revoked": 1}
