"""Alembic environment: batch mode for SQLite, the same engine setup as the app."""

from __future__ import annotations

import logging
import os

from alembic import context
from sqlalchemy import Connection

from service.db import make_engine
from service.db.models import Base
from service.db.partitions import not_a_partition

config = context.config
target_metadata = Base.metadata
logging.getLogger("alembic").setLevel(logging.INFO)
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or os.environ.get(
        "DATABASE_URL", "sqlite:///instance/alerts.sqlite3"
    )


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=not_a_partition,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=target_metadata, render_as_batch=True, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url(), foreign_keys=False)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
