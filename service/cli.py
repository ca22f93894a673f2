"""Operator commands: ``db``, ``kb`` and ``check`` under ``flask --app service``."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from .accounts.cli import users_cli
from .appctx import database, snapshots
from .audit.cli import TRANSPARENCY_COMMANDS
from .audit.cli import export_command as audit_export_command
from .audit.retention_cli import archive_command as audit_archive_command
from .audit.retention_cli import partitions_command as audit_partitions_command
from .checking import CheckRequest, ServiceUnavailable, check_and_log, iso_utc
from .db import Database, clients, events, kb_store, kb_versions, privileges
from .db.models import KbVersion
from .domain.answer import AnswerDocument
from .domain.check import MAX_PATIENT_AGE, CheckContext, MedicationInput
from .domain.knowledge import KnowledgeBase
from .domain.vocabulary import index_names
from .kb.cli import impact_command, review_command
from .kb.loader import KbValidationError, read_knowledge_base
from .shipped import shipped_folder

MIGRATIONS = shipped_folder("migrations")

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
kb_cli = AppGroup("kb", help="The knowledge base.")
clients_cli = AppGroup("clients", help="API clients (pharmacy systems, EHRs) and their keys.")
audit_cli = AppGroup("audit", help="The tamper-evident logs.")
SEVERITY_CHOICE = click.Choice(["minor", "moderate", "major", "contraindicated"])


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _owner_url() -> str:
    """The owner role's URL (``MIGRATIONS_DATABASE_URL``), or the service's when there is one role."""
    return str(
        current_app.config.get("MIGRATIONS_DATABASE_URL") or current_app.config["DATABASE_URL"]
    )


def _service_role() -> str | None:
    """The service's own role, when it is not the owner's: the one ``db upgrade`` grants to."""
    service_url = make_url(current_app.config["DATABASE_URL"])
    owner = make_url(_owner_url()).username
    if service_url.get_backend_name() != "postgresql" or service_url.username == owner:
        return None
    return service_url.username


@contextmanager
def _as_owner() -> Iterator[Database]:
    """The database as the owner's commands use it: as the owner, without the service's timeouts.

    Loading a knowledge base takes longer than any request may; a database handed in by an
    embedding process or a test is used as it is.
    """
    if current_app.config.get("DATABASE") is not None:
        yield database()
        return
    owner = Database.from_url(_owner_url())
    try:
        yield owner
    finally:
        owner.dispose()


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: head), as the owner; then grant the service's role."""
    command.upgrade(alembic_config(_owner_url()), revision)
    role = _service_role()
    if role is not None:
        _grant(role)


@db_cli.command("grant")
@click.argument("role", required=False)
def db_grant(role: str | None) -> None:
    """Give ROLE (default: DATABASE_URL's) what the service needs: logs may only be read and added to."""
    role = role or _service_role()
    if role is None:
        raise click.ClickException(
            "DATABASE_URL names the owner itself: set MIGRATIONS_DATABASE_URL to the owner's URL "
            "and DATABASE_URL to the service's role (README: database roles)"
        )
    _grant(role)


def _grant(role: str) -> None:
    with _as_owner() as owner, owner.transaction() as connection:
        try:
            granted = privileges.grant_service_role(connection, role)
        except privileges.RoleError as error:
            raise click.ClickException(str(error)) from error
    logs = sorted(t for t, p in granted.items() if p == "SELECT, INSERT")
    click.echo(
        f"Granted {role} what the service needs on {len(granted)} tables; "
        f"logs it may only read and add to: {', '.join(logs)}."
    )


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Migrate down to REVISION (default: one step; ``base`` empties the database)."""
    command.downgrade(alembic_config(_owner_url()), revision)


@db_cli.command("current")
def db_current() -> None:
    """Show the database's current revision."""
    command.current(alembic_config(_owner_url()), verbose=False)


@kb_cli.command("load")
@click.argument(
    "directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--activate", "activate_now", is_flag=True, help="Also make it the active version at once."
)
def kb_load(directory: Path | None, activate_now: bool) -> None:
    """Validate DIRECTORY (default: seed_data/) and stage it as a version, not yet active."""
    source = directory or Path(current_app.config["KB_DIR"])
    try:
        knowledge = read_knowledge_base(source)
    except KbValidationError as error:
        click.echo(f"Knowledge base in {source} is invalid; nothing was written.", err=True)
        for item in error.problems:
            click.echo(f"  {item}", err=True)
        sys.exit(1)
    with _as_owner() as owner, owner.unit_of_work() as session:
        version, created = kb_store.store(session, knowledge)
        if created:
            events.record_event(
                session,
                actor=_operator(),
                action="kb.load",
                target=version.id,
                details={"directory": str(source), "counts": knowledge.counts()},
            )
        was_active = kb_store.active_version_id(session) == version.id
        activated = activate_now and _activate(session, version)
        session.commit()
    counts = ", ".join(f"{v} {k}" for k, v in knowledge.counts().items())
    if created:
        click.echo(f"Staged knowledge base {version.id} ({counts}).")
        _report_vocabulary_conflicts(knowledge)
    else:
        state = "active" if was_active else "staged"
        click.echo(f"Knowledge base unchanged: {version.id} is already stored ({state}).")
    if activated:
        click.echo(f"Activated knowledge base {version.id}.")
    elif not was_active:
        short = version.id[:12]
        click.echo(f"Not active. Review: flask --app service kb review {short}")
        click.echo(f"Then activate: flask --app service kb activate {short}")


def _report_vocabulary_conflicts(knowledge: KnowledgeBase, shown: int = 20) -> None:
    """Where the bulk RxNorm file gives a curated name or code other ingredients: the curated
    meaning is kept, and the pharmacist is told, never left to find out."""
    conflicts = index_names(knowledge).conflicts
    if not conflicts:
        return
    click.echo(
        f"{len(conflicts)} RxNorm vocabulary entries conflict with curated names or codes; the "
        "curated meaning is kept and the RxNorm entry is not used for that name or code:"
    )
    for conflict in conflicts[:shown]:
        click.echo(f"  {conflict}")
    if len(conflicts) > shown:
        click.echo(f"  ... and {len(conflicts) - shown} more")


@kb_cli.command("activate")
@click.argument("version")
def kb_activate(version: str) -> None:
    """Make VERSION (its id, or a unique start of it) the one every check uses."""
    with _as_owner() as owner, owner.unit_of_work() as session:
        try:
            found = kb_versions.by_prefix(session, version)
        except kb_versions.VersionNotFound as error:
            raise click.ClickException(str(error)) from error
        changed = _activate(session, found)
        session.commit()
    if changed:
        click.echo(f"Activated knowledge base {found.id}; workers use it from their next check.")
    else:
        click.echo(f"Knowledge base {found.id} is already active.")


def _activate(session: Session, version: KbVersion) -> bool:
    """Activate ``version`` and record who did it and what it replaced, as a security event."""
    previous = kb_store.active_version_id(session)
    if not kb_store.activate(session, version):
        return False
    events.record_event(
        session,
        actor=_operator(),
        action="kb.activate",
        target=version.id,
        details={"previous": previous},
    )
    return True


@kb_cli.command("show")
def kb_show() -> None:
    """Show the active version, its content hash and counts, and the newest staged version."""
    with database().unit_of_work(read_only=True) as session:
        version = kb_store.active_version(session)
        if version is None or version.activated_at is None:
            click.echo(
                "No knowledge base is active. Run: flask --app service kb load --activate", err=True
            )
            sys.exit(1)
        counts = kb_store.counts(session, version.id)
        staged = kb_versions.newest_staged(session)
    click.echo(f"version (content SHA-256): {version.id}")
    click.echo(f"activated at: {iso_utc(version.activated_at)}")
    for key, value in counts.items():
        click.echo(f"{key}: {value}")
    if staged is not None:
        click.echo(f"staged, not active: {staged.id} (loaded {iso_utc(staged.created_at)})")


@click.command("check")
@with_appcontext
@click.argument("medications", nargs=-1, required=True)
@click.option("--age", type=click.IntRange(0, MAX_PATIENT_AGE), help="Patient age in years.")
def check_command(medications: tuple[str, ...], age: int | None) -> None:
    """Check MEDICATIONS from the shell and print the alerts (logged with channel cli)."""
    request = CheckRequest(
        raw_items=list(medications),
        items=[MedicationInput(text=m) for m in medications],
        context=CheckContext(patient_age=age),
        min_severity=None,
        raw_request={"medications": list(medications), "patient": {"age": age}},
    )
    try:
        answer = check_and_log(
            database(), snapshots(), request, None, channel="cli", request_id="cli"
        )
    except ServiceUnavailable as error:
        click.echo(f"Could not check: {error}. No alerts were produced.", err=True)
        sys.exit(2)
    click.echo(render_answer(answer))


def render_answer(answer: AnswerDocument) -> str:
    """The answer as a pharmacist reads it at a terminal."""
    lines: list[str] = []
    for med in answer["medications"]:
        label = (
            med["input"]
            if isinstance(med["input"], str)
            else med["input"].get("text", med["input"])
        )
        if med["status"] == "recognized":
            names = ", ".join(i["name"] for i in med["ingredients"])
            lines.append(f"  ✓ {label} → {names}")
        else:
            hint = (
                f" (did you mean: {', '.join(med['suggestions'])}?)" if med["suggestions"] else ""
            )
            lines.append(f"  ? {label}: NOT RECOGNISED, not checked{hint}")
    alerts = answer["alerts"]
    header = f"{len(alerts)} alert(s)" if alerts else "No alerts"
    if not answer["complete"]:
        header += " — INCOMPLETE: some medications were not recognised"
    out = ["Medications:", *lines, "", header]
    for alert in alerts:
        out.append(f"\n[{alert['severity'].upper()}] {alert['rule']['id']} {alert['summary']}")
        out.append(f"  What to do: {alert['management']}")
        out.append("  Sources: " + "; ".join(s["label"] for s in alert["sources"]))
    out.append(f"\nScope: {answer['scope']['statement']}")
    out.append(f"Check {answer['check_id']} · knowledge base {answer['kb_version'][:12]}")
    return "\n".join(out)


@contextmanager
def _client_change() -> Iterator[Session]:
    """One committed change to clients; an operator's mistake becomes a clear error, not a trace."""
    with database().unit_of_work() as session:
        try:
            yield session
        except clients.ClientError as error:
            raise click.ClickException(str(error)) from error
        session.commit()


def _operator() -> str:
    """Who ran the command, for the audit events it records."""
    return f"cli:{getpass.getuser()}"


@clients_cli.command("create")
@click.argument("name")
@click.option("--min-severity", type=SEVERITY_CHOICE, default="minor", show_default=True)
@click.option(
    "--rxnav-failure-status",
    type=click.Choice([str(s) for s in clients.RXNAV_FAILURE_STATUSES]),
    help="For RxNav clients that drop the body of any non-200 answer (OpenEMR 5.0.x): answer "
    "their failures with this status, so the CHECK FAILED entry is shown. Default: the "
    "failure's own status (400, 401, 404, 503).",
)
def clients_create(name: str, min_severity: str, rxnav_failure_status: str | None) -> None:
    """Create a client; its API key is printed once, as the last line."""
    status = int(rxnav_failure_status) if rxnav_failure_status else None
    with _client_change() as session:
        client, key = clients.create(
            session, name, min_severity, _operator(), rxnav_failure_status=status
        )
    failures = f", RxNav failures answered {status}" if status else ""
    click.echo(f"Created client {client.name} (minimum severity {client.min_severity}{failures}).")
    click.echo("Its API key follows; it is shown only now and cannot be recovered:")
    click.echo(key)


@clients_cli.command("list")
def clients_list() -> None:
    """List clients with their minimum severity and status."""
    with database().unit_of_work(read_only=True) as session:
        rows = clients.all_clients(session)
        for c in rows:
            status = f"revoked {iso_utc(c.revoked_at)}" if c.revoked_at else "active"
            jwt = f", JWT iss {c.jwt_issuer} ({len(c.keys)} key(s))" if c.jwt_issuer else ""
            fhir = f", FHIR {' '.join(s.url for s in c.fhir_servers)}" if c.fhir_servers else ""
            rxnav = (
                f", RxNav failures answered {c.rxnav_failure_status}"
                if c.rxnav_failure_status
                else ""
            )
            click.echo(f"{c.name}\tmin {c.min_severity}\t{status}{jwt}{fhir}{rxnav}")
    if not rows:
        click.echo("No clients. Create one: flask --app service clients create NAME")


@clients_cli.command("revoke")
@click.argument("name")
def clients_revoke(name: str) -> None:
    """Revoke a client's key at once."""
    with _client_change() as session:
        clients.revoke(session, name, _operator())
    click.echo(f"Revoked client {name}.")


@clients_cli.command("rotate-key")
@click.argument("name")
def clients_rotate_key(name: str) -> None:
    """Give a client a new API key, printed once as the last line; the old key stops working."""
    with _client_change() as session:
        client, key = clients.rotate_key(session, name, _operator())
    click.echo(f"New API key for client {client.name}; the old key no longer works.")
    click.echo("It follows; it is shown only now and cannot be recovered:")
    click.echo(key)


@clients_cli.command("set-min-severity")
@click.argument("name")
@click.argument("level", type=SEVERITY_CHOICE)
def clients_set_min_severity(name: str, level: str) -> None:
    """Set the least severity NAME is shown (ONC 170.315(a)(4)); the change is logged."""
    with _client_change() as session:
        old, new = clients.set_min_severity(session, name, level, _operator())
    click.echo(f"Client {name}: minimum severity {old} -> {new}.")


@clients_cli.command("add-jwk")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--issuer", help="The iss claim this client's JWTs carry (needed the first time).")
def clients_add_jwk(name: str, file: Path, issuer: str | None) -> None:
    """Register the public key(s) in FILE (a JWK or a JWK Set) for NAME's CDS Hooks JWTs."""
    try:
        document = json.loads(file.read_text())
    except ValueError as error:
        raise click.ClickException(f"{file} is not JSON: {error}") from error
    keys = document.get("keys", [document]) if isinstance(document, dict) else []
    with _client_change() as session:
        kids = [clients.add_jwk(session, name, key, issuer, _operator()) for key in keys]
    click.echo(f"Client {name}: added key(s) {', '.join(kids)}.")


@clients_cli.command("set-jwks-url")
@click.argument("name")
@click.argument("url")
@click.option("--issuer", help="The iss claim this client's JWTs carry (needed the first time).")
def clients_set_jwks_url(name: str, url: str, issuer: str | None) -> None:
    """Fetch NAME's signing keys from a JWK Set URL (cached) instead of registering them one by one."""
    with _client_change() as session:
        clients.set_jwks_url(session, name, url, issuer, _operator())
    click.echo(f"Client {name}: keys from {url}.")


@clients_cli.command("add-fhir-server")
@click.argument("name")
@click.argument("url")
def clients_add_fhir_server(name: str, url: str) -> None:
    """Let NAME's CDS requests have the service fetch from the FHIR server at URL (its base URL).

    The service fetches only from registered servers, and only over https unless URL is http.
    """
    with _client_change() as session:
        base = clients.add_fhir_server(session, name, url, _operator())
    warning = "" if base.startswith("https://") else " (http: tokens and data travel unencrypted)"
    click.echo(f"Client {name}: FHIR server {base}{warning}.")


@clients_cli.command("remove-fhir-server")
@click.argument("name")
@click.argument("url")
def clients_remove_fhir_server(name: str, url: str) -> None:
    """Stop fetching from the FHIR server at URL for NAME's CDS requests."""
    with _client_change() as session:
        base = clients.remove_fhir_server(session, name, url, _operator())
    click.echo(f"Client {name}: FHIR server {base} removed.")


def register_commands(app: Flask) -> None:
    app.cli.add_command(db_cli)
    kb_cli.add_command(review_command)
    kb_cli.add_command(impact_command)
    app.cli.add_command(kb_cli)
    app.cli.add_command(clients_cli)
    audit_cli.add_command(audit_export_command)
    audit_cli.add_command(audit_partitions_command)
    audit_cli.add_command(audit_archive_command)
    for transparency_command in TRANSPARENCY_COMMANDS:
        audit_cli.add_command(transparency_command)
    app.cli.add_command(audit_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(check_command)
