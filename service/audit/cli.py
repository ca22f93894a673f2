"""``flask --app service audit export``: the same filtered, streamed export as the pages, for scripts."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..appctx import database
from ..db import logged_alerts
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
