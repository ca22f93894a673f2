"""Partitioning benchmark: migration 0019's time on a loaded log, the auditors' queries before and
after it, and what archiving and checking one month offline costs.

Why: the migration rebuilds the three log tables, so its time on a real log is what an upgrade's
downtime will be; the list pages and reports must not get slower for being spread over months; and
the archive's offline check decides how six years (about 2 billion rows) stay verifiable.

What it does, on a throwaway PostgreSQL (``tests/pg_server``) or ``--url`` (empty):

1. migrates to 0018 and loads ``--rows`` (100,000) realistic checks over a year with
   ``bench/audit.py``'s loader (rows, alert index, feedback, sealed leaves and a checkpoint);
2. measures the list-page and report scenarios of ``bench/audit.py`` (p50/p95, ``--requests``);
3. times ``alembic upgrade 0019`` (partitioning) and measures the same scenarios again;
4. times ``audit archive`` of every month but the current one and ``audit verify --archive`` of
   them (offline), as rows per second; then the downgrade back to plain tables, and up again.

Run: ``.venv/bin/python bench/partition.py [--rows 100000] [--requests 30]``. Report the machine's
load with the figures: the timings are only comparable within one run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))

import audit as audit_bench  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from service import create_app  # noqa: E402
from service.db import Database, transparency  # noqa: E402
from service.db.sealer import origin_of  # noqa: E402
from service.domain import merkle  # noqa: E402
from service.domain.checkpoint import Checkpoint, SigningKey  # noqa: E402

KEY = SigningKey.generate("bench.local")


def _timed(label: str, action: Any) -> float:
    began = time.perf_counter()
    action()
    elapsed = time.perf_counter() - began
    print(f"{label}: {elapsed:.1f} s", flush=True)
    return elapsed


def _scenarios(url: str, requests: int) -> dict[str, tuple[float, float]]:
    report = audit_bench.run_measurements(url, requests, {"list", "reports"})
    results = [audit_bench.Result(**scenario) for scenario in report["scenarios"]]
    return {r.name: (r.p50, r.p95) for r in results}


def _monthly_checkpoints(url: str) -> None:
    """A signed checkpoint at the end of each month's leaves, as the sealer's batches leave them
    (the loader signs one checkpoint over the whole load)."""
    db = Database.from_url(url)
    log = transparency.ALERT_LOG
    with db.transaction() as connection:
        ends = connection.execute(
            text(
                "SELECT max(l.leaf_index) + 1 FROM tlog_leaf l JOIN alert_log e "
                "ON e.seq = l.entry_seq WHERE l.log = :log "
                "GROUP BY date_trunc('month', e.created_at AT TIME ZONE 'UTC')"
            ),
            {"log": log},
        ).scalars()
        known = set(connection.execute(text("SELECT tree_size FROM tlog_checkpoint")).scalars())
        for size in sorted(set(ends) - known):
            root = merkle.root_from_frontier(transparency.frontier_hashes(connection, log, size))
            checkpoint = Checkpoint(origin_of("bench.local", log), size, root, datetime.now(UTC))
            transparency.add_checkpoint(
                connection,
                transparency.StoredCheckpoint(
                    log, size, root, checkpoint.time, KEY.sign(checkpoint)
                ),
            )
    db.dispose()


def _vacuum(url: str) -> None:
    pg_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE alert_log, logged_alert, audit_event")


def _cli(url: str, *args: str) -> Any:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "AUDIT_SIGNING_KEY": KEY.text()})
    result = app.test_cli_runner().invoke(args=list(args))
    app.extensions["database"].dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--url", help="an existing, empty PostgreSQL database")
    args = parser.parse_args()

    from tests.conftest import migrate
    from tests.pg_server import start_postgres

    server = None if args.url else start_postgres("partition_bench")
    url = args.url or (server.url if server else "")
    try:
        migrate(url, "0018")
        _timed(f"load {args.rows:,} checks at 0018", lambda: audit_bench.load(url, args.rows))
        before = _scenarios(url, args.requests)
        up = _timed("upgrade 0018 -> 0019 (partition by month)", lambda: migrate(url, "0019"))
        # The copied rows' visibility map is unset until a VACUUM: index-only scans would read the
        # heap. The loader vacuumed before the first measurement; do the same here (the README
        # tells operators to, after the upgrade).
        _timed("VACUUM ANALYZE after the upgrade", lambda: _vacuum(url))
        after = _scenarios(url, args.requests)
        print(f"\n{'scenario':<48} {'before p50/p95 ms':>18} {'after p50/p95 ms':>18}")
        for name, (p50, p95) in before.items():
            a50, a95 = after.get(name, (float("nan"), float("nan")))
            print(f"{name:<48} {p50:>8.1f} {p95:>8.1f} {a50:>9.1f} {a95:>8.1f}")

        this_month = datetime.now(UTC).strftime("%Y-%m")
        with tempfile.TemporaryDirectory() as folder:
            _monthly_checkpoints(url)
            written: list[Any] = []
            archive_s = _timed(
                "audit archive (every month before this one)",
                lambda: written.append(
                    _cli(url, "audit", "archive", "--before", this_month, "--output", folder)
                ),
            )
            assert written[0].exit_code == 0, written[0].output
            rows = sum(int(line.split(": ")[1].split()[0]) for line in written[0].output.splitlines()
                       if " rows, leaves" in line)  # fmt: skip
            checked: list[Any] = []
            verify_s = _timed(
                "audit verify --archive (offline)",
                lambda: checked.append(
                    _cli(
                        url,
                        "audit",
                        "verify",
                        "--archive",
                        folder,
                        "--public-key",
                        KEY.verifier_text(),
                    )
                ),
            )
            assert checked[0].exit_code == 0, checked[0].output
            print(f"  {rows:,} archived rows: archive {rows / archive_s:,.0f} rows/s, "
                  f"offline verify {rows / verify_s:,.0f} rows/s")  # fmt: skip
        down = _timed(
            "downgrade 0019 -> 0018 (plain tables)", lambda: migrate(url, "0018", down=True)
        )
        again = _timed("upgrade 0018 -> 0019 again", lambda: migrate(url, "0019"))
        print(
            f"\nmigration on {args.rows:,} checks: up {up:.1f} s, down {down:.1f} s, up {again:.1f} s"
        )
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
