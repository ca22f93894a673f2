"""Retention commands: the logs' months to come made ahead (``audit partitions``), sealed months
written to files (``audit archive``), and those files checked offline (``audit verify --archive``)."""

from __future__ import annotations

import getpass
from datetime import UTC, date, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..appctx import database
from ..db import archive, events, partitions, transparency
from ..domain import archive as archive_files
from ..domain.checkpoint import VerifierKey
from ..sealing import MissingSigningKey, signing_key


@click.command("partitions")
@click.option(
    "--months-ahead",
    type=click.IntRange(0, 12),
    default=partitions.MONTHS_AHEAD,
    show_default=True,
    help="Make partitions for this month and this many after it.",
)
@with_appcontext
def partitions_command(months_ahead: int) -> None:
    """Make the logs' missing monthly partitions (PostgreSQL; nothing to do on SQLite)."""
    with database().unit_of_work() as session:
        connection = session.connection()
        made = partitions.ensure(connection, months_ahead)
        session.commit()
    if connection.dialect.name != "postgresql":
        click.echo("SQLite keeps the logs in plain tables: no partitions to make.")
    elif made:
        click.echo(f"Made {len(made)} partitions: {', '.join(made)}.")
    else:
        click.echo(f"Every partition up to {months_ahead} months ahead exists already.")


def _month(_context: click.Context, _parameter: click.Parameter, value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not a month written YYYY-MM") from error


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


@click.command("archive")
@click.option(
    "--before", required=True, callback=_month, metavar="YYYY-MM", help="First month kept."
)
@click.option(
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder receiving <log>/<YYYY-MM>/ for each month.",
)
@with_appcontext
def archive_command(before: date, output: Path) -> None:
    """Write every sealed month before BEFORE of both logs to files checkable offline."""
    this_month = datetime.now(UTC).date().replace(day=1)
    if before > this_month:
        raise click.UsageError("--before cannot be later than this month: it is not over yet")
    written: list[archive.Archived] = []
    for log in transparency.LOGS:
        with database().transaction(read_only=True) as connection:
            month = archive.first_month(connection, log)
        while month is not None and month < before:
            try:
                with database().transaction(read_only=True) as connection:
                    done = archive.archive_month(connection, log, month, output)
            except archive.NotArchivable as refused:
                raise click.ClickException(str(refused)) from refused
            if done is not None:
                with database().transaction() as connection:
                    archive.record(connection, done)
                written.append(done)
                click.echo(
                    f"{done.log} {done.month}: {done.rows} rows, leaves from {done.first_leaf} "
                    f"to checkpoint {done.tree_size}, in {done.folder}"
                )
            month = _next(month)
    with database().unit_of_work() as session:
        events.record_event(
            session,
            actor=f"cli:{getpass.getuser()}",
            action="audit.archive",
            target=str(output),
            details={
                "before": f"{before:%Y-%m}",
                "months": [f"{a.log} {a.month}" for a in written],
            },
        )
        session.commit()
    if not written:
        click.echo(f"No rows before {before:%Y-%m}: nothing to archive.")


def verifier_key(given: str | None) -> VerifierKey:
    """``--public-key`` (the key's text or a file holding it), else AUDIT_PUBLIC_KEY, else the
    verifier of the service's own signing key."""
    text = given or current_app.config.get("AUDIT_PUBLIC_KEY") or ""
    if text and Path(text).is_file():
        text = Path(text).read_text()
    try:
        return (
            VerifierKey.from_text(text.strip())
            if text
            else signing_key(current_app.config).verifier()
        )
    except MissingSigningKey as missing:
        raise click.UsageError(
            f"give the checkpoints' public key with --public-key or AUDIT_PUBLIC_KEY ({missing})"
        ) from missing
    except ValueError as error:
        raise click.UsageError(f"not a verifier key: {error}") from error


def verify_archive(folder: Path, key: VerifierKey) -> bool:
    """Check every archived month under ``folder`` from its files alone; print what was found."""
    months = archive_files.month_folders(folder)
    if not months:
        raise click.UsageError(f"{folder} holds no archived month ({archive_files.MANIFEST})")
    intact = True
    for month in months:
        report = archive_files.verify_month(month, key)
        status = "OK" if report.ok else f"BROKEN ({len(report.problems)} problems)"
        click.echo(
            f"{report.log} {report.month}: {report.rows} rows against checkpoint "
            f"{report.tree_size}; {status}"
        )
        for problem in report.problems:
            click.echo(f"  {problem}")
        intact = intact and report.ok
    return intact
