"""Several processes writing checks and events at once never fork or break the chains."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import select

from service import create_app
from service.db import Database, chain, clients, events, make_engine
from service.db.models import AlertLog

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


def test_concurrent_processes_append_to_one_unbroken_chain(seeded_database_url: str) -> None:
    database = Database(make_engine(seeded_database_url))
    with database.unit_of_work() as session:
        _, key = clients.create(session, "load", "minor", actor="test")
        session.commit()
    context = multiprocessing.get_context("spawn")
    with context.Pool(WRITERS) as pool:
        answered = pool.starmap(_writer, [(seeded_database_url, key, w) for w in range(WRITERS)])
    assert answered == [CHECKS_EACH] * WRITERS
    with database.unit_of_work(read_only=True) as session:
        checks = chain.verify(session, chain.ALERT_LOG)
        security = chain.verify(session, chain.AUDIT_EVENT)
        times = list(session.scalars(select(AlertLog.created_at).order_by(AlertLog.seq)))
    database.dispose()
    assert times == sorted(times)  # stamped under the chain's lock: time order is chain order
    assert checks.ok and checks.entries == WRITERS * CHECKS_EACH
    assert security.ok and security.entries == WRITERS * CHECKS_EACH + 1  # + the client's creation
