"""Exports: the filtered view as CSV or JSON Lines, streamed in chunks, each one recorded."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Generator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit import export
from service.db.models import AuditEvent

from ..factories import AuditEventFactory
from .conftest import Log, exported_as_sealed

pytestmark = pytest.mark.both_databases  # audit queries


def _events(session: Session, action: str = "audit.export") -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.scalars(select(AuditEvent).filter_by(action=action).order_by(AuditEvent.seq))
    )


def test_the_csv_export_holds_the_filtered_checks_in_log_order(
    auditor: FlaskClient, log: Log
) -> None:
    response = auditor.get("/audit/export.csv?channel=cds-hooks&sort=client")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="alert-log-')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    want = [s for s in log.specs if s.channel == "cds-hooks"]
    assert [r["check_id"] for r in rows] == [s.id for s in want]
    first, spec = rows[0], want[0]
    assert list(first) == list(export.CHECK_CSV_COLUMNS)
    assert first["client"] == (spec.client or "") and first["highest_severity"] == (
        spec.highest or ""
    )
    assert first["alerts"] == str(len(spec.alerts))
    assert first["rules"] == ";".join(sorted({a.rule for a in spec.alerts}))


def test_a_jsonl_export_can_be_verified_outside_the_system(
    auditor: FlaskClient, session: Session, log: Log
) -> None:
    response = auditor.get("/audit/export.jsonl")
    assert response.is_streamed and response.mimetype == "application/jsonl"
    records = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [r["id"] for r in records] == [s.id for s in log.specs]
    for record in records:
        # Everything a leaf covers is in the export, in the leaves' canonical form.
        assert exported_as_sealed(session, record)


def test_each_export_is_recorded_with_who_what_filters_and_rows(
    auditor: FlaskClient, session: Session, log: Log
) -> None:
    auditor.get("/audit/export.csv?severity=major&from=2026-01-06").get_data()
    (event,) = _events(session)
    want = sum(1 for s in log.specs if s.highest == "major" and s.created_at.day >= 6)
    assert (event.actor, event.target, event.outcome) == ("user:avery", "alert_log", "success")
    assert event.details == {
        "format": "csv",
        "filters": {"severity": "major", "from": "2026-01-06"},
        "rows": want,
        "complete": True,
    }


def test_an_abandoned_download_is_recorded_as_incomplete(
    app: Flask, session: Session, log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "CHUNK_CHARS", 200)
    from service.appctx import database
    from service.audit.filters import parse_check_filters

    with app.app_context():
        chunks = export.stream(
            database(), export.Export("checks", "csv", parse_check_filters({}), "user:avery")
        )
        assert isinstance(chunks, Generator)  # so that it can be closed
        next(chunks)
        chunks.close()  # the browser went away
    (event,) = _events(session)
    assert event.outcome == "failure" and event.details["complete"] is False


def test_an_export_streams_in_chunks_as_it_reads(
    auditor: FlaskClient, log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "CHUNK_CHARS", 1_000)
    monkeypatch.setattr(export, "BATCH", 5)
    response = auditor.get("/audit/export.jsonl")
    chunks = list(response.response)  # the body as the server hands it out, piece by piece
    assert len(chunks) > 5
    assert sum(c.count(b"\n") for c in chunks) == len(log.specs)


def test_the_events_view_exports_too(auditor: FlaskClient, session: Session) -> None:
    AuditEventFactory(actor="cli:ops", action="client.create", target="north")
    AuditEventFactory(actor="cli:ops", action="kb.load", target="abc")
    session.commit()
    response = auditor.get("/audit/events/export.csv?action=client")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["action"], r["target"]) for r in rows] == [("client.create", "north")]
    assert _events(session)[-1].target == "audit_event"


def test_cells_a_spreadsheet_would_run_as_formulas_are_defused(
    auditor: FlaskClient, session: Session
) -> None:
    AuditEventFactory(actor='=HYPERLINK("http://evil")', action="client.create", target="+1")
    session.commit()
    rows = list(
        csv.DictReader(io.StringIO(auditor.get("/audit/events/export.csv").get_data(as_text=True)))
    )
    assert rows[0]["actor"].startswith("'=") and rows[0]["target"] == "'+1"


def test_an_unknown_format_is_not_found(auditor: FlaskClient, log: Log) -> None:
    assert auditor.get("/audit/export.xlsx").status_code == 404


def test_the_cli_exports_to_standard_output_by_default(
    app: Flask, session: Session, log: Log
) -> None:
    result = app.test_cli_runner().invoke(
        args=["audit", "export", "--format", "csv", "--channel", "api", "--from", "2026-01-05"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["check_id"] for r in rows] == [s.id for s in log.specs if s.channel == "api"]
    (event,) = _events(session)
    assert event.actor.startswith("cli:") and event.details["filters"] == {
        "channel": "api",
        "from": "2026-01-05",
    }


def test_the_cli_writes_a_file_and_reports_the_rows(
    app: Flask, session: Session, log: Log, tmp_path: Path
) -> None:
    target = tmp_path / "export.jsonl"
    result = app.test_cli_runner().invoke(
        args=["audit", "export", "--format", "jsonl", "--rule", "R1", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    want = [s.id for s in log.specs if any(a.rule == "R1" for a in s.alerts)]
    assert [json.loads(line)["id"] for line in target.read_text().splitlines()] == want
    assert f"Wrote {len(want)} rows" in result.output
    assert _events(session)[0].details["rows"] == len(want)


def test_the_cli_exports_security_events(app: Flask, session: Session) -> None:
    AuditEventFactory(actor="cli:ops", action="kb.load", target="abc")
    session.commit()
    result = app.test_cli_runner().invoke(
        args=["audit", "export", "--log", "events", "--format", "jsonl", "--action", "kb"]
    )
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["target"] for line in result.stdout.splitlines()] == ["abc"]


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "csv", "--from", "soon"],
        ["--format", "csv", "--log", "events", "--rule", "R1"],
        ["--format", "xml"],
    ],
)
def test_the_cli_refuses_what_it_does_not_understand(app: Flask, args: list[str]) -> None:
    result = app.test_cli_runner().invoke(args=["audit", "export", *args])
    assert result.exit_code == 2
