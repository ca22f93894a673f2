"""Sealing lag under check load: from an entry's commit to the checkpoint that first covers it.

Why: checks only insert their entry; the sealer (a thread in every gunicorn worker, one at a time)
appends committed entries to the Merkle tree and signs a checkpoint about every ``SEAL_INTERVAL``.
Issue 17's bar: p99 lag <= 2 s under the check load of bench/http.py.

For each database (SQLite in a temp file; PostgreSQL from ``tests/pg_server.start_postgres()``) it
migrates a fresh database with the operator commands, starts gunicorn with ``make run``'s serving
settings and a fresh signing key, drives ``POST /api/v1/checks`` from ``--clients`` threads for
``--duration`` seconds (10-medication lists of the seed KB's names), waits until every entry is
sealed, and then computes each entry's lag in SQL: the ``created_at`` of the first checkpoint whose
tree holds its leaf, minus the entry's ``created_at`` (stamped just before its insert and commit).
Reports checks/s and lag p50/p99/max. The lag includes the sealer's wait for its next turn (up to
``SEAL_INTERVAL``), so p50 is about half of it plus a batch's work.

Run: ``.venv/bin/python bench/seal.py [--databases sqlite postgres] [--duration 20] [--clients 4]
[--workers 3]``
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/http.py would shadow the standard library's ``http`` package: bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402

from bench.serving import free_port, gunicorn_command, prepare_database, serving  # noqa: E402
from service.domain.checkpoint import SigningKey  # noqa: E402
from service.kb.loader import read_knowledge_base  # noqa: E402

LAGS = text(
    """
    SELECT EXTRACT(EPOCH FROM (c.created_at - a.created_at)) FROM alert_log a
    JOIN tlog_leaf l ON l.log = 'alert_log' AND l.entry_seq = a.seq
    JOIN LATERAL (
        SELECT created_at FROM tlog_checkpoint
        WHERE log = 'alert_log' AND tree_size > l.leaf_index ORDER BY tree_size LIMIT 1
    ) c ON true
    """
)
LAGS_SQLITE = text(
    """
    SELECT (julianday((SELECT created_at FROM tlog_checkpoint c WHERE c.log = 'alert_log'
                       AND c.tree_size > l.leaf_index ORDER BY c.tree_size LIMIT 1))
            - julianday(a.created_at)) * 86400.0
    FROM alert_log a JOIN tlog_leaf l ON l.log = 'alert_log' AND l.entry_seq = a.seq
    """
)
UNSEALED = text(
    "SELECT count(*) FROM alert_log a WHERE NOT EXISTS "
    "(SELECT 1 FROM tlog_leaf l WHERE l.log = 'alert_log' AND l.entry_seq = a.seq)"
)


@contextmanager
def gunicorn(env: dict[str, str], workers: int, log: Path) -> Iterator[int]:
    port = free_port()
    with serving(gunicorn_command(port, "--workers", str(workers)), port, env, log):
        yield port


def drive(port: int, key: str, bodies: list[bytes], seconds: float, clients: int) -> int:
    """Closed-loop clients posting checks until the deadline; the number answered 200."""
    answered = [0] * clients
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        i = n
        while time.monotonic() < deadline:
            connection.request("POST", "/api/v1/checks", bodies[i % len(bodies)], headers)
            response = connection.getresponse()
            response.read()
            answered[n] += response.status == 200
            i += clients

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(answered)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def bench(name: str, url: str, args: argparse.Namespace, work: Path) -> dict[str, float]:
    key = SigningKey.generate("bench-seal")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "AUDIT_SIGNING_KEY": key.text(),
        "PROMETHEUS_MULTIPROC_DIR": str(work / f"metrics-{name}"),
    }
    api_key = prepare_database(env, f"bench-{name}")
    kb = read_knowledge_base(ROOT / "seed_data")
    names = sorted({n.name for n in kb.names})
    rng = random.Random(17)
    bodies = [json.dumps({"medications": rng.sample(names, 10)}).encode() for _ in range(500)]
    with gunicorn(env, args.workers, work / f"gunicorn-{name}.log") as port:
        started = time.monotonic()
        answered = drive(port, api_key, bodies, args.duration, args.clients)
        elapsed = time.monotonic() - started
        engine = create_engine(url)
        try:
            deadline = time.monotonic() + 60
            with engine.connect() as connection:
                while connection.execute(UNSEALED).scalar_one() and time.monotonic() < deadline:
                    connection.rollback()
                    time.sleep(0.2)
                query = LAGS if engine.dialect.name == "postgresql" else LAGS_SQLITE
                lags = [float(v) for v in connection.execute(query).scalars()]
                unsealed = connection.execute(UNSEALED).scalar_one()
        finally:
            engine.dispose()
    return {
        "checks/s": answered / elapsed,
        "entries": len(lags),
        "unsealed": unsealed,
        "p50": percentile(lags, 0.50),
        "p99": percentile(lags, 0.99),
        "max": max(lags),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        for database in args.databases:
            if database == "sqlite":
                result = bench(database, f"sqlite:///{work / 'alerts.sqlite3'}", args, work)
            else:
                from tests.pg_server import start_postgres

                server = start_postgres("alerts_seal_bench")
                try:
                    result = bench(database, server.url, args, work)
                finally:
                    server.stop()
            print(
                f"{database}: {result['checks/s']:.0f} checks/s, {result['entries']:.0f} entries "
                f"sealed ({result['unsealed']:.0f} left), lag p50 {result['p50']:.2f} s, "
                f"p99 {result['p99']:.2f} s, max {result['max']:.2f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
