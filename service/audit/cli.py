"""``flask --app service audit …``: the filtered, streamed export of the pages, for scripts; and the
transparency log's commands (seal, checkpoint, public-key, keygen)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..appctx import database
from ..db import logged_alerts, transparency
from ..domain.checkpoint import SigningKey
from ..sealing import (
    EXPORT_TIMEOUT,
    Exporter,
    MissingSigningKey,
    SealerThread,
    Sealing,
    seal_all,
)
from .export import FORMATS, Export, Log, stream
from .filters import (
    CHANNELS,
    CHECK_FILTER_NAMES,
    EVENT_FILTER_NAMES,
    SEVERITIES,
    CheckFilters,
    EventFilters,
    FilterError,
    parse_event_filters,
)
from .resolve import read_check_filters


@click.command("export")
@click.option("--from", "start", metavar="DATE", help="First day (or UTC time) included.")
@click.option("--to", "end", metavar="DATE", help="Last day included (a UTC time: excluded).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True)
@click.option(
    "--log",
    type=click.Choice(["checks", "events"]),
    default="checks",
    show_default=True,
    help="The check log (alert_log) or the security events (audit_event).",
)
@click.option("--channel", type=click.Choice(CHANNELS))
@click.option("--client", help="An API client's name or id.")
@click.option("--severity", type=click.Choice(SEVERITIES), help="The check's highest severity.")
@click.option("--alert-severity", type=click.Choice(SEVERITIES), help="Any alert of this severity.")
@click.option("--rule", help="A rule code, such as R1.")
@click.option(
    "--ingredient", help="Medicines named in an alert, comma-separated: oxycodone, alcohol, Xanax."
)
@click.option("--outcome", help="Checks: accepted, overridden or none. Events: success or failure.")
@click.option("--patient-ref", help="A patient reference (the keyed hash, not the identifier).")
@click.option("--actor", help="Events: part of the actor.")
@click.option("--action", help="Events: an action or a family of actions (cds.feedback).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to FILE (with a progress bar) instead of standard output.",
)
@with_appcontext
def export_command(
    start: str | None,
    end: str | None,
    fmt: str,
    log: Log,
    output: Path | None,
    **options: str | None,
) -> None:
    """Export the filtered log as CSV or JSON Lines (everything when no dates are given)."""
    args = {"from": start, "to": end, **options}
    given = {k: v for k, v in args.items() if v}
    names = CHECK_FILTER_NAMES if log == "checks" else EVENT_FILTER_NAMES
    if unused := sorted(set(given) - set(names)):
        options_text = ", ".join("--" + u.replace("_", "-") for u in unused)
        raise click.UsageError(f"{options_text} do(es) not apply to the {log} log.")
    try:
        filters: CheckFilters | EventFilters = (
            read_check_filters(given) if log == "checks" else parse_event_filters(given)
        )
    except FilterError as error:
        raise click.UsageError(str(error)) from error
    export = Export(log, "csv" if fmt == "csv" else "jsonl", filters, f"cli:{getpass.getuser()}")
    logged_alerts.catch_up(database())
    if output is None:
        for chunk in stream(database(), export):
            sys.stdout.write(chunk)
        sys.stdout.flush()
        return
    with database().unit_of_work(read_only=True) as session:
        total = export.count(session)
    written = 0
    with (
        output.open("w", encoding="utf-8", newline="") as file,
        click.progressbar(
            length=total, label="Exporting", show_pos=True, show_percent=True, file=sys.stderr
        ) as bar,
    ):

        def advance(rows: int) -> None:
            nonlocal written
            written += rows
            bar.update(rows)

        for chunk in stream(database(), export, progress=advance):
            file.write(chunk)
    click.echo(f"Wrote {written} rows to {output}.", err=True)


@click.command("seal")
@click.option("--once", is_flag=True, help="Seal what is committed now, export, and exit.")
@with_appcontext
def seal_command(once: bool) -> None:
    """Seal the logs into their Merkle trees and sign checkpoints (every SEAL_INTERVAL seconds).

    gunicorn's workers already do this; run it for a server without them, or to catch up now.
    """
    sealing = _sealing()
    exporter = Exporter(sealing.export) if sealing.export else None
    if not once:
        thread = SealerThread(sealing, current_app.config["SEAL_INTERVAL"])
        click.echo(f"Sealing every {thread.interval:g} s; stop with Ctrl-C.")
        thread.run()  # in this thread: Ctrl-C ends it
        return
    for result in seal_all(sealing, exporter):
        click.echo(f"{result.log}: leaves {result.first_index}..{result.tree_size - 1} sealed")
    if exporter is not None and not exporter.flush(EXPORT_TIMEOUT * 2):
        click.echo("Warning: a checkpoint could not be exported in time", err=True)


@click.command("checkpoint")
@click.option(
    "--log",
    "log_name",
    type=click.Choice(transparency.LOGS),
    default=transparency.ALERT_LOG,
    show_default=True,
)
@with_appcontext
def checkpoint_command(log_name: str) -> None:
    """Print the log's latest signed checkpoint (a C2SP signed note), to keep outside this system."""
    with database().transaction(read_only=True) as connection:
        latest = transparency.latest_checkpoint(connection, log_name)
    if latest is None:
        raise click.ClickException(f"{log_name} has no checkpoint yet: run `audit seal --once`")
    click.echo(latest.note, nl=False)


@click.command("public-key")
@with_appcontext
def public_key_command() -> None:
    """Print the verifier key of the checkpoints' signing key, for whoever checks them."""
    click.echo(_sealing().key.verifier_text())


@click.command("keygen")
@click.argument("name")
def keygen_command(name: str) -> None:
    """Print a new signing key named NAME; store it as AUDIT_SIGNING_KEY(_FILE), never in the database."""
    try:
        key = SigningKey.generate(name)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    click.echo(key.text())


def _sealing() -> Sealing:
    try:
        return Sealing.from_config(database(), current_app.config)
    except MissingSigningKey as missing:
        raise click.ClickException(str(missing)) from missing


TRANSPARENCY_COMMANDS = (seal_command, checkpoint_command, public_key_command, keygen_command)
