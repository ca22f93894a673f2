"""``audit verify`` on a long log reads stretches of leaves in worker processes: the same findings
as one walk, including where a stretch ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from service.db import Database, sealer, transparency, verify
from service.domain.checkpoint import SigningKey

from .. import factories
from ..conftest import migrate

# Worker processes open the database themselves (they cannot see a test's uncommitted rows), and
# spawning them takes seconds.
pytestmark = [pytest.mark.both_databases, pytest.mark.slow]

KEY = SigningKey.generate("parallel-test")
ORIGIN = sealer.origin_of("parallel.test", transparency.AUDIT_EVENT)
ENTRIES = 30
WORKERS = 3  # stretches of leaves 0..9, 10..19, 20..29


@pytest.fixture()
def events(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """Thirty sealed security events, committed, in a database of their own."""
    monkeypatch.setattr(verify, "PARALLEL_FROM", 1)
    migrate(empty_database_url)
    db = Database.from_url(empty_database_url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with db.unit_of_work() as session:
        factories.bind(session)
        for n in range(ENTRIES):
            factories.AuditEventFactory(
                created_at=start + timedelta(minutes=n), actor=f"user-{n}", action="test.step",
                target=f"t{n}", details={"n": n, "note": "ü"},
            )  # fmt: skip
        session.commit()
    assert sealer.seal(db, transparency.AUDIT_EVENT, KEY, ORIGIN) is not None
    yield db
    db.dispose()


def _tamper(db: Database, sql: str) -> None:
    with db.transaction() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(sql))


def _findings(db: Database) -> list[str]:
    report = verify.verify_log(
        db, transparency.AUDIT_EVENT, KEY.verifier(), ORIGIN, max_unsealed_age=60, workers=WORKERS
    )
    assert report.tree_size == ENTRIES
    return [f.line() for f in report.findings]


def test_an_untouched_log_passes_in_stretches(events: Database) -> None:
    assert _findings(events) == []


def test_findings_at_the_ends_of_stretches_are_the_same_as_in_one_walk(events: Database) -> None:
    with events.transaction(read_only=True) as connection:
        seqs = [seq for (seq,) in connection.execute(text(
            "SELECT entry_seq FROM tlog_leaf WHERE log = 'audit_event' ORDER BY leaf_index"
        ))]  # fmt: skip
    _tamper(events, f"UPDATE audit_event SET actor = 'x' WHERE seq = {seqs[9]}")
    _tamper(events, f"UPDATE audit_event SET target = 'x' WHERE seq = {seqs[10]}")
    _tamper(events, "DELETE FROM tlog_leaf WHERE log = 'audit_event' AND leaf_index = 20")
    found = _findings(events)
    assert found[:3] == [
        f"audit_event: FAIL [entry {seqs[9]}, leaf 9]: this entry does not match its leaf: "
        "it was modified after sealing",
        f"audit_event: FAIL [entry {seqs[10]}, leaf 10]: this entry does not match its leaf: "
        "it was modified after sealing",
        "audit_event: FAIL [leaf 20]: leaves 20..20 are missing: sealed leaves were deleted",
    ]
    # The tree cannot be rebuilt past the missing leaf: the checkpoint of 30 is not confirmed.
    assert any("disagrees with checkpoint stored 30: leaves 0..29" in f for f in found)
    assert any("not sealed after" in f and f"entry {seqs[20]}" in f for f in found)
