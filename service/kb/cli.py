"""``kb review`` and ``kb impact``: what a pharmacist reads before activating a staged version."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from ..appctx import database, snapshots
from ..db import kb_store, kb_versions, logged_checks
from ..db.models import KbVersion
from . import impact, review

FORMAT = click.option(
    "--format",
    "output",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
)
DAYS = 30


@click.command("review")
@with_appcontext
@click.argument("version", required=False)
@click.option("--against", help="The version to compare with (default: the active one).")
@FORMAT
def review_command(version: str | None, against: str | None, output: str) -> None:
    """Report VERSION (default: the newest staged, else the active) for sign-off."""
    with database().unit_of_work(read_only=True) as session:
        reviewed = _version(session, version)
        previous = (
            _version(session, against) if against else kb_versions.compared_with(session, reviewed)
        )
        report = review.build_review(
            reviewed.id,
            kb_store.load(session, reviewed.id),
            (previous.id, kb_store.load(session, previous.id)) if previous else None,
        )
    click.echo(review.to_json(report) if output == "json" else review.to_markdown(report))


@click.command("impact")
@with_appcontext
@click.argument("version", required=False)
@click.option(
    "--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day (default: 30 days ago)."
)
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day (default: today).")
@click.option(
    "--baseline",
    type=click.Choice(["answered", "active"]),
    default="answered",
    show_default=True,
    help="Compare with the version each check was answered with, or with the active one.",
)
@FORMAT
def impact_command(
    version: str | None,
    start: datetime | None,
    end: datetime | None,
    baseline: str,
    output: str,
) -> None:
    """Re-evaluate a period's logged checks (UTC days, both included) against VERSION."""
    last = end.date() if end else datetime.now(UTC).date()
    first = start.date() if start else last - timedelta(days=DAYS - 1)
    if first > last:
        raise click.BadParameter(f"{first} is after {last}.", param_hint="'--from'")
    cache = snapshots()
    tally = impact.Tally()
    with database().unit_of_work(read_only=True) as session:
        candidate = cache.for_version(session, _version(session, version).id)
        active = kb_store.active_version_id(session) if baseline == "active" else None
        if baseline == "active" and active is None:
            raise click.ClickException("No knowledge base is active to compare with.")
        for version_id, inputs, medications in logged_checks.asked(
            session, _midnight(first), _midnight(last + timedelta(days=1))
        ):
            logged = impact.logged_check(version_id, inputs, medications)
            if logged is None:
                tally.skip_lookup()
                continue
            tally.add(logged, cache.for_version(session, active or logged.kb_version), candidate)
    report = tally.report(candidate.version, active or "answered", str(first), str(last))
    click.echo(impact.to_json(report) if output == "json" else impact.to_markdown(report))


def _version(session: Session, prefix: str | None) -> KbVersion:
    """The version an operator named, or the one under review; a clear error, never a trace."""
    try:
        found = kb_versions.by_prefix(session, prefix) if prefix else kb_versions.to_review(session)
    except kb_versions.VersionNotFound as error:
        raise click.ClickException(str(error)) from error
    if found is None:
        raise click.ClickException("No knowledge base is loaded. Run: flask --app service kb load")
    return found


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)
