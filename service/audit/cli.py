"""``flask --app service audit …``: the filtered, streamed export of the pages, for scripts; and the
transparency log's commands (seal, checkpoint, public-key, keygen, verify)."""

from __future__ import annotations

import base64
import getpass
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from ..appctx import database
from ..db import events, logged_alerts, transparency, verify
from ..db.sealer import origin_of
from ..domain.checkpoint import SigningKey, VerifierKey
from ..sealing import (
    EXPORT_TIMEOUT,
    Exporter,
    MissingSigningKey,
    SealerThread,
    Sealing,
    log_origin,
    seal_all,
    signing_key,
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
from .retention_cli import verify_archive


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


@click.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A signed checkpoint kept outside this system (repeatable): the log must agree with it.",
)
@click.option(
    "--archive",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Check the months `audit archive` wrote to this folder instead, offline: no database is read.",
)
@click.option(
    "--public-key",
    help="The verifier key (`audit public-key` prints it) or a file holding it; default: "
    "AUDIT_PUBLIC_KEY, else the configured signing key's.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="the number of CPUs",
    help="Processes that check stretches of a long log side by side.",
)
@with_appcontext
def verify_command(
    checkpoint_files: tuple[Path, ...], archive: Path | None, public_key: str | None, workers: int
) -> None:
    """Rebuild both logs' trees from their entries and check them against signed checkpoints.

    Exits 1 when an entry, leaf, subtree or checkpoint was tampered with, a checkpoint is missing
    its leaves, or an entry stayed unsealed longer than UNSEALED_MAX_AGE.
    """
    config = current_app.config
    verifier = _verifier(public_key, config)
    if archive is not None:
        if verifier is None:
            raise click.UsageError(
                "archived months are checked against their signed checkpoints: give --public-key "
                "or AUDIT_PUBLIC_KEY"
            )
        sys.exit(0 if verify_archive(archive, verifier) else 1)
    if verifier is None:
        if checkpoint_files:
            raise click.UsageError(
                "held checkpoints need the verifier key: give --public-key, or configure the "
                "signing key (AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE)"
            )
        click.echo(
            "Warning: no verifier key (--public-key or the configured signing key): "
            "no checkpoint is checked, only the leaves against their entries",
            err=True,
        )
    base = log_origin(config)
    origins = {origin_of(base, log): log for log in transparency.LOGS}
    notes = [(str(path), path.read_text(encoding="utf-8")) for path in checkpoint_files]
    held, problems = (
        verify.open_held(verifier, notes, origins)
        if verifier is not None
        else ({log: [] for log in transparency.LOGS}, [])
    )
    for problem in problems:
        click.echo(f"FAIL: {problem}")
    reports = [
        verify.verify_log(
            database(),
            log,
            verifier,
            origin,
            held[log],
            max_unsealed_age=config["UNSEALED_MAX_AGE"],
            workers=workers,
        )
        for origin, log in origins.items()
    ]
    for report in reports:
        for finding in report.findings:
            click.echo(finding.line())
        unsealed = (
            f"{report.unsealed} not sealed yet (oldest {report.oldest_unsealed_age:.1f} s)"
            if report.oldest_unsealed_age is not None
            else "all sealed"
        )
        click.echo(
            f"{report.log}: {report.tree_size} leaves, root {_b64(report.root)}; "
            f"{len(report.checkpoints_matched)} checkpoints matched ({len(held[report.log])} held); "
            f"{unsealed}; {'OK' if report.ok else 'FAILED'}"
        )
    ok = not problems and all(r.ok for r in reports)
    _record_verification(reports, problems, ok)
    if not ok:
        sys.exit(1)


def _verifier(public_key: str | None, config: Mapping[str, Any]) -> VerifierKey | None:
    """The key checkpoints are checked with: given (its text or a file holding it), else
    AUDIT_PUBLIC_KEY, else the configured signing key's, else none."""
    text = public_key or config.get("AUDIT_PUBLIC_KEY") or ""
    if text and Path(text).is_file():
        text = Path(text).read_text(encoding="utf-8")
    try:
        if text:
            return VerifierKey.from_text(text.strip())
        return signing_key(config).verifier()
    except MissingSigningKey:
        return None
    except ValueError as error:
        raise click.UsageError(f"the verifier key cannot be read: {error}") from error


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _record_verification(reports: list[verify.LogReport], problems: list[str], ok: bool) -> None:
    """The run as an audit event (the auditors' pages show the latest); its absence is a warning."""
    details: dict[str, Any] = {
        r.log: {
            "entries": r.tree_size,
            "head": _b64(r.root),
            "checkpoints_matched": len(r.checkpoints_matched),
            "unsealed": r.unsealed,
            "first_broken": (r.first_failure.seq if r.first_failure else None),
            "problem": (r.first_failure.text if r.first_failure else None),
        }
        for r in reports
    }
    if problems:
        details["held_checkpoints"] = problems
    try:
        with database().unit_of_work() as session:
            events.record_event(
                session,
                actor=f"cli:{getpass.getuser()}",
                action="audit.verify",
                target="logs",
                outcome="success" if ok else "failure",
                details=details,
            )
            session.commit()
    except SQLAlchemyError as error:
        # The exit status answers "are the logs intact?", which the checks above have answered.
        click.echo(
            "Warning: the verification could not be recorded as an audit event "
            f"({str(error).splitlines()[0]})",
            err=True,
        )


TRANSPARENCY_COMMANDS = (
    seal_command, checkpoint_command, public_key_command, keygen_command, verify_command,
)  # fmt: skip
