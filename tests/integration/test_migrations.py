"""Migrations: from empty to head, back to empty, up again, and they agree with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from service.db import make_engine
from service.db.models import Base

from ..conftest import migrate


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


def test_models_and_migrations_agree(empty_database_url: str) -> None:
    migrate(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
