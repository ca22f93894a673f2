"""``audit verify`` against held checkpoints: an attacker who owns the database, and rewrites the
log's hashes consistently after a change, is caught by a checkpoint they cannot sign."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, delete, insert, select, text, update

from service.db import Database, transparency
from service.db.models import AlertLog, AuditEvent, TlogCheckpoint, TlogLeaf, TlogNode
from service.db.sealer import origin_of, seal
from service.domain import merkle
from service.domain.checkpoint import Checkpoint, SigningKey

pytestmark = pytest.mark.both_databases  # the attacker's SQL and the walk's reads differ

KEY = SigningKey.generate("alerts-test")
ATTACKER_KEY = SigningKey.generate("alerts-test")  # same name, another key: no signature of ours
ORIGIN = "verify.test"
LOG = transparency.ALERT_LOG
MEDICATION_LISTS = (  # the fourth, which the forgers edit, has alerts
    ["zolpidem"],
    ["clonazepam", "oxycodone"],
    ["alcohol", "Xyrem"],
    ["Klonopin", "clonazepam"],
    ["oxycodone", "alcohol"],
    ["Xanax", "Percocet"],
)


@pytest.fixture()
def app(app: Flask) -> Flask:
    app.config.update(AUDIT_SIGNING_KEY=KEY.text(), LOG_ORIGIN=ORIGIN)
    return app


def _check(client: FlaskClient, medications: list[str]) -> None:
    assert client.post("/api/v1/checks", json={"medications": medications}).status_code == 200


def _seal(app: Flask) -> str:
    """Seal what is committed; the alert log's newest checkpoint, as an operator would keep it."""
    db: Database = app.extensions["database"]
    for log in transparency.LOGS:
        seal(db, log, KEY, origin_of(ORIGIN, log))
    with db.transaction(read_only=True) as connection:
        latest = transparency.latest_checkpoint(connection, LOG)
    assert latest is not None
    return latest.note


@pytest.fixture()
def held(app: Flask, client: FlaskClient, tmp_path: Path) -> Path:
    """Six checks sealed as two batches (checkpoints 3 and 6), the newest checkpoint kept in a file."""
    for medications in MEDICATION_LISTS[:3]:
        _check(client, medications)
    _seal(app)
    for medications in MEDICATION_LISTS[3:]:
        _check(client, medications)
    path = tmp_path / "alert_log.checkpoint"
    path.write_text(_seal(app))
    return path


def _verify(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def _as_attacker(connection: Connection) -> None:
    """Below the application, as a database superuser who switches the append-only triggers off."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL session_replication_role = replica"))


def _entries(connection: Connection) -> list[dict[str, Any]]:
    """The alert log's entries in their leaves' order, each with its seq and content."""
    fields = transparency.FIELDS[LOG]
    rows = connection.execute(
        select(AlertLog.seq, *(getattr(AlertLog, f) for f in fields))
        .join(TlogLeaf, (TlogLeaf.entry_seq == AlertLog.seq) & (TlogLeaf.log == LOG))
        .order_by(TlogLeaf.leaf_index)
    )
    return [{"seq": row[0], **dict(zip(fields, row[1:], strict=True))} for row in rows]


def _rebuild(connection: Connection, entries: list[dict[str, Any]], keep_checkpoints: int) -> None:
    """Re-hash the whole tree over ``entries`` as the attacker would: leaves, subtrees, and stored
    checkpoints up to ``keep_checkpoints`` leaves kept; later ones re-made with the attacker's key."""
    connection.execute(delete(TlogLeaf).where(TlogLeaf.log == LOG))
    connection.execute(delete(TlogNode).where(TlogNode.log == LOG))
    appender = merkle.Appender()
    leaves, nodes, roots = [], [], {}
    for entry in entries:
        digest = merkle.leaf_hash(transparency.leaf_bytes(LOG, entry["seq"], entry))
        nodes.extend(appender.append(digest))
        leaves.append((entry["seq"], digest))
        roots[appender.size] = appender.root()
    transparency.add_leaves(connection, LOG, 0, leaves)
    transparency.add_nodes(connection, LOG, nodes)
    later = (TlogCheckpoint.log == LOG) & (TlogCheckpoint.tree_size > keep_checkpoints)
    remade = connection.execute(select(TlogCheckpoint.tree_size).where(later)).scalars().all()
    connection.execute(delete(TlogCheckpoint).where(later))
    for size in remade:
        if size in roots:
            forged = Checkpoint(origin_of(ORIGIN, LOG), size, roots[size], datetime.now(UTC))
            transparency.add_checkpoint(
                connection,
                transparency.StoredCheckpoint(
                    LOG, size, forged.root, forged.time, ATTACKER_KEY.sign(forged)
                ),
            )


def _edit_and_rehash(connection: Connection) -> None:
    entries = _entries(connection)
    fourth = entries[3]
    assert fourth["alerts"]
    connection.execute(update(AlertLog).where(AlertLog.seq == fourth["seq"]).values(alerts=[]))
    fourth["alerts"] = []
    _rebuild(connection, entries, keep_checkpoints=3)


def _delete_and_rebuild(connection: Connection) -> None:
    entries = _entries(connection)
    connection.execute(delete(AlertLog).where(AlertLog.seq == entries[4]["seq"]))
    _rebuild(connection, [*entries[:4], *entries[5:]], keep_checkpoints=3)


def _insert_and_rebuild(connection: Connection) -> None:
    entries = _entries(connection)
    last = connection.scalar(select(AlertLog.seq).order_by(AlertLog.seq.desc()).limit(1))
    assert last is not None
    forged = {**entries[3], "id": "forged-check", "seq": last + 1}
    connection.execute(insert(AlertLog).values(**forged))
    _rebuild(connection, [*entries[:4], forged, *entries[4:5]], keep_checkpoints=3)


def _reorder_and_rebuild(connection: Connection) -> None:
    entries = _entries(connection)
    entries[3], entries[4] = entries[4], entries[3]
    _rebuild(connection, entries, keep_checkpoints=3)


def _truncate(connection: Connection) -> None:
    entries = _entries(connection)
    for entry in entries[4:]:
        connection.execute(delete(AlertLog).where(AlertLog.seq == entry["seq"]))
    connection.execute(delete(TlogLeaf).where(TlogLeaf.log == LOG, TlogLeaf.leaf_index >= 4))
    connection.execute(
        delete(TlogNode).where(TlogNode.log == LOG, TlogNode.level == 1, TlogNode.node_index >= 2)
    )
    connection.execute(
        delete(TlogCheckpoint).where(TlogCheckpoint.log == LOG, TlogCheckpoint.tree_size > 4)
    )


FORGERIES: list[tuple[str, Callable[[Connection], None], str]] = [
    ("edited, re-hashed and re-signed", _edit_and_rehash, "leaves 3..5"),
    ("deleted and rebuilt", _delete_and_rebuild, "leaves 3..5"),
    ("inserted and rebuilt", _insert_and_rebuild, "leaves 3..5"),
    ("reordered and rebuilt", _reorder_and_rebuild, "leaves 3..5"),
    ("the end cut off", _truncate, "leaves 4..5 were removed from its end"),
]


def test_an_untouched_log_verifies_against_its_held_checkpoint(
    app: Flask, held: Path, connection: Connection
) -> None:
    result = _verify(app, "--checkpoint", str(held))
    assert result.exit_code == 0, result.output
    assert (
        "alert_log: 6 leaves" in result.output and "3 checkpoints matched (1 held)" in result.output
    )
    assert "FAIL" not in result.output
    event = connection.execute(
        select(AuditEvent.outcome, AuditEvent.details)
        .where(AuditEvent.action == "audit.verify")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert event is not None and event.outcome == "success"
    assert event.details[LOG]["entries"] == 6 and event.details[LOG]["checkpoints_matched"] == 3


@pytest.mark.parametrize(
    ("forge", "named"), [(f, n) for _, f, n in FORGERIES], ids=[i for i, _, _ in FORGERIES]
)
def test_a_consistent_forgery_is_caught_against_the_held_checkpoint(
    app: Flask,
    held: Path,
    connection: Connection,
    forge: Callable[[Connection], None],
    named: str,
) -> None:
    _as_attacker(connection)
    forge(connection)
    result = _verify(app, "--checkpoint", str(held))
    assert result.exit_code == 1, result.output
    assert named in result.output
    assert f"checkpoint {held}" in result.output  # the held one is what contradicts the forgery
    assert "alert_log: 6 leaves" not in result.output or "FAILED" in result.output


def test_an_edited_entry_is_named_when_its_leaf_was_left_alone(
    app: Flask, held: Path, connection: Connection
) -> None:
    _as_attacker(connection)
    fourth = _entries(connection)[3]
    connection.execute(update(AlertLog).where(AlertLog.seq == fourth["seq"]).values(alerts=[]))
    result = _verify(app, "--checkpoint", str(held))
    assert result.exit_code == 1
    assert f"alert_log: FAIL [entry {fourth['seq']}, leaf 3]: this entry does not match" in (
        result.output
    )


def test_a_re_made_stored_checkpoint_is_reported(
    app: Flask, held: Path, connection: Connection
) -> None:
    _as_attacker(connection)
    _edit_and_rehash(connection)
    result = _verify(app)  # no held checkpoint: the stored ones that verify are the evidence
    assert result.exit_code == 1
    assert "stored checkpoint 6 is not authentic" in result.output
    assert "the log disagrees" not in result.output  # checkpoint 3 still agrees: it came first


def test_a_held_checkpoint_signed_by_another_key_fails(
    app: Flask, held: Path, tmp_path: Path
) -> None:
    forged = tmp_path / "forged.checkpoint"
    forged.write_text(ATTACKER_KEY.sign(KEY.verifier().open(held.read_text())))
    result = _verify(app, "--checkpoint", str(forged))
    assert result.exit_code == 1
    assert f"FAIL: checkpoint {forged}: the note is not signed by alerts-test+" in result.output


def test_unsealed_entries_are_reported_with_their_age_and_fail_when_overdue(
    app: Flask, held: Path, client: FlaskClient, connection: Connection
) -> None:
    _check(client, ["zolpidem", "alcohol"])
    fresh = _verify(app, "--checkpoint", str(held))
    assert fresh.exit_code == 0, fresh.output
    assert "alert_log: note: 1 entries not sealed yet" in fresh.output
    last = connection.scalar(select(AlertLog.seq).order_by(AlertLog.seq.desc()).limit(1))
    _as_attacker(connection)
    connection.execute(
        update(AlertLog)
        .where(AlertLog.seq == last)
        .values(created_at=datetime.now(UTC) - timedelta(seconds=90))
    )
    overdue = _verify(app, "--checkpoint", str(held))
    assert overdue.exit_code == 1
    assert re.search(
        rf"alert_log: FAIL \[entry {last}\]: not sealed after 9\d s \(limit 60 s\)", overdue.output
    )


def test_a_rewritten_subtree_is_named(app: Flask, held: Path, connection: Connection) -> None:
    _as_attacker(connection)
    connection.execute(
        update(TlogNode)
        .where(TlogNode.log == LOG, TlogNode.level == 1, TlogNode.node_index == 1)
        .values(hash=bytes(32))
    )
    result = _verify(app, "--checkpoint", str(held))
    assert result.exit_code == 1
    assert "the stored subtree (level 1, index 1) over leaves 2..3 differs" in result.output
