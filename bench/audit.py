"""Audit scale benchmark: the auditor pages, reports, export and ``audit verify`` over a million checks.

Why: the review pages are only useful if an auditor can page, filter and open checks in a year of log
as quickly as in a day of it, and ``audit verify`` must be cheap enough to run every night.
Targets: list, detail and reports under 300 ms at p95; the export streams at a steady rate without
memory growth; verify of a million entries in under 60 s.

What it does:

1. Starts a throwaway PostgreSQL (``tests/pg_server.start_postgres()``; or ``--url`` for an existing,
   empty one), migrates it (``tests.conftest.migrate``), loads the seed knowledge base and creates 12
   pharmacy clients with mixed minimum severities (through the application's own code).
2. Bulk-loads ``--rows`` (1,000,000) ``alert_log`` rows with PostgreSQL ``COPY`` (psycopg's
   ``cursor.copy``), in batches of 20,000, each batch with its ``logged_alert`` rows (each with its
   check's ``created_at``, as the service projects them; ``projection_mark`` set to match) and some
   ``cds_feedback`` (each with its check's id and ``created_at``). The rows are realistic: their ``medications``, ``alerts`` and ``scope`` documents
   are what the engine produced for 600 medication lists (``random.Random(SEED)``; sizes 1-8, each item
   a rule-involved name with probability 0.3, else a name without rules, 10% of lists with a misspelt
   or unknown input), built with the same
   ``domain.document`` functions the service logs with. Each row gets its own uuids, a request id, a
   channel (api 35%, cds-hooks 35%, rxnav 10%, web 15%, cli 5%), a client for the machine doors (whose
   minimum severity decides which alerts were shown), a patient reference for CDS Hooks checks (one of
   200,000 patients, hashed with the configured key), and a time: one year, evenly spread, in
   order. 30% of the shown CDS Hooks alerts get feedback, overridden more often the less severe they
   are, with a coded reason. Each row becomes a leaf of the transparency log as it is loaded (the
   sealer's leaf hash, the perfect subtrees it completes), and one checkpoint signed with a key made
   for the run covers them all at the end, so ``audit verify`` must pass. The append-only triggers only refuse UPDATE/DELETE, so COPY is allowed. Then VACUUM ANALYZE,
   as autovacuum would after a load.
3. Measures in-process through the Flask test client (the full Flask, template and SQL path, no
   network), signed in as an auditor, with the real PostgreSQL engine: each list scenario
   (``--requests`` requests, 50 by default, with varied parameters), paging 50 pages deep, the detail
   page (random checks), each report through the API and on its own page
   (``/audit/reports?report=NAME``), all with p50/p95.
   For every scenario the slowest SQL statement is reported too, with its mean time, so a miss says
   which query needs an index.
4. Exports the full period as CSV through ``/audit/export.csv``, reading the streamed body chunk by
   chunk: rows/s per 100,000 rows, and the process RSS (``/proc/self/status`` VmRSS) sampled during
   the export, plus ``ru_maxrss`` before and after.
5. Times ``flask --app service audit verify`` (a subprocess, as an operator runs it, with this
   interpreter): every sealed leaf recomputed, and the checkpoint's root.

Run: ``.venv/bin/python bench/audit.py [--rows 1000000] [--requests 50] [--only PARTS] [--keep]
[--url URL [--skip-load]] [--json results.json]``. The load is CPU-bound in Python (about 5 minutes
for a million rows on 2 cores) and measuring everything takes about 15 more; run it in the
background with nohup. To iterate, load once and keep the server (``--keep --only ''`` loads and
measures nothing; it prints the URL), then measure some parts of it again and again with
``--url URL --skip-load --only list,reports`` (parts: list, paging, detail, reports, export,
verify; default all).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/http.py would shadow the standard library's ``http`` package (werkzeug imports it), so take
# this script's folder off the import path and put the repository root on it instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import atexit  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import psycopg  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from service import create_app  # noqa: E402
from service.appctx import database  # noqa: E402
from service.audit import reports  # noqa: E402
from service.db import Database, clients, kb_store, logged_alerts, transparency  # noqa: E402
from service.db.models import AlertLog, User, UserSession  # noqa: E402
from service.db.sealer import origin_of  # noqa: E402
from service.domain import merkle  # noqa: E402
from service.domain.check import CheckContext, MedicationInput, check, recognize  # noqa: E402
from service.domain.checkpoint import Checkpoint, SigningKey  # noqa: E402
from service.domain.document import (  # noqa: E402
    alert_record,
    medication_document,
    scope_document,
)
from service.domain.severity import Severity  # noqa: E402
from service.domain.snapshot import KbSnapshot  # noqa: E402
from service.kb.loader import read_knowledge_base  # noqa: E402

SEED = 20261126
SEED_DIR = ROOT / "seed_data"
PATIENT_REF_KEY = "bench-patient-reference-key"
TEMPLATES = 600
PATIENTS = 200_000
CLIENTS = 12
BATCH = 20_000
DAYS = 365
TARGET_MS = 300.0
VERIFY_TARGET_S = 60.0
CHANNELS = [("api", 35), ("cds-hooks", 35), ("rxnav", 10), ("web", 15), ("cli", 5)]
MISSPELLINGS = [
    "klonopinn", "oxycodon", "xanaxx", "ambienn", "hydrocodon", "gabapentine", "tramadoll",
    "percoset", "zanax", "lorazepan", "suboxon", "seroquell", "valume", "norcoe", "vitamin d3",
    "fish oil", "melatonin gummies", "tylenol pm extra", "turmeric", "cbd oil",
]  # fmt: skip
OVERRIDE_REASONS = [
    {"code": "benefit", "display": "Benefit outweighs risk", "system": "https://example.org/reasons"},
    {"code": "monitor", "display": "Will monitor the patient", "system": "https://example.org/reasons"},
    {"code": "palliative", "display": "Palliative care", "system": "https://example.org/reasons"},
    {"code": "tolerated", "display": "Patient tolerated before", "system": "https://example.org/reasons"},
]  # fmt: skip
OVERRIDE_CHANCE = {"minor": 0.7, "moderate": 0.55, "major": 0.35, "contraindicated": 0.15}


# --- the data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """One engine answer, reused by many rows (each row gets its own uuids, time and caller)."""

    raw: list[str]
    medications: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    scope: dict[str, Any]
    complete: bool
    highest: str | None
    age: int | None


def templates(kb: KbSnapshot, rng: random.Random) -> list[Template]:
    involved = sorted(n.name for n in kb.kb.names if set(n.ingredients) & kb.ingredients_with_rules)
    # Most of a real medication list is not a CNS depressant: metformin, lisinopril, atorvastatin…
    other = sorted(
        n.name for n in kb.kb.names if not set(n.ingredients) & kb.ingredients_with_rules
    )
    found = []
    for _ in range(TEMPLATES):
        size = rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6, 8])
        items = [rng.choice(involved if rng.random() < 0.3 else other) for _ in range(size)]
        if rng.random() < 0.10:
            items.append(rng.choice(MISSPELLINGS))
        items = list(dict.fromkeys(items))
        age = rng.choice([None, 34, 52, 70, 81])
        result = check(
            recognize([MedicationInput(text=t) for t in items], kb),
            kb,
            CheckContext(patient_age=age),
        )
        found.append(
            Template(
                raw=items,
                medications=[
                    medication_document(m, raw, kb)
                    for m, raw in zip(result.medications, items, strict=True)
                ],
                alerts=[alert_record(a, kb, True, "") for a in result.alerts],  # uuids: per row
                scope=scope_document(result, kb),
                complete=result.complete,
                highest=result.highest_severity.value if result.highest_severity else None,
                age=age,
            )
        )
    return found


def _inputs(channel: str, t: Template, rng: random.Random) -> dict[str, Any]:
    if channel == "cds-hooks":
        return {"hook": "order-select", "hookInstance": str(uuid.UUID(int=rng.getrandbits(128))),
                "medications": t.raw}  # fmt: skip
    if channel == "rxnav":
        return {"endpoint": "interaction/list.json", "rxcuis": t.raw, "sources": []}
    if channel == "web":
        return {"medications": t.raw, "drinks_alcohol": rng.random() < 0.3, "age": t.age}
    return {"medications": t.raw, "patient": {"age": t.age}}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def load(url: str, rows: int) -> None:
    """Fill the database: KB, clients, then ``rows`` checks by COPY, sealed as they load."""
    rng = random.Random(SEED)
    knowledge = read_knowledge_base(SEED_DIR)
    kb = KbSnapshot(knowledge.content_hash(), knowledge)
    db = Database.from_url(url)
    with db.unit_of_work() as session:
        version, _ = kb_store.store(session, knowledge)
        kb_store.activate(session, version)
        made = [
            clients.create(session, f"pharmacy-{n:02d}",
                           rng.choice(["minor", "minor", "moderate", "major"]), actor="bench")[0]
            for n in range(1, CLIENTS + 1)
        ]  # fmt: skip
        session.commit()
        client_levels = [(c.id, Severity(c.min_severity)) for c in made]
    db.dispose()
    pool = templates(kb, rng)
    print(f"  {len(pool)} answer templates; "
          f"{sum(bool(t.alerts) for t in pool)} with alerts, {sum(not t.complete for t in pool)} incomplete")  # fmt: skip
    patients = [
        hmac.new(PATIENT_REF_KEY.encode(), f"MRN-{n:07d}".encode(), hashlib.sha256).hexdigest()
        for n in range(PATIENTS)
    ]
    channel_names = [c for c, w in CHANNELS for _ in range(w)]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=DAYS)
    step = timedelta(days=DAYS) / rows
    pg_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    seq = 0
    tree = merkle.Appender()
    began = time.perf_counter()
    with psycopg.connect(pg_url) as conn:
        while seq < rows:
            log_rows: list[tuple[Any, ...]] = []
            alert_rows: list[tuple[Any, ...]] = []
            feedback_rows: list[tuple[Any, ...]] = []
            leaf_rows: list[tuple[Any, ...]] = []
            node_rows: list[tuple[Any, ...]] = []
            for _ in range(min(BATCH, rows - seq)):
                seq += 1
                created = start + step * seq + timedelta(microseconds=rng.randrange(1000))
                t = rng.choice(pool)
                channel = rng.choice(channel_names)
                client_id, floor = (None, None)
                if channel in ("api", "cds-hooks", "rxnav"):
                    client_id, floor = rng.choice(client_levels)
                alerts = []
                for a in t.alerts:
                    shown = floor is None or Severity(a["severity"]) >= floor
                    alerts.append(
                        {**a, "shown": shown, "uuid": str(uuid.UUID(int=rng.getrandbits(128)))}
                    )
                values = {
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "created_at": created,
                    "channel": channel,
                    "client_id": client_id,
                    "request_id": f"{rng.getrandbits(128):032x}",
                    "kb_version_id": kb.version,
                    "inputs": _inputs(channel, t, rng),
                    "medications": t.medications,
                    "alerts": alerts,
                    "scope": t.scope,
                    "complete": t.complete,
                    "highest_severity": t.highest,
                    "min_severity": floor.value if floor else None,
                    "patient_ref": rng.choice(patients) if channel == "cds-hooks" else None,
                }
                leaf = merkle.leaf_hash(
                    transparency.leaf_bytes(transparency.ALERT_LOG, seq, values)
                )
                leaf_rows.append((transparency.ALERT_LOG, tree.size, seq, leaf))
                node_rows.extend(
                    (transparency.ALERT_LOG, level, index, node)
                    for (level, index), node in tree.append(leaf)
                )
                log_rows.append((
                    values["id"], created, channel, client_id, values["request_id"], kb.version,
                    _dumps(values["inputs"]), _dumps(t.medications), _dumps(alerts), _dumps(t.scope),
                    t.complete, t.highest, values["min_severity"], values["patient_ref"],
                    seq,
                ))  # fmt: skip
                for a in alerts:
                    alert_rows.append((a["uuid"], values["id"], a["id"], a["rule"]["id"],
                                       a["severity"], a["shown"], created))  # fmt: skip
                    if channel == "cds-hooks" and a["shown"] and rng.random() < 0.30:
                        overridden = rng.random() < OVERRIDE_CHANCE[a["severity"]]
                        at = created + timedelta(seconds=rng.randrange(5, 600))
                        feedback_rows.append((
                            a["uuid"], values["id"], created, client_id,
                            "overridden" if overridden else "accepted",
                            "[]" if overridden else _dumps([f"{a['uuid'][:8]}-naloxone"]),
                            _dumps(rng.choice(OVERRIDE_REASONS)) if overridden else None,
                            rng.choice([None, None, "Discussed with prescriber", "Long-term stable dose"])
                            if overridden else None,
                            at, at + timedelta(seconds=1),
                        ))  # fmt: skip
            with conn.cursor() as cur:
                _copy(cur, "alert_log", (
                    "id", "created_at", "channel", "client_id", "request_id", "kb_version_id",
                    "inputs", "medications", "alerts", "scope", "complete", "highest_severity",
                    "min_severity", "patient_ref", "seq",
                ), log_rows)  # fmt: skip
                _copy(cur, "tlog_leaf", ("log", "leaf_index", "entry_seq", "hash"), leaf_rows)
                _copy(cur, "tlog_node", ("log", "level", "node_index", "hash"), node_rows)
                _copy(cur, "logged_alert",
                      ("uuid", "alert_log_id", "alert_id", "rule_code", "severity", "shown",
                       "created_at"),
                      alert_rows)  # fmt: skip
                _copy(cur, "cds_feedback", (
                    "alert_uuid", "alert_log_id", "check_created_at", "client_id", "outcome",
                    "accepted_suggestions", "override_reason", "override_comment", "outcome_at",
                    "received_at",
                ), feedback_rows)  # fmt: skip
                cur.execute(  # the alerts' index rows were copied with their checks
                    "UPDATE projection_mark SET seq = %s WHERE name = %s",
                    (seq, logged_alerts.MARK),
                )
            conn.commit()
            elapsed = time.perf_counter() - began
            print(f"  {seq:>9,} rows loaded  ({seq / elapsed:,.0f} rows/s)", flush=True)
        # The checks' sequence continues after the copied rows; one checkpoint covers them all.
        now = datetime.now(UTC)
        checkpoint = Checkpoint(
            origin_of("bench.local", transparency.ALERT_LOG), tree.size, tree.root(), now
        )
        conn.execute("SELECT setval('alert_log_seq', %s)", (max(seq, 1),))
        conn.execute(
            "INSERT INTO tlog_checkpoint (log, tree_size, root_hash, created_at, note) "
            "VALUES (%s, %s, %s, %s, %s)",
            (transparency.ALERT_LOG, tree.size, tree.root(), now,
             SigningKey.generate("bench").sign(checkpoint)),
        )  # fmt: skip
        conn.commit()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        began = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE {time.perf_counter() - began:.1f} s")
        for table in ("alert_log", "logged_alert", "cds_feedback"):
            size = conn.execute(
                "SELECT count(*), pg_size_pretty(pg_total_relation_size(%s::regclass)) FROM "
                + table,
                (table,),
            ).fetchone()
            print(f"  {table}: {size[0]:,} rows, {size[1]} with indexes and TOAST")  # type: ignore[index]


def _copy(
    cur: psycopg.Cursor[Any], table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# --- measuring -----------------------------------------------------------------------------------


class StatementTimer:
    """Wall time of every SQL statement, grouped by its text, for the scenario being measured."""

    def __init__(self, app: Flask) -> None:
        engine = app.extensions["database"].bind
        self.times: dict[str, list[float]] = defaultdict(list)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        started = conn.info["bench_started"].pop()
        self.times[statement].append((time.perf_counter() - started) * 1000)

    def reset(self) -> None:
        self.times.clear()

    def slowest(self) -> tuple[float, str]:
        if not self.times:
            return 0.0, ""
        statement, spent = max(self.times.items(), key=lambda item: statistics.mean(item[1]))
        return statistics.mean(spent), " ".join(statement.split())


@dataclass
class Result:
    name: str
    times_ms: list[float]
    slowest_ms: float
    slowest_sql: str

    @property
    def p50(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[max(0, round(0.95 * len(ordered)) - 1)]

    def line(self, target: float | None = TARGET_MS) -> str:
        verdict = "" if target is None else ("  ok" if self.p95 <= target else "  MISSED")
        return (f"{self.name:<44} n={len(self.times_ms):>3}  p50 {self.p50:8.1f} ms  "
                f"p95 {self.p95:8.1f} ms{verdict}")  # fmt: skip


def measure(
    name: str, browser: FlaskClient, urls: Iterator[str] | list[str], timer: StatementTimer
) -> Result:
    browser.get(next(iter(urls)) if isinstance(urls, list) else next(urls)).get_data()  # warm-up
    timer.reset()
    times = []
    for url in urls:
        began = time.perf_counter()
        response = browser.get(url)
        response.get_data()
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.get_data()[:300])
    slowest, sql = timer.slowest()
    result = Result(name, times, slowest, sql)
    print(result.line(), flush=True)
    return result


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_measurements(url: str, requests: int, parts: set[str]) -> dict[str, Any]:
    """The in-process scenarios of ``parts`` (list, paging, detail, reports, export)."""
    rng = random.Random(SEED + 1)
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "bench", "PATIENT_REF_KEY": PATIENT_REF_KEY}
    )
    report: dict[str, Any] = {"scenarios": []}
    with app.app_context():
        timer = StatementTimer(app)
        with database().unit_of_work() as session:
            user = User(name=f"bench-{secrets.token_hex(3)}", role="auditor", password_hash="-",
                        created_at=datetime.now(UTC))  # fmt: skip
            session.add(user)
            session.flush()
            sid = secrets.token_hex(32)
            now = datetime.now(UTC)
            session.add(UserSession(id=sid, user_id=user.id, created_at=now, last_seen_at=now))
            session.commit()
            total = session.scalar(select(AlertLog.seq).order_by(AlertLog.seq.desc()).limit(1)) or 0
            client_ids = [r[0] for r in session.execute(text("SELECT id FROM api_client"))]
            patient_refs = [r[0] for r in session.execute(text(
                "SELECT patient_ref FROM alert_log WHERE patient_ref IS NOT NULL "
                "AND seq % 997 = 0 LIMIT 500"))]  # fmt: skip
            ids = [r[0] for r in session.execute(
                select(AlertLog.id).where(AlertLog.seq.in_([rng.randrange(1, total + 1) for _ in range(requests)])))]  # fmt: skip
        browser = app.test_client()
        with browser.session_transaction() as cookie:
            cookie["sid"] = sid
        now = datetime.now(UTC).date()

        def window(days: int = 30) -> str:
            end = now - timedelta(days=rng.randrange(0, DAYS - days))
            return f"from={end - timedelta(days=days - 1)}&to={end}"

        def urls(make: Callable[[], str]) -> list[str]:
            return [make() for _ in range(requests)]

        print(f"\nList page (/audit/checks), {requests} requests each, varied parameters:")
        scenarios: list[tuple[str, Callable[[], str]]] = [
            ("no filter, newest first", lambda: "/audit/checks"),
            ("a 30-day period", lambda: f"/audit/checks?{window()}"),
            ("30 days + channel cds-hooks", lambda: f"/audit/checks?{window()}&channel=cds-hooks"),
            ("one client, all time", lambda: f"/audit/checks?client={rng.choice(client_ids)}"),
            ("highest severity major, all time", lambda: "/audit/checks?severity=" + rng.choice(["major", "contraindicated", "moderate"])),
            ("30 days + rule", lambda: f"/audit/checks?{window()}&rule=" + rng.choice(["R1", "R11", "C1", "R12", "D1"])),
            ("30 days + ingredient", lambda: f"/audit/checks?{window()}&ingredient=" + rng.choice(["oxycodone", "clonazepam", "alprazolam", "zolpidem", "alcohol"])),
            ("30 days + overridden", lambda: f"/audit/checks?{window()}&outcome=overridden"),
            ("30 days + no response", lambda: f"/audit/checks?{window()}&outcome=none"),
            ("one patient", lambda: f"/audit/checks?patient_ref={rng.choice(patient_refs)}"),
            ("30 days, sorted by client", lambda: f"/audit/checks?{window()}&sort=client&dir=asc"),
            ("30 days, sorted by severity", lambda: f"/audit/checks?{window()}&sort=severity&dir=desc"),
            ("all time, sorted by severity", lambda: "/audit/checks?sort=severity&dir=desc"),
            ("all time, sorted by channel", lambda: "/audit/checks?sort=channel&dir=asc"),
        ]  # fmt: skip
        for name, make in scenarios if "list" in parts else []:
            report["scenarios"].append(vars(measure(f"list: {name}", browser, urls(make), timer)))

        if "paging" in parts:  # follow "Next page" 50 times from the top
            page_times, link = [], "/audit/checks"
            timer.reset()
            for _ in range(50):
                began = time.perf_counter()
                html = browser.get(link).get_data(as_text=True)
                page_times.append((time.perf_counter() - began) * 1000)
                found = re.search(r'<a href="([^"]+)" rel="next">', html)
                assert found
                link = found.group(1).replace("&amp;", "&")
            deep = Result("list: 50 pages deep via next links", page_times, *timer.slowest())
            print(deep.line(), flush=True)
            report["scenarios"].append(vars(deep))

        if "detail" in parts:
            _measure_detail(browser, ids, timer, report)
        if "reports" in parts:
            _measure_reports(browser, urls, rng, client_ids, timer, report)
        if "export" in parts:
            print("\nFull-period CSV export (/audit/export.csv):")
            report["export"] = export_run(browser)
    return report


def _measure_detail(
    browser: FlaskClient, ids: list[str], timer: StatementTimer, report: dict[str, Any]
) -> None:
    print("\nDetail page (/audit/checks/<id>), random checks:")
    first = time.perf_counter()
    browser.get(f"/audit/checks/{ids[0]}").get_data()
    cold = (time.perf_counter() - first) * 1000
    print(f"{'detail: first request (rebuilds the KB version)':<44} {cold:8.1f} ms")
    report["detail_cold_ms"] = cold
    report["scenarios"].append(
        vars(measure("detail", browser, [f"/audit/checks/{i}" for i in ids], timer))
    )


def _measure_reports(
    browser: FlaskClient,
    urls: Callable[[Callable[[], str]], list[str]],
    rng: random.Random,
    client_ids: list[str],
    timer: StatementTimer,
    report: dict[str, Any],
) -> None:
    print("\nReports (default period: the last 30 days), through the API and the page:")
    for name in reports.REPORTS:
        result = measure(
            f"report: {name}",
            browser,
            urls(lambda name=name: f"/api/v1/audit/reports/{name}"),
            timer,
        )
        report["scenarios"].append(vars(result))
        page = measure(
            f"reports page: {name}",
            browser,
            urls(lambda name=name: f"/audit/reports?report={name}"),
            timer,
        )
        report["scenarios"].append(vars(page))
    report["scenarios"].append(vars(measure("report: alerts-per-day, one client", browser, urls(lambda: f"/api/v1/audit/reports/alerts-per-day?client={rng.choice(client_ids)}"), timer)))  # fmt: skip


def export_run(browser: FlaskClient) -> dict[str, Any]:
    rss_before, max_before = rss_kib(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    response = browser.get("/audit/export.csv", buffered=False)
    rows, size, samples, marks = -1, 0, [], []
    next_mark, mark_time = 100_000, began
    for chunk in response.response:
        rows += chunk.count(b"\n")
        size += len(chunk)
        if rows >= next_mark:
            now = time.perf_counter()
            marks.append(round(100_000 / (now - mark_time)))
            samples.append(rss_kib())
            next_mark, mark_time = next_mark + 100_000, now
    response.close()
    elapsed = time.perf_counter() - began
    rss_after, max_after = rss_kib(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "rows": rows, "bytes": size, "seconds": elapsed, "rows_per_s": rows / elapsed,
        "rows_per_s_per_100k": marks, "rss_kib_before": rss_before,
        "rss_kib_during": samples, "rss_kib_after": rss_after,
        "maxrss_kib_before": max_before, "maxrss_kib_after": max_after,
    }  # fmt: skip
    print(
        f"  {rows:,} rows, {size / 1e6:,.0f} MB in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s"
    )
    print(f"  rows/s per 100k rows: {marks}")
    print(f"  RSS: before {rss_before / 1024:.0f} MiB, during {[round(s / 1024) for s in samples]} MiB, "
          f"after {rss_after / 1024:.0f} MiB; peak RSS (ru_maxrss) before {max_before / 1024:.0f} MiB, "
          f"after {max_after / 1024:.0f} MiB")  # fmt: skip
    return result


def verify_run(url: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "PATIENT_REF_KEY": PATIENT_REF_KEY,
    }
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "service", "audit", "verify"],
        env=env, capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - began
    verdict = "ok" if elapsed <= VERIFY_TARGET_S and proc.returncode == 0 else "MISSED"
    print(f"\naudit verify: exit {proc.returncode} in {elapsed:.1f} s  {verdict}")
    print("  " + proc.stdout.strip().replace("\n", "\n  "))
    return {"seconds": elapsed, "exit": proc.returncode, "output": proc.stdout}


PARTS = ("list", "paging", "detail", "reports", "export", "verify")


def _parts(text: str) -> set[str]:
    chosen = {p.strip() for p in text.split(",") if p.strip()}
    if unknown := chosen - set(PARTS):
        raise argparse.ArgumentTypeError(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument(
        "--url", help="an existing, empty PostgreSQL database (else a throwaway one)"
    )
    parser.add_argument("--skip-load", action="store_true", help="measure an already loaded --url")
    parser.add_argument("--keep", action="store_true", help="leave the throwaway server running")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--only",
        type=_parts,
        default=set(PARTS),
        help=f"comma-separated parts to measure, of {','.join(PARTS)} (default: all; '' to load only)",
    )
    args = parser.parse_args()

    from tests.conftest import migrate
    from tests.pg_server import start_postgres

    server = None
    url = args.url
    if url is None:
        server = start_postgres("audit_bench")
        url = server.url
        print(f"PostgreSQL: {url}")
    try:
        if not args.skip_load:
            migrate(url)
            print(f"Loading {args.rows:,} checks:")
            began = time.perf_counter()
            load(url, args.rows)
            print(f"  loaded in {time.perf_counter() - began:.0f} s")
        figures = run_measurements(url, args.requests, args.only)
        if "verify" in args.only:
            figures["verify"] = verify_run(url)
        figures["rows"] = args.rows
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, default=str))
    finally:
        if server is not None and not args.keep:
            server.stop()
        elif server is not None:
            atexit.unregister(server.stop)  # pg_server stops its servers at exit unless told not to
            print(f"Server left running: {url} (data in {server.base_dir})")


if __name__ == "__main__":
    main()
