"""``audit archive`` writes sealed months to files and ``audit verify --archive`` checks them with
no database at all; unsealed months are refused, and a row changed in the files is named."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from service import checking, create_app
from service.db import Database, sealer, transparency
from service.domain import archive
from service.domain.checkpoint import SigningKey

pytestmark = pytest.mark.both_databases  # the month bounds, the leaves' join and the stream

KEY = SigningKey.generate("test-log")


def _clock(moment: datetime) -> type[datetime]:
    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Clock:
            return cls.fromtimestamp(moment.timestamp(), UTC)

    return Clock


def _checks_on(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, day: datetime, count: int
) -> None:
    with monkeypatch.context() as then:
        then.setattr(checking, "datetime", _clock(day))
        for _ in range(count):
            answer = client.post(
                "/api/v1/checks", json={"medications": ["clonazepam", "oxycodone"]}
            )
            assert answer.status_code == 200


def _seal(app: Flask) -> None:
    db: Database = app.extensions["database"]
    assert sealer.seal(db, transparency.ALERT_LOG, KEY, sealer.origin_of("test", "alert_log"))


@pytest.fixture()
def sealed_autumn(client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three checks in October and two in November, each month sealed, then two checks today."""
    _checks_on(client, monkeypatch, datetime(2026, 10, 15, 9, tzinfo=UTC), 3)
    _seal(app)
    _checks_on(client, monkeypatch, datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), 2)
    _seal(app)
    _checks_on(client, monkeypatch, datetime.now(UTC), 2)
    _seal(app)


def _archive(app: Flask, output: Path) -> Any:
    return app.test_cli_runner().invoke(
        args=["audit", "archive", "--before", "2026-12", "--output", str(output)]
    )


def _verify_offline(output: Path) -> Any:
    """Run by an app whose database does not exist: the archive alone is read."""
    offline = create_app({"TESTING": True, "DATABASE_URL": "sqlite:////nonexistent/none.db"})
    return offline.test_cli_runner().invoke(
        args=["audit", "verify", "--archive", str(output), "--public-key", KEY.verifier_text()]
    )


def test_archived_months_verify_offline(app: Flask, sealed_autumn: None, tmp_path: Path) -> None:
    written = _archive(app, tmp_path)
    assert written.exit_code == 0, written.output
    assert "alert_log 2026-10: 3 rows" in written.output
    assert "alert_log 2026-11: 2 rows" in written.output
    verified = _verify_offline(tmp_path)
    assert verified.exit_code == 0, verified.output
    assert "alert_log 2026-10: 3 rows against checkpoint 3; OK" in verified.output
    assert "alert_log 2026-11: 2 rows against checkpoint 5; OK" in verified.output


def test_a_row_changed_in_the_archive_is_named(
    app: Flask, sealed_autumn: None, tmp_path: Path
) -> None:
    assert _archive(app, tmp_path).exit_code == 0
    rows = tmp_path / "alert_log" / "2026-11" / archive.ROWS
    lines = rows.read_bytes().splitlines()
    lines[1] = lines[1].replace(b'"complete":true', b'"complete":false')
    rows.write_bytes(b"".join(line + b"\n" for line in lines))
    verified = _verify_offline(tmp_path)
    assert verified.exit_code == 1
    assert "alert_log 2026-10: 3 rows against checkpoint 3; OK" in verified.output
    assert "(leaf 4) does not hash to its leaf: it was altered" in verified.output


def test_a_month_with_unsealed_rows_is_refused(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _checks_on(client, monkeypatch, datetime(2026, 10, 15, 9, tzinfo=UTC), 2)
    refused = _archive(app, tmp_path)
    assert refused.exit_code == 1
    assert "alert_log 2026-10: 2 rows are not sealed yet" in refused.output


def test_the_month_under_way_cannot_be_archived(app: Flask, tmp_path: Path) -> None:
    next_year = f"{datetime.now(UTC).year + 1}-01"
    refused = app.test_cli_runner().invoke(
        args=["audit", "archive", "--before", next_year, "--output", str(tmp_path)]
    )
    assert refused.exit_code == 2 and "not over yet" in refused.output


def _detach_october_and_november(connection: Connection) -> None:
    """What the operator does once the months are archived (README: retention)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE alert_log DETACH PARTITION alert_log_2026_10"))
        connection.execute(text("ALTER TABLE alert_log DETACH PARTITION alert_log_2026_11"))
    else:  # SQLite has no partitions (nor append-only triggers): the rows are deleted
        connection.execute(text("DELETE FROM alert_log WHERE created_at < '2026-12-01'"))


@pytest.fixture()
def autumn_partitions(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        for month in ("2026-10-01", "2026-11-01"):
            connection.execute(
                text("SELECT create_log_partition('alert_log', CAST(:m AS date))"), {"m": month}
            )


def test_after_the_archived_months_are_detached_the_live_log_still_verifies(
    app: Flask, connection: Connection, autumn_partitions: None, sealed_autumn: None, tmp_path: Path
) -> None:
    assert _archive(app, tmp_path).exit_code == 0
    _detach_october_and_november(connection)
    assert connection.scalar(text("SELECT count(*) FROM alert_log")) == 2
    verified = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "alert_log: 7 sealed entries verified" in verified.output
    assert _verify_offline(tmp_path).exit_code == 0


def test_rows_gone_without_an_archive_fail_the_live_verification(
    app: Flask, connection: Connection, autumn_partitions: None, sealed_autumn: None
) -> None:
    _detach_october_and_november(connection)
    verified = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 1
    assert "entry" in verified.output and "it was deleted" in verified.output
