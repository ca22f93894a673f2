"""``flask --app service audit partitions``: the logs' months to come, made before they begin."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..appctx import database
from ..db import partitions


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
