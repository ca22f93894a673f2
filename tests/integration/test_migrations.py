"""Migrations: from empty to head, back to empty, up again, and they agree with the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from service.db import Database, chain, make_engine
from service.db.models import Base
from service.db.partitions import not_a_partition

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


def test_upgrading_a_database_with_logged_checks_chains_them(empty_database_url: str) -> None:
    migrate(empty_database_url, "0002")
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            _insert_kb_version(conn)
            for n in range(3):
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
        migrate(empty_database_url)
        with Database(engine).unit_of_work(read_only=True) as session:
            checks = chain.verify(session, chain.ALERT_LOG)
            security = chain.verify(session, chain.AUDIT_EVENT)
        assert (checks.ok, checks.entries) == (True, 3)
        assert (security.ok, security.entries) == (True, 1)
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
                    "inputs, medications, alerts, scope, complete, seq, prev_hash, row_hash) "
                    "VALUES ('c1', '2026-01-01 00:00:00', 'api', 'r', 'v1', '{}', '[]', :alerts, "
                    "'{}', true, 1, 'p', 'h')"
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
