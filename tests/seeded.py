"""A database the way the service runs on it: migrated to head, the seed knowledge base stored and
active. Storing the knowledge base takes seconds, so the SQLite one is built once per test run (the
xdist workers share it through a file lock) and every fixture that needs one gets a copy of the file,
which takes milliseconds."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command

from service.cli import alembic_config
from service.db import Database, kb_store, make_engine

from .strategies import SEED_DIR, seed_knowledge

__all__ = ["SEED_DIR", "copy_sqlite", "migrate", "seed", "sqlite_template"]


def migrate(url: str, revision: str = "head", *, down: bool = False) -> None:
    config = alembic_config(url)
    (command.downgrade if down else command.upgrade)(config, revision)


def seed(url: str) -> None:
    """Migrate ``url`` to head, then store and activate the seed knowledge base, committed."""
    migrate(url)
    engine = make_engine(url)
    try:
        with Database(engine).unit_of_work() as session:
            version, _ = kb_store.store(session, seed_knowledge())
            kb_store.activate(session, version)
            session.commit()
    finally:
        engine.dispose()


def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded SQLite file of this run; the first process to get here builds it, under a lock
    in the folder that every xdist worker's temporary folder lives in."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    template = shared / "seeded-template.sqlite3"
    with (shared / "seeded-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.exists():
            building = shared / "seeded-template.building.sqlite3"
            building.unlink(missing_ok=True)
            seed(f"sqlite:///{building}")
            building.rename(template)
    return template


def copy_sqlite(template: Path, target: Path) -> str:
    """A private copy of ``template`` at ``target`` (SQLite's backup, so no journal is left
    behind); returns its URL."""
    with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return f"sqlite:///{target}"
