"""Transparency log benchmark: ``audit verify`` of a 1,000,000-entry sealed log, and one proof.

Why: verify must be cheap enough to run every night against the checkpoints an operator keeps
(target: 1,000,000 entries in under 60 s), and a check's inclusion proof is served on request
(target: under 20 ms at 1,000,000 entries, the database reads included).

What it does:

1. Starts a throwaway PostgreSQL (``tests/pg_server.start_postgres()``; or ``--url`` for an empty
   one), migrates it, loads the seed knowledge base, creates a pharmacy client and answers
   ``TEMPLATES`` real checks through the JSON API (real log rows), then seals them.
2. Bulk-loads ``--rows`` more ``alert_log`` entries copied from those (each with its own id,
   request id, time and seq) with ``COPY``, in batches of 20,000, with their leaves and the
   perfect subtrees (``merkle.Appender``) and a signed checkpoint every 100,000 leaves, as the
   sealer would have written them. VACUUM ANALYZE afterwards, as autovacuum would.
3. Times ``flask --app service audit verify --checkpoint FILE`` (a subprocess, as an operator runs
   it; its ``--workers`` default is one process per CPU), holding the newest checkpoint.
4. Times ``GET /api/v1/checks/<id>/proof`` for ``--proofs`` random checks through the Flask test
   client (the check's own client key; the full Flask and SQL path, no network), p50/p95/max,
   and checks every proof against the checkpoint with ``docs/verify_proof.py``.

Run: ``PYTHONPATH=. .venv/bin/python bench/verify.py [--rows 1000000] [--proofs 200] [--url URL]
[--keep]``; with ``--keep`` the server stays up and ``--again STATE`` measures it again, no loading.
Loading is CPU-bound Python (hashing every leaf); a few minutes for a million rows on 2 cores.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/http.py would shadow the standard library's ``http`` package: import from the root only.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import atexit  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import orjson  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import JSON, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from docs.verify_proof import verify_proof  # noqa: E402
from service import create_app  # noqa: E402
from service.db import Database, clients, kb_store, proofs, transparency  # noqa: E402
from service.db.models import AlertLog  # noqa: E402
from service.db.sealer import origin_of  # noqa: E402
from service.domain import merkle  # noqa: E402
from service.domain.checkpoint import Checkpoint, SigningKey  # noqa: E402
from service.kb.loader import read_knowledge_base  # noqa: E402
from service.sealing import Sealing, seal_all  # noqa: E402
from tests.conftest import migrate  # noqa: E402
from tests.pg_server import start_postgres  # noqa: E402

SEED = 20261203
BATCH = 20_000
CHECKPOINT_EVERY = 100_000
VERIFY_TARGET_S = 60.0
PROOF_TARGET_MS = 20.0
ORIGIN = "bench.verify"
LOG = transparency.ALERT_LOG
MEDICATION_LISTS = [
    ["Klonopin 2 mg tablet", "PERCOCET 5/325", "alcohol"],
    ["oxycodone", "clonazepam"],
    ["zolpidem", "alcohol", "Xanax"],
    ["gabapentin", "hydrocodone", "lorazepam", "tramadol"],
    ["sertraline", "tramadol"],
    ["ibuprofen"],
    ["methadone", "diazepam", "alcohol", "Ambien", "Xyrem"],
    ["klonopinn", "vitamin d3"],
]
FIELDS = transparency.FIELDS[LOG]
JSON_FIELDS = {f for f in FIELDS if isinstance(AlertLog.__table__.c[f].type, JSON)}


def prepare(url: str, key: SigningKey) -> tuple[str, str]:
    """KB, a client, real checks through the API, sealed. Returns the client's key and KB version."""
    migrate(url)
    db = Database.from_url(url)
    with db.unit_of_work() as session:
        version, _ = kb_store.store(session, read_knowledge_base(ROOT / "seed_data"))
        kb_store.activate(session, version)
        _, api_key = clients.create(session, "bench-pharmacy", "minor", actor="bench")
        session.commit()
    app = create_app({"DATABASE_URL": url, "DATABASE": db, "SECRET_KEY": "bench"})
    pharmacy = app.test_client()
    pharmacy.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_key}"
    for medications in MEDICATION_LISTS:
        answer = pharmacy.post("/api/v1/checks", json={"medications": medications})
        assert answer.status_code == 200, answer.get_data(as_text=True)
    seal_all(Sealing(db, key, ORIGIN))
    db.dispose()
    return api_key, version


def load(url: str, rows: int, key: SigningKey) -> str:
    """``rows`` sealed entries after the real ones; returns the newest checkpoint's note."""
    rng = random.Random(SEED)
    db = Database.from_url(url)
    with db.transaction(read_only=True) as connection:
        templates = [
            dict(zip(FIELDS, row, strict=True))
            for row in connection.execute(select(*(getattr(AlertLog, f) for f in FIELDS)))
        ]
        first_seq = int(connection.scalar(select(AlertLog.seq).order_by(AlertLog.seq.desc())) or 0)
        size = transparency.tree_size(connection, LOG)
        appender = merkle.Appender(size, transparency.frontier_hashes(connection, LOG, size))
    db.dispose()
    origin = origin_of(ORIGIN, LOG)
    pg_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / rows
    note = ""
    began = time.perf_counter()
    seq = first_seq
    with psycopg.connect(pg_url) as conn:
        while seq < first_seq + rows:
            entries: list[tuple[Any, ...]] = []
            leaves: list[tuple[Any, ...]] = []
            nodes: list[tuple[Any, ...]] = []
            checkpoints: list[tuple[Any, ...]] = []
            for _ in range(min(BATCH, first_seq + rows - seq)):
                seq += 1
                values = {
                    **rng.choice(templates),
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "request_id": f"{rng.getrandbits(128):032x}",
                    "created_at": start + step * (seq - first_seq),
                }
                digest = merkle.leaf_hash(transparency.leaf_bytes(LOG, seq, values))
                leaves.append((LOG, appender.size, seq, digest))
                nodes.extend((LOG, lv, ix, h) for (lv, ix), h in appender.append(digest))
                stored = [
                    orjson.dumps(values[f]).decode() if f in JSON_FIELDS else values[f]
                    for f in FIELDS
                ]
                entries.append((*stored, seq))
                if appender.size % CHECKPOINT_EVERY == 0 or seq == first_seq + rows:
                    made = Checkpoint(origin, appender.size, appender.root(), datetime.now(UTC))
                    note = key.sign(made)
                    checkpoints.append((LOG, made.size, made.root, made.time, note))
            with conn.cursor() as cur:
                _copy(cur, "alert_log", (*FIELDS, "seq"), entries)
                _copy(cur, "tlog_leaf", ("log", "leaf_index", "entry_seq", "hash"), leaves)
                _copy(cur, "tlog_node", ("log", "level", "node_index", "hash"), nodes)
                _copy(
                    cur,
                    "tlog_checkpoint",
                    ("log", "tree_size", "root_hash", "created_at", "note"),
                    checkpoints,
                )
            conn.commit()
            done = seq - first_seq
            print(f"  {done:>9,} rows loaded ({done / (time.perf_counter() - began):,.0f}/s)")
        conn.execute("SELECT setval('alert_log_seq', %s)", (seq,))
        conn.commit()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return note


def _copy(cur: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def verify_run(url: str, key: SigningKey, note: str) -> float:
    db = Database.from_url(url)
    seal_all(Sealing(db, key, ORIGIN))  # as the service's sealer would have: a run's own event too
    db.dispose()
    with tempfile.NamedTemporaryFile("w", suffix=".checkpoint", delete=False) as held:
        held.write(note)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "AUDIT_SIGNING_KEY": key.text(),
        "LOG_ORIGIN": ORIGIN,
    }
    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "service",
            "audit",
            "verify",
            "--checkpoint",
            held.name,
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    elapsed = time.perf_counter() - began
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    verdict = "ok" if elapsed <= VERIFY_TARGET_S and proc.returncode == 0 else "MISSED"
    print(f"\naudit verify --checkpoint: exit {proc.returncode} in {elapsed:.1f} s  {verdict}")
    print(
        f"  CPU of verify and its workers: {cpu:.1f} s (the database server's not counted); "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
        f"on {os.cpu_count()} CPUs"
    )
    print("  " + (proc.stdout + proc.stderr).strip().replace("\n", "\n  "))
    return elapsed


def proof_run(url: str, api_key: str, key: SigningKey, count: int) -> list[float]:
    db = Database.from_url(url)
    app = create_app(
        {
            "DATABASE_URL": url,
            "DATABASE": db,
            "SECRET_KEY": "bench",
            "AUDIT_SIGNING_KEY": key.text(),
            "LOG_ORIGIN": ORIGIN,
        }
    )
    pharmacy = app.test_client()
    pharmacy.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_key}"
    with db.transaction(read_only=True) as connection:
        ids = (
            connection.execute(select(AlertLog.id).where(AlertLog.client_id.is_not(None)))
            .scalars()
            .all()
        )
    rng = random.Random(SEED)
    pharmacy.get(f"/api/v1/checks/{ids[0]}/proof")  # warm: connection pool, caches
    times = []
    for check_id in rng.sample(ids, min(count, len(ids))):
        began = time.perf_counter()
        response = pharmacy.get(f"/api/v1/checks/{check_id}/proof")
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert verify_proof(response.get_json(), key.verifier_text()), check_id
    _report("GET /api/v1/checks/<id>/proof (each proof verified)", times)
    built = []
    for check_id in rng.sample(ids, min(count, len(ids))):
        began = time.perf_counter()
        with db.transaction(read_only=True) as connection:
            entry = proofs.check_entry(connection, check_id)
            assert entry is not None
            proofs.inclusion(connection, entry)
        built.append((time.perf_counter() - began) * 1000)
    _report("proofs.inclusion alone (the reads, the proof and its check; no HTTP, no auth)", built)
    db.dispose()
    return times


def _report(what: str, times: list[float]) -> None:
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    verdict = "ok" if p95 <= PROOF_TARGET_MS else "MISSED"
    print(
        f"\n{what} x{len(times)}: p50 {statistics.median(times):.1f} ms, "
        f"p95 {p95:.1f} ms, max {times[-1]:.1f} ms  {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=200)
    parser.add_argument("--url", help="an existing, empty PostgreSQL database")
    parser.add_argument("--keep", action="store_true", help="leave the throwaway server running")
    parser.add_argument(
        "--again",
        type=Path,
        metavar="STATE",
        help="measure a log loaded before with --keep (its state file) without loading",
    )
    args = parser.parse_args()
    if args.again:
        state = json.loads(args.again.read_text())
        key = SigningKey.from_text(state["key"])
        verify_run(state["url"], key, state["note"])
        proof_run(state["url"], state["api_key"], key, args.proofs)
        return
    server = None if args.url else start_postgres()
    url = args.url or server.url  # type: ignore[union-attr]
    key = SigningKey.generate("bench-verify")
    try:
        began = time.perf_counter()
        api_key, _ = prepare(url, key)
        note = load(url, args.rows, key)
        print(f"loaded {args.rows:,} sealed entries in {time.perf_counter() - began:.0f} s")
        if server is not None and args.keep:
            atexit.unregister(server.stop)
            print(f"postmaster pid {server.processes()[0]} (stop it with kill when done)")
        if args.keep:
            state_file = Path(tempfile.gettempdir()) / "bench-verify-state.json"
            state = {"url": url, "key": key.text(), "note": note, "api_key": api_key}
            state_file.write_text(json.dumps(state))
            print(f"kept {url}; measure again with --again {state_file}")
        verify_run(url, key, note)
        proof_run(url, api_key, key, args.proofs)
    finally:
        if server is not None and not args.keep:
            server.stop()


if __name__ == "__main__":
    main()
