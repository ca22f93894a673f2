"""Several processes writing checks and events at once: every entry gets a seq of its own, and the
sealer then makes each one leaf, exactly once."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import distinct, func, select

from service import create_app
from service.db import Database, clients, events, kb_store, make_engine, transparency
from service.db.models import AlertLog
from service.domain.checkpoint import SigningKey
from service.kb.loader import read_knowledge_base
from service.sealing import Sealing, seal_all

from ..conftest import SEED_DIR, migrate

pytestmark = pytest.mark.both_databases  # concurrency

WRITERS = 4
CHECKS_EACH = 12


def _writer(url: str, key: str, worker: int) -> int:
    """One process with its own app and connection pool, as a gunicorn worker or another host has."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test"})
    client = app.test_client()
    ok = 0
    for n in range(CHECKS_EACH):
        meds = ["clonazepam", "oxycodone"] if n % 2 else ["alcohol", "zolpidem", "gabapentin"]
        response = client.post(
            "/api/v1/checks", json={"medications": meds}, headers={"Authorization": f"Bearer {key}"}
        )
        ok += response.status_code == 200
        with app.extensions["database"].unit_of_work() as session:
            events.record_event(
                session, actor=f"worker-{worker}", action="test.write", target=str(n)
            )
            session.commit()
    app.extensions["database"].dispose()
    return ok


def test_concurrent_processes_append_entries_the_sealer_seals_once_each(
    empty_database_url: str,
) -> None:
    migrate(empty_database_url)
    database = Database(make_engine(empty_database_url))
    with database.unit_of_work() as session:
        version, _ = kb_store.store(session, read_knowledge_base(SEED_DIR))
        kb_store.activate(session, version)
        _, key = clients.create(session, "load", "minor", actor="test")
        session.commit()
    context = multiprocessing.get_context("spawn")
    with context.Pool(WRITERS) as pool:
        answered = pool.starmap(_writer, [(empty_database_url, key, w) for w in range(WRITERS)])
    assert answered == [CHECKS_EACH] * WRITERS
    seal_all(Sealing(database, SigningKey.generate("test"), "alerts.test"))
    with database.transaction(read_only=True) as connection:
        checks = transparency.verify_leaves(connection, transparency.ALERT_LOG)
        security = transparency.verify_leaves(connection, transparency.AUDIT_EVENT)
        seqs = connection.execute(select(func.count(distinct(AlertLog.seq)))).scalar_one()
    database.dispose()
    assert seqs == WRITERS * CHECKS_EACH
    assert checks.ok and checks.entries == WRITERS * CHECKS_EACH
    assert security.ok and security.entries == WRITERS * CHECKS_EACH + 1  # + the client's creation
