"""Fault tests: the service's own database, migrated and loaded, that a test can break for real."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import create_app
from service.db import Database, clients, make_engine
from service.db.models import AlertLog

from ..seeded import seed

CHECK = {"medications": ["clonazepam", "oxycodone"]}


def prepare_database(url: str) -> str:
    """Migrate ``url``, load and activate the seed KB, create a client; returns its API key."""
    seed(url)
    return add_client(url)


def add_client(url: str) -> str:
    """Create the fault tests' pharmacy client in the seeded database ``url``; returns its key."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            _, key = clients.create(session, "fault-pharmacy", "minor", actor="test")
            session.commit()
    finally:
        engine.dispose()
    return key


def service_on(url: str, **settings: object) -> Flask:
    """The service as it runs in production: its own engine, with the settings' timeouts."""
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test", **settings})


def logged_ids(url: str, ids: list[str]) -> set[str]:
    """Which of ``ids`` the alert log holds, read afresh."""
    database = Database(make_engine(url))
    try:
        with database.unit_of_work(read_only=True) as session:
            return set(session.scalars(select(AlertLog.id).where(AlertLog.id.in_(ids))))
    finally:
        database.dispose()
