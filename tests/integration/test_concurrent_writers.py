"""Several processes writing checks and events at once: every entry gets a seq of its own, and the
sealer then makes each one leaf, exactly once."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import distinct, func, select

from service import create_app
from service.db import Database, clients, events, make_engine, transparency, verify
from service.db.models import AlertLog
from service.db.sealer import origin_of
from service.domain.checkpoint import SigningKey
from service.sealing import Sealing, seal_all

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
    seeded_database_url: str,
) -> None:
    database = Database(make_engine(seeded_database_url))
    with database.unit_of_work() as session:
        _, key = clients.create(session, "load", "minor", actor="test")
        session.commit()
    context = multiprocessing.get_context("spawn")
    with context.Pool(WRITERS) as pool:
        answered = pool.starmap(_writer, [(seeded_database_url, key, w) for w in range(WRITERS)])
    assert answered == [CHECKS_EACH] * WRITERS
    signing = SigningKey.generate("test")
    seal_all(Sealing(database, signing, "alerts.test"))
    checks, security = (
        verify.verify_log(
            database, log, signing.verifier(), origin_of("alerts.test", log), max_unsealed_age=60
        )
        for log in (transparency.ALERT_LOG, transparency.AUDIT_EVENT)
    )
    with database.transaction(read_only=True) as connection:
        seqs = connection.execute(select(func.count(distinct(AlertLog.seq)))).scalar_one()
    database.dispose()
    assert seqs == WRITERS * CHECKS_EACH
    assert checks.ok and checks.tree_size == WRITERS * CHECKS_EACH and checks.checkpoints_matched
    assert (
        security.ok and security.tree_size == WRITERS * CHECKS_EACH + 1
    )  # + the client's creation
