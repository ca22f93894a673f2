"""Migrations: from empty to head, back to empty, up again, and they agree with the models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, select, text

from service.db import Database, log_append, make_engine, transparency
from service.db.models import AlertLog, Base
from service.db.partitions import not_a_partition
from service.domain import merkle

from ..conftest import migrate

pytestmark = pytest.mark.both_databases  # migrations


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    migrate(empty_database_url)
    assert {"kb_version", "alert_log", "rule", "drug_name"} <= _tables(empty_database_url)
    migrate(empty_database_url, "base", down=True)
    assert _tables(empty_database_url) <= {"alembic_version"}
    migrate(empty_database_url)
    assert "alert_log" in _tables(empty_database_url)


def _described(difference: tuple[object, ...]) -> str:
    """An autogenerate difference as ``kind table(columns)``, to compare with the expected ones."""
    kind, constraint = difference[0], difference[-1]
    table = getattr(constraint, "table", None)
    columns = ",".join(c.name for c in getattr(constraint, "columns", []))
    return f"{kind} {getattr(table, 'name', '?')}({columns})"


# PostgreSQL requires a partitioned table's unique keys to hold the partition key (migration
# 0019), and feedback's keys into the partitioned logs became a trigger: the models keep the
# logical keys, which SQLite still has.
PARTITIONING_DIFFERENCES = {
    "postgresql": [
        "remove_constraint alert_log(seq,created_at)",
        "add_constraint alert_log(seq)",
        "remove_constraint audit_event(seq,created_at)",
        "add_constraint audit_event(seq)",
        "add_fk cds_feedback(alert_log_id)",
        "add_fk cds_feedback(alert_uuid)",
    ],
    "sqlite": [],
}


# SQLite cannot reflect the PostgreSQL-only expression index, so alembic says it skips comparing it.
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index"
)
def test_models_and_migrations_agree_but_for_the_partitioned_keys(
    empty_database_url: str, backend: str
) -> None:
    migrate(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": not_a_partition}
            )
            differences = [_described(d) for d in compare_metadata(context, Base.metadata)]
    finally:
        engine.dispose()
    assert sorted(differences) == sorted(PARTITIONING_DIFFERENCES[backend])


def _insert_kb_version(conn: Connection) -> None:
    """A KB version 'v1' for raw log rows to point at."""
    conn.execute(
        text(
            "INSERT INTO kb_version (id, created_at, activated_at, scope, counts) "
            "VALUES ('v1', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 's', '{}')"
        )
    )


def _log_checks_at_0002(url: str, count: int = 3) -> None:
    """Checks and a security event logged before chaining existed (0003 chains them)."""
    migrate(url, "0002")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _insert_kb_version(conn)
            for n in range(count):
                conn.execute(
                    text(
                        "INSERT INTO alert_log (id, created_at, channel, request_id, kb_version_id, inputs, "
                        "medications, alerts, scope, complete, highest_severity) VALUES (:id, :at, 'api', 'r', "
                        "'v1', '{\"medications\": [\"x\"]}', '[]', '[{\"id\": \"R1:a+b\"}]', '{}', :complete, 'major')"
                    ),
                    {
                        "id": f"check-{n}",
                        "at": f"2026-01-0{n + 1} 00:00:00",
                        "complete": n % 2 == 0,
                    },
                )
                conn.execute(
                    text(
                        "INSERT INTO logged_alert (uuid, alert_log_id, alert_id, rule_code, severity, shown) "
                        "VALUES (:u, :id, 'R1:a+b', 'R1', 'major', :shown)"
                    ),
                    {"u": f"u-{n}", "id": f"check-{n}", "shown": True},
                )
            conn.execute(
                text(
                    "INSERT INTO audit_event (created_at, actor, action, target, outcome, details) "
                    "VALUES ('2026-01-01 00:00:00', 'cli:root', 'client.create', 'p', 'success', '{}')"
                )
            )
    finally:
        engine.dispose()


def _leaves(conn: Connection, log: str) -> list[tuple[int, int, bytes]]:
    rows = conn.execute(
        text(
            "SELECT leaf_index, entry_seq, hash FROM tlog_leaf WHERE log = :log ORDER BY leaf_index"
        ),
        {"log": log},
    )
    return [(index, seq, bytes(digest)) for index, seq, digest in rows]


def test_upgrading_chained_checks_makes_them_the_trees_first_leaves(
    empty_database_url: str,
) -> None:
    _log_checks_at_0002(empty_database_url)
    migrate(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with Database(engine).unit_of_work(read_only=True) as session:
            checks = session.scalars(select(AlertLog).order_by(AlertLog.seq)).all()
            leaves = _leaves(session.connection(), transparency.ALERT_LOG)
            expected = [
                merkle.leaf_hash(
                    transparency.leaf_bytes(
                        transparency.ALERT_LOG,
                        c.seq,
                        {f: getattr(c, f) for f in transparency.FIELDS[transparency.ALERT_LOG]},
                    )
                )
                for c in checks
            ]
            assert [(i, s) for i, s, _ in leaves] == [(0, 1), (1, 2), (2, 3)]
            assert [h for _, _, h in leaves] == expected
            # The stored perfect subtrees give back the reference root of the leaves.
            frontier = transparency.frontier_hashes(session.connection(), transparency.ALERT_LOG, 3)
            assert merkle.root_from_frontier(frontier) == merkle.root(expected)
            assert len(_leaves(session.connection(), transparency.AUDIT_EVENT)) == 1
            assert not inspect(session.connection()).has_table("chain_head")
    finally:
        engine.dispose()


def test_a_broken_chain_stops_the_upgrade_naming_the_entry(empty_database_url: str) -> None:
    _log_checks_at_0002(empty_database_url)
    migrate(empty_database_url, "0017")
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # a DBA's edit, below the append-only triggers
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("UPDATE alert_log SET request_id = 'edited' WHERE seq = 2"))
        with pytest.raises(Exception, match=r"alert_log: entry 2 does not match its hash"):
            migrate(empty_database_url)
        assert "tlog_leaf" not in _tables(empty_database_url)
    finally:
        engine.dispose()


def test_the_downgrade_rebuilds_a_chain_the_upgrade_verifies_again(empty_database_url: str) -> None:
    """Up, a few entries logged with gaps in seq (rolled back on PostgreSQL), down, up again."""
    _log_checks_at_0002(empty_database_url)
    migrate(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            for rolled_back in (True, False):
                with conn.begin() as transaction:
                    log_append.insert_entry(
                        conn,
                        transparency.AUDIT_EVENT,
                        {
                            "created_at": datetime(2026, 2, 1, tzinfo=UTC),
                            "actor": "cli:root",
                            "action": "test",
                            "target": "t",
                            "outcome": "success",
                            "details": {"rolled_back": rolled_back},
                        },
                    )
                    if rolled_back:
                        transaction.rollback()
        migrate(empty_database_url, "0017", down=True)
        with engine.connect() as conn:
            heads: dict[str, int] = dict(
                conn.execute(text("SELECT name, seq FROM chain_head")).all()
            )
            seqs = conn.execute(text("SELECT seq FROM audit_event ORDER BY seq")).scalars().all()
        assert heads == {"alert_log": 3, "audit_event": 2} and seqs == [1, 2]
        migrate(empty_database_url)  # verifies the rebuilt chains, or stops
        with engine.connect() as conn:
            assert len(_leaves(conn, transparency.AUDIT_EVENT)) == 2
    finally:
        engine.dispose()


def test_a_downgrade_past_the_alert_index_projection_indexes_the_backlog_first(
    empty_database_url: str,
) -> None:
    migrate(empty_database_url)
    alerts = (
        '[{"uuid": "u-1", "id": "R1:clonazepam+oxycodone", "rule": {"id": "R1"}, '
        '"severity": "major", "shown": true}, {"uuid": "u-2", "id": "D1:a+b", '
        '"rule": {"id": "D1"}, "severity": "moderate", "shown": false}]'
    )
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            _insert_kb_version(conn)
            conn.execute(
                text(
                    "INSERT INTO alert_log (id, created_at, channel, request_id, kb_version_id, "
                    "inputs, medications, alerts, scope, complete, seq) "
                    "VALUES ('c1', '2026-01-01 00:00:00', 'api', 'r', 'v1', '{}', '[]', :alerts, "
                    "'{}', true, 1)"
                ),
                {"alerts": alerts},
            )
        migrate(empty_database_url, "0007", down=True)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT uuid, alert_log_id, alert_id, rule_code, severity, shown "
                    "FROM logged_alert ORDER BY uuid"
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            ("u-1", "c1", "R1:clonazepam+oxycodone", "R1", "major", True),
            ("u-2", "c1", "D1:a+b", "D1", "moderate", False),
        ]
        migrate(empty_database_url)  # up again: the log is indexed up to its last entry
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name, seq FROM projection_mark")).all() == [
                ("logged_alert", 1)
            ]
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite does not compress
def test_on_postgresql_the_log_documents_are_compressed_with_lz4(empty_database_url: str) -> None:
    def methods() -> set[str | None]:
        engine = make_engine(empty_database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT attname, attcompression FROM pg_attribute "
                        "WHERE attrelid = 'alert_log'::regclass "
                        "AND attname IN ('inputs', 'medications', 'alerts', 'scope')"
                    )
                ).all()
        finally:
            engine.dispose()
        return {str(method) if method else None for _, method in rows}

    migrate(empty_database_url)
    assert methods() == {"l"}
    migrate(empty_database_url, "0008", down=True)
    assert methods() == {"p"}


def test_a_downgrade_past_staging_drops_the_versions_never_activated(
    empty_database_url: str,
) -> None:
    migrate(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            _insert_kb_version(conn)
            conn.execute(
                text(
                    "INSERT INTO kb_version (id, created_at, activated_at, scope, counts) "
                    "VALUES ('v2', '2026-02-01 00:00:00', NULL, 's', '{}')"
                )
            )
            for version in ("v1", "v2"):
                conn.execute(
                    text(
                        "INSERT INTO rule (kb_version_id, code, position, kind, title, severity, "
                        "summary, effect, mechanism, management, patient_text, notes, "
                        "suggest_naloxone, family) VALUES (:v, 'R1', 0, 'interaction', 't', "
                        "'major', 's', 'e', 'm', 'g', 'p', '', false, 'cns-depression')"
                    ),
                    {"v": version},
                )
        migrate(empty_database_url, "0010", down=True)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id FROM kb_version")).scalars().all() == ["v1"]
            assert conn.execute(text("SELECT kb_version_id FROM rule")).scalars().all() == ["v1"]
        migrate(empty_database_url)
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite is not partitioned
def test_partitioning_moves_each_row_to_its_months_table_and_back(
    empty_database_url: str,
) -> None:
    migrate(empty_database_url, "0018")
    engine = make_engine(empty_database_url)
    months = ["2025-03-31 23:59:59.999999+00", "2025-04-01 00:00:00+00", "2026-01-15 12:00:00+00"]
    try:
        with engine.begin() as conn:
            _insert_kb_version(conn)
            for seq, at in enumerate(months, start=1):
                conn.execute(
                    text(
                        "INSERT INTO alert_log (id, created_at, channel, request_id, "
                        "kb_version_id, inputs, medications, alerts, scope, complete, seq) "
                        "VALUES (:id, :at, 'api', 'r', 'v1', '{}', '[]', '[]', '{}', true, :seq)"
                    ),
                    {"id": f"c{seq}", "at": at, "seq": seq},
                )
        migrate(empty_database_url, "0019")
        with engine.connect() as conn:
            placed = conn.execute(
                text("SELECT id, tableoid::regclass::text FROM alert_log ORDER BY seq")
            ).all()
            kind = conn.scalar(text("SELECT relkind FROM pg_class WHERE relname = 'alert_log'"))
        assert [tuple(p) for p in placed] == [
            ("c1", "alert_log_2025_03"),
            ("c2", "alert_log_2025_04"),
            ("c3", "alert_log_2026_01"),
        ]
        assert kind == "p"
        migrate(empty_database_url, "0018", down=True)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, created_at FROM alert_log ORDER BY seq")).all()
            kind = conn.scalar(text("SELECT relkind FROM pg_class WHERE relname = 'alert_log'"))
            keys = conn.execute(
                text(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = 'alert_log'::regclass AND contype IN ('p', 'u') "
                    "ORDER BY conname"
                )
            ).all()
        assert [r.id for r in rows] == ["c1", "c2", "c3"] and kind == "r"
        assert [tuple(k) for k in keys] == [
            ("pk_alert_log", "PRIMARY KEY (id)"),
            ("uq_alert_log_seq", "UNIQUE (seq)"),
        ]
    finally:
        engine.dispose()
