"""The sealer: committed log entries become leaves of their log's Merkle tree, once each, in a
tree whose stored nodes give the reference root, under checkpoints the public key verifies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.db import Database, log_append, make_engine, sealer, transparency
from service.db.models import AlertLog
from service.domain import merkle
from service.domain.checkpoint import SigningKey, VerifierKey
from service.observability import metrics
from service.sealing import Exporter, Sealing, export_checkpoint, seal_all

from ..conftest import migrate
from ..factories import AuditEventFactory

pytestmark = pytest.mark.both_databases  # locks, sequences and out-of-order commits differ

KEY = SigningKey.generate("test-log")
VERIFIER = VerifierKey.from_text(KEY.verifier_text())
ORIGIN = "alerts.test"


def _write_checks(client: FlaskClient, count: int) -> None:
    for n in range(count):
        meds = ["clonazepam", "oxycodone"] if n % 2 else ["alcohol", "zolpidem"]
        assert client.post("/api/v1/checks", json={"medications": meds}).status_code == 200


def _db(app: Flask) -> Database:
    db: Database = app.extensions["database"]
    return db


def _seal(db: Database, log: str = transparency.ALERT_LOG) -> sealer.SealResult | None:
    return sealer.seal(db, log, KEY, sealer.origin_of(ORIGIN, log))


def _expected_leaves(connection: Connection, log: str, seqs: list[int]) -> list[bytes]:
    """The leaf hashes recomputed from the entries themselves, in the order given."""
    model = transparency.MODELS[log]
    fields = transparency.FIELDS[log]
    rows = {
        row.seq: row
        for row in connection.execute(select(model.seq, *(getattr(model, f) for f in fields)))
    }
    return [
        merkle.leaf_hash(
            transparency.leaf_bytes(log, seq, {f: getattr(rows[seq], f) for f in fields})
        )
        for seq in seqs
    ]


def _leaves(connection: Connection, log: str) -> list[tuple[int, bytes]]:
    rows = connection.execute(
        text("SELECT entry_seq, hash FROM tlog_leaf WHERE log = :log ORDER BY leaf_index"),
        {"log": log},
    )
    return [(seq, bytes(digest)) for seq, digest in rows]


def _assert_tree_sound(connection: Connection, log: str) -> list[int]:
    """Every entry sealed once; the stored nodes and every checkpoint agree with the leaves."""
    leaves = _leaves(connection, log)
    seqs = [seq for seq, _ in leaves]
    model = transparency.MODELS[log]
    assert sorted(seqs) == sorted(connection.execute(select(model.seq)).scalars())
    hashes = [digest for _, digest in leaves]
    assert hashes == _expected_leaves(connection, log, seqs)
    frontier = transparency.frontier_hashes(connection, log, len(hashes))
    assert merkle.root_from_frontier(frontier) == merkle.root(hashes)
    notes = connection.execute(
        text("SELECT tree_size, root_hash, note FROM tlog_checkpoint WHERE log = :log"),
        {"log": log},
    ).all()
    for size, root_hash, note in notes:
        checkpoint = VERIFIER.open(note)
        assert (checkpoint.origin, checkpoint.size) == (f"{ORIGIN}/{log}", size)
        assert checkpoint.root == bytes(root_hash) == merkle.root(hashes[:size])
    return seqs


def test_rows_are_sealed_in_order_under_a_checkpoint_the_public_key_verifies(
    app: Flask, client: FlaskClient, connection: Connection
) -> None:
    before = transparency.tree_size(connection, transparency.ALERT_LOG)
    _write_checks(client, 5)
    first = _seal(_db(app))
    assert first is not None and (first.first_index, first.tree_size) == (before, before + 5)
    assert _seal(_db(app)) is None  # nothing new: no second checkpoint, nothing sealed twice
    _write_checks(client, 3)
    second = _seal(_db(app))
    assert second is not None and (second.first_index, second.tree_size) == (before + 5, before + 8)
    seqs = _assert_tree_sound(connection, transparency.ALERT_LOG)
    assert seqs[before:] == sorted(seqs[before:])  # committed in order: sealed in seq order
    latest = transparency.latest_checkpoint(connection, transparency.ALERT_LOG)
    assert latest is not None and latest.note == second.note
    assert VERIFIER.open(second.note).size == before + 8


def test_the_security_events_are_sealed_into_a_tree_of_their_own(
    app: Flask, session: Session, connection: Connection
) -> None:
    for _ in range(3):
        AuditEventFactory()
    session.commit()
    sealed = seal_all(Sealing(_db(app), KEY, ORIGIN))
    assert transparency.AUDIT_EVENT in {r.log for r in sealed}
    _assert_tree_sound(connection, transparency.AUDIT_EVENT)


def test_sealing_records_each_entrys_lag_from_commit(app: Flask, client: FlaskClient) -> None:
    def sealed_count() -> float:
        for family in metrics.SEAL_LAG_SECONDS.collect():
            for sample in family.samples:
                if sample.name.endswith("_count") and sample.labels["log"] == "alert_log":
                    return sample.value
        return 0.0

    before = sealed_count()
    _write_checks(client, 2)
    assert _seal(_db(app)) is not None
    assert sealed_count() == before + 2


def _as_dba(connection: Connection) -> None:
    """Tampering below the application, as a superuser who bypasses the append-only triggers."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL session_replication_role = replica"))


def test_verify_recomputes_the_sealed_leaves_and_names_an_edited_or_deleted_entry(
    app: Flask, client: FlaskClient, connection: Connection
) -> None:
    _write_checks(client, 4)
    assert _seal(_db(app)) is not None
    runner = app.test_cli_runner()
    good = runner.invoke(args=["audit", "verify"])
    assert good.exit_code == 0 and "alert_log:" in good.output and "OK" in good.output
    seqs = [seq for seq, _ in _leaves(connection, transparency.ALERT_LOG)]
    _as_dba(connection)
    with connection.begin_nested() as edit:
        connection.execute(
            text("UPDATE alert_log SET channel = 'web' WHERE seq = :s"), {"s": seqs[-2]}
        )
        found = transparency.verify_leaves(connection, transparency.ALERT_LOG)
        assert found.first_broken == seqs[-2] and "modified" in (found.problem or "")
        edit.rollback()
    with connection.begin_nested() as deletion:
        connection.execute(text("DELETE FROM logged_alert"))
        connection.execute(text("DELETE FROM cds_feedback"))
        connection.execute(text("DELETE FROM alert_log WHERE seq = :s"), {"s": seqs[-1]})
        found = transparency.verify_leaves(connection, transparency.ALERT_LOG)
        assert found.first_broken == seqs[-1] and "deleted" in (found.problem or "")
        bad = runner.invoke(args=["audit", "verify"])
        assert bad.exit_code == 1 and f"BROKEN at entry {seqs[-1]}" in bad.output
        deletion.rollback()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # the guard is PostgreSQL's
def test_on_postgresql_the_tree_tables_are_append_only(
    app: Flask, client: FlaskClient, connection: Connection
) -> None:
    _write_checks(client, 2)  # two leaves: a node too
    assert _seal(_db(app)) is not None
    for statement in (
        "UPDATE tlog_leaf SET hash = hash",
        "DELETE FROM tlog_node",
        "UPDATE tlog_checkpoint SET note = note",
        "TRUNCATE tlog_leaf",
    ):
        with pytest.raises(DBAPIError, match="append-only"), connection.begin_nested():
            connection.execute(text(statement))


@pytest.fixture()
def own_database(empty_database_url: str) -> Iterator[Database]:
    """A migrated database of its own, for writers and sealers on separate connections."""
    migrate(empty_database_url)
    db = Database.from_url(empty_database_url)
    yield db
    db.dispose()


def _event(connection: Connection, n: int) -> int:
    return log_append.insert_entry(
        connection,
        transparency.AUDIT_EVENT,
        {
            "created_at": datetime.now(UTC),
            "actor": "test",
            "action": "test.write",
            "target": str(n),
            "outcome": "success",
            "details": {"n": n},
        },
    )


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite's writers take turns
def test_out_of_order_commits_and_gaps_are_all_sealed_exactly_once(own_database: Database) -> None:
    engine = own_database.bind
    log = transparency.AUDIT_EVENT
    with engine.connect() as early, engine.connect() as late, engine.connect() as dropped:  # type: ignore[union-attr]
        early.begin()
        first = _event(early, 1)  # takes its seq first, commits last
        with dropped.begin() as rolled_back:
            gap = _event(dropped, 2)
            rolled_back.rollback()  # a seq no entry will ever have
        with late.begin():
            second = _event(late, 3)
        assert first < gap < second
        sealed = _seal(own_database, log)
        assert sealed is not None and sealed.tree_size == 1  # only what is committed
        early.commit()
    sealed = _seal(own_database, log)
    assert sealed is not None and (sealed.first_index, sealed.tree_size) == (1, 2)
    assert _seal(own_database, log) is None
    with own_database.transaction(read_only=True) as connection:
        assert _assert_tree_sound(connection, log) == [second, first]


def test_two_sealers_at_once_never_seal_an_entry_twice(own_database: Database) -> None:
    log = transparency.AUDIT_EVENT
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        for n in range(60):
            with own_database.transaction() as connection:
                _event(connection, n)
        stop.set()

    def keep_sealing() -> None:
        try:
            while not stop.is_set():
                _seal(own_database, log)
            _seal(own_database, log)
        except BaseException as error:  # a double seal would break the unique leaf constraint
            errors.append(error)

    threads = [threading.Thread(target=write)] + [
        threading.Thread(target=keep_sealing) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _seal(own_database, log)
    with own_database.transaction(read_only=True) as connection:
        assert len(_assert_tree_sound(connection, log)) == 60


def _sealer_process(url: str, key_text: str, rounds: int) -> int:
    db = Database(make_engine(url))
    try:
        key = SigningKey.from_text(key_text)
        log = transparency.AUDIT_EVENT
        return sum(
            1 for _ in range(rounds) if sealer.seal(db, log, key, sealer.origin_of(ORIGIN, log))
        )
    finally:
        db.dispose()


def test_sealers_in_separate_processes_never_seal_an_entry_twice(
    own_database: Database, empty_database_url: str
) -> None:
    import multiprocessing

    for n in range(40):
        with own_database.transaction() as connection:
            _event(connection, n)
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        pool.starmap(_sealer_process, [(empty_database_url, KEY.text(), 5)] * 3)
    with own_database.transaction(read_only=True) as connection:
        assert len(_assert_tree_sound(connection, transparency.AUDIT_EVENT)) == 40


def test_after_downtime_the_backlog_is_sealed_a_batch_per_checkpoint(
    own_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sealer, "BATCH", 3)
    for n in range(7):
        with own_database.transaction() as connection:
            _event(connection, n)
    sealed = seal_all(Sealing(own_database, KEY, ORIGIN))
    assert [(r.log, r.tree_size) for r in sealed] == [
        (transparency.AUDIT_EVENT, s) for s in (3, 6, 7)
    ]
    with own_database.transaction(read_only=True) as connection:
        _assert_tree_sound(connection, transparency.AUDIT_EVENT)


def test_a_gap_older_than_the_wait_is_left_behind_by_the_watermark(own_database: Database) -> None:
    """The unsealed scan starts past the last entry of a checkpoint older than ``GAP_WAIT``."""
    log = transparency.AUDIT_EVENT
    with own_database.transaction() as connection:
        seqs = [_event(connection, n) for n in range(3)]
    assert _seal(own_database, log) is not None
    with own_database.transaction(read_only=True) as connection:
        now = datetime.now(UTC)
        assert sealer._watermark(connection, log, now) == 0  # the checkpoint is fresh
        later = now + sealer.GAP_WAIT + timedelta(seconds=1)
        assert sealer._watermark(connection, log, later) == seqs[-1]


@pytest.fixture()
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    """A local HTTP server that keeps the bodies POSTed to it."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/checkpoints", received
    server.shutdown()
    server.server_close()


def test_checkpoints_are_exported_to_a_file_a_directory_and_a_url(
    own_database: Database, tmp_path: Path, receiver: tuple[str, list[bytes]]
) -> None:
    url, received = receiver
    with own_database.transaction() as connection:
        _event(connection, 1)
    result = _seal(own_database, transparency.AUDIT_EVENT)
    assert result is not None
    export_checkpoint(str(tmp_path / "latest.txt"), result)
    (tmp_path / "all").mkdir()
    export_checkpoint(str(tmp_path / "all"), result)
    export_checkpoint(url, result)
    for note in (
        (tmp_path / "latest-audit_event.txt").read_text(),
        (tmp_path / "all" / "audit_event" / "1").read_text(),
        received[0].decode(),
    ):
        assert VERIFIER.open(note).size == 1


def test_a_failing_export_is_logged_and_never_stops_sealing(
    own_database: Database, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    exporter = Exporter(str(tmp_path / "missing" / "latest.txt"))  # its folder does not exist
    for n in range(2):
        with own_database.transaction() as connection:
            _event(connection, n)
        assert seal_all(Sealing(own_database, KEY, ORIGIN), exporter)
        assert exporter.flush(10)
    assert "could not export audit_event checkpoint 2" in caplog.text
    with own_database.transaction(read_only=True) as connection:
        assert transparency.tree_size(connection, transparency.AUDIT_EVENT) == 2


def test_the_cli_makes_a_key_seals_and_prints_the_checkpoint_and_public_key(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(args=["audit", "keygen", "cli-test"])
    assert made.exit_code == 0
    key = SigningKey.from_text(made.output)
    (tmp_path / "key").write_text(made.output)
    app.config["AUDIT_SIGNING_KEY_FILE"] = str(tmp_path / "key")
    public = runner.invoke(args=["audit", "public-key"])
    assert public.output.strip() == key.verifier_text()
    _write_checks(client, 2)
    sealed = runner.invoke(args=["audit", "seal", "--once"])
    assert sealed.exit_code == 0 and "alert_log: leaves" in sealed.output
    printed = runner.invoke(args=["audit", "checkpoint", "--log", "alert_log"])
    assert printed.exit_code == 0
    checkpoint = VerifierKey.from_text(public.output).open(printed.output)
    assert checkpoint.origin.endswith("/alert_log") and checkpoint.size >= 2


def test_without_a_key_sealing_commands_say_how_to_make_one(app: Flask, tmp_path: Path) -> None:
    app.config["AUDIT_SIGNING_KEY_FILE"] = str(tmp_path / "none")
    result = app.test_cli_runner().invoke(args=["audit", "seal", "--once"])
    assert result.exit_code == 1 and "audit keygen" in result.output


def test_verify_fails_on_an_entry_left_unsealed_longer_than_the_bound(
    app: Flask, client: FlaskClient, connection: Connection
) -> None:
    _write_checks(client, 1)
    assert _seal(_db(app)) is not None
    _write_checks(client, 1)  # not sealed: no sealer runs in tests
    unsealed = connection.execute(select(func.max(AlertLog.seq))).scalar_one()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # younger than 60 s
    app.config["UNSEALED_MAX_AGE"] = 0.001
    late = runner.invoke(args=["audit", "verify"])
    assert late.exit_code == 1 and f"BROKEN at entry {unsealed}" in late.output
    assert "unsealed (more than UNSEALED_MAX_AGE" in late.output
