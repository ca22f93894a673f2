"""``flask --app service users …``: people who review (auditors) or also administer (admins).

Passwords come from a hidden prompt, or from standard input when it is not a terminal (for
scripts); never from an option, which would leave them in shell history and the process list.
"""

from __future__ import annotations

import getpass
import sys

import click
from flask.cli import AppGroup

from ..appctx import database
from ..checking import iso_utc
from ..db import users

users_cli = AppGroup(
    "users", help="People: auditors read the logs; admins also manage clients and users."
)
ROLE_CHOICE = click.Choice(users.ROLES)


def _operator() -> str:
    """Who ran the command, for the audit events it records (as the other operator commands)."""
    return f"cli:{getpass.getuser()}"


def _interactive() -> bool:
    return sys.stdin.isatty()


def _read_password() -> str:
    if _interactive():
        return str(
            click.prompt(
                f"Password (at least {users.MIN_PASSWORD_CHARS} characters)",
                hide_input=True,
                confirmation_prompt=True,
                value_proc=_checked_password,
            )
        )
    return _checked_password(sys.stdin.readline().rstrip("\r\n"))


def _checked_password(password: str) -> str:
    try:
        users.check_password(password)
    except users.UserError as error:
        raise click.UsageError(str(error)) from error
    return password


@users_cli.command("create")
@click.argument("name")
@click.option(
    "--role", type=ROLE_CHOICE, required=True, help="auditor: reads; admin: also manages."
)
def users_create(name: str, role: str) -> None:
    """Create a person; their password is asked for (or read from standard input)."""
    with database().unit_of_work(read_only=True) as session:
        try:
            name = users.check_new_name(session, name)  # before asking for a password in vain
        except users.UserError as error:
            raise click.ClickException(str(error)) from error
    password = _read_password()
    with database().unit_of_work() as session:
        try:
            user = users.create(session, name, role, password, _operator())
        except users.UserError as error:
            raise click.ClickException(str(error)) from error
        session.commit()
    click.echo(f"Created {user.role} {user.name}.")


@users_cli.command("list")
def users_list() -> None:
    """List people with their role and status."""
    with database().unit_of_work(read_only=True) as session:
        rows = users.all_users(session)
    for user in rows:
        status = f"disabled {iso_utc(user.disabled_at)}" if user.disabled_at else "active"
        click.echo(f"{user.name}\t{user.role}\t{status}\tcreated {iso_utc(user.created_at)}")
    if not rows:
        click.echo("No users. Create one: flask --app service users create NAME --role admin")


@users_cli.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Disable NAME at once: their sessions and tokens stop working."""
    with database().unit_of_work() as session:
        try:
            changed = users.disable(session, name, _operator())
        except users.UserError as error:
            raise click.ClickException(str(error)) from error
        session.commit()
    click.echo(f"Disabled {name}." if changed else f"{name} was already disabled.")


@users_cli.command("enable")
@click.argument("name")
def users_enable(name: str) -> None:
    """Let a disabled NAME sign in again; their old sessions and tokens stay ended."""
    with database().unit_of_work() as session:
        try:
            changed = users.enable(session, name, _operator())
        except users.UserError as error:
            raise click.ClickException(str(error)) from error
        session.commit()
    click.echo(f"Enabled {name}." if changed else f"{name} was not disabled.")


@users_cli.command("reset-password")
@click.argument("name")
def users_reset_password(name: str) -> None:
    """Give NAME a new password (asked for, or read from standard input); signs them out."""
    with database().unit_of_work(read_only=True) as session:
        try:
            users.by_name(session, name)  # before asking for a password in vain
        except users.UserError as error:
            raise click.ClickException(str(error)) from error
    password = _read_password()
    with database().unit_of_work() as session:
        ended = users.reset_password(session, name, password, _operator())
        session.commit()
    click.echo(f"Set a new password for {name}; {ended} session(s) ended.")


@users_cli.command("set-role")
@click.argument("name")
@click.argument("role", type=ROLE_CHOICE)
def users_set_role(name: str, role: str) -> None:
    """Give NAME the ROLE auditor or admin; it applies to their very next request."""
    with database().unit_of_work() as session:
        try:
            old, new = users.set_role(session, name, role, _operator())
        except users.UserError as error:
            raise click.ClickException(str(error)) from error
        session.commit()
    click.echo(f"{name}: role {old} -> {new}.")


@users_cli.command("token")
@click.argument("name")
def users_token(name: str) -> None:
    """Create a personal API token for NAME's own tools; it is printed once, as the last line."""
    with database().unit_of_work() as session:
        try:
            token = users.create_token(session, name, _operator())
        except users.UserError as error:
            raise click.ClickException(str(error)) from error
        session.commit()
    click.echo(f"Created an API token for {name}; send it as 'Authorization: Bearer <token>'.")
    click.echo("It follows; it is shown only now and cannot be recovered:")
    click.echo(token)


@users_cli.command("rotate-token")
@click.argument("name")
def users_rotate_token(name: str) -> None:
    """Revoke all of NAME's API tokens and create one new one, printed once, as the last line."""
    with database().unit_of_work() as session:
        try:
            token = users.rotate_token(session, name, _operator())
        except users.UserError as error:
            raise click.ClickException(str(error)) from error
        session.commit()
    click.echo(f"Revoked {name}'s earlier API tokens; they no longer work. The new token follows;")
    click.echo("it is shown only now and cannot be recovered:")
    click.echo(token)
