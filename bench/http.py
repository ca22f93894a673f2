"""HTTP benchmark: what a check costs over the wire compared with the cheapest request the app serves.

Why: a check is recognise + check + one logged transaction; ``GET /healthz`` goes through the same
gunicorn worker, WSGI and Flask stack but does nothing. Their throughput ratio (checks/healthz) says
how much of the service's capacity the real work takes, independently of how fast this machine is.
Targets (issue 17): ratio >= 0.30 on SQLite, >= 0.22 on PostgreSQL.

For each database (SQLite in a temp file; PostgreSQL from ``tests/pg_server.start_postgres()``) it:

1. migrates a fresh database with the operator commands (``flask --app service db upgrade``, ``kb load``,
   ``clients create`` for an API key), with ``DATABASE_URL`` in the environment;
2. starts gunicorn with the serving settings of ``make run`` (service/gunicorn_config.py) on a free
   127.0.0.1 port, with the worker model given on the command line (``--workers``, ``--worker-class
   sync|gthread``, ``--threads``), or ``--server waitress`` for comparison; with ``--idle N`` it holds
   N TCP connections open, sending nothing, through the measured runs (reopened if the server closes
   them), as the clients that stalled sync workers did;
3. warms up both endpoints (every worker builds its KB snapshot; the warm-up's checks are counted
   too, since ``alert_log`` is append-only and is not emptied);
4. drives ``POST /api/v1/checks`` (random 10-medication lists from the seed KB's ingredient and brand
   names, half of them from rule-involved names as in bench/engine.py; ``--bodies`` pre-generated
   JSON bodies, cycled) and ``GET /healthz`` with wrk, **alternating** runs of equal length
   (healthz, checks, healthz, checks, ... ``--rounds`` times each) at the same client concurrency.
   Alternating, not concurrent, by default: run side by side with closed-loop clients, both streams
   wait in the same accept queue, so the ratio drifts towards the ratio of connection counts as the
   queue grows and stops measuring cost; alone, each run measures the saturated throughput of its
   endpoint. Alternation cancels drift between the two. ``--mode concurrent`` runs both at once
   instead (useful to see healthz latency while checks load the workers; no cost ratio then).
   With ``--bare``, two yardsticks from bench/bare_app.py (the same app plus two routes) join the
   alternation: ``POST /bench/bare-insert`` only inserts the body as one row and commits (what
   issue 2 states its bar against), and ``POST /bench/unlogged-check`` only checks (the same
   parsing, check and answer, no database). A logged check does both; their CPU per response
   gives the best ratio a check could reach if its log write cost no more than the bare insert's.
5. counts the 200 answers to checks (from wrk's Lua ``response()``, warm-up included) and the
   ``alert_log`` rows (SQLAlchemy) afterwards: every answered check must be logged, and the fresh
   database had none, so the two must be equal.

The load generator: wrk (Debian package ``wrk``), one connection per wrk thread (``--connections``,
default 4, so 4 client threads on a 2-core machine, mostly asleep in epoll). A thread's timed run
ends at the first response past the deadline; it keeps sending (those answers are counted as late,
not timed) until every thread is past its deadline, then stops itself (``wrk.thread:stop()`` in
``response()``) right after a response, so no request is in flight when the run ends and the 200
count is exact. Latencies are recorded per request in Lua
(monotonic clock via LuaJIT's FFI, from ``request()`` to ``response()``) and written to files that
this script reads, so p50/p99 are exact over all rounds.

CPU accounting, because this is a shared 2-core machine: for each run it reports the CPU used by
gunicorn (master and workers, from /proc), by wrk (to show the client did not starve the server) and
by everything else (``other``: PostgreSQL, and other people's processes), the CPU the hypervisor gave
other virtual machines while this one wanted it (``steal``: noisy neighbours, invisible to the load
average), and gunicorn's CPU time per response. The ``CPU ratio`` (healthz CPU/response over checks CPU/response) is the throughput ratio
a CPU-bound server converges on, and other load distorts it far less than req/s. Before each run
the script waits (``--quiet-wait``, default 15 s) for other load to drop below ``--quiet-below``.

Run: ``.venv/bin/python bench/http.py [--workers 3] [--worker-class sync|gthread] [--threads 4]
[--server gunicorn|waitress] [--idle 0] [--databases sqlite postgres] [--duration 10] [--rounds 2]
[--connections 4] [--bare] [--instances 1] [--no-fast-paths]``

``--instances 2`` starts two separate gunicorns (as two hosts would run, each with ``--workers``) on
the one database, drives each with its own wrk of ``--connections``, and sums what they served. On
PostgreSQL the script samples ``pg_stat_activity`` every 20 ms during the checks runs and prints the
wait events of the client backends, with the statements that waited on a ``Lock``.
``--no-fast-paths`` runs the service with ``DATABASE_FAST_PATHS=false``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This file is named http.py: with bench/ first on sys.path it would shadow the standard library's
# ``http`` package (http.client, werkzeug). Take bench/ off the path and put the repository root on.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import ExitStack, contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import create_engine, func, select  # noqa: E402

from bench import serving  # noqa: E402
from bench.bare_app import BARE_INSERT  # noqa: E402
from bench.engine import code_version, draw_lists, sampling_pools  # noqa: E402
from bench.serving import BIN, free_port, gunicorn_command  # noqa: E402
from service.db.models import AlertLog  # noqa: E402
from service.domain.snapshot import KbSnapshot  # noqa: E402
from service.kb.loader import read_knowledge_base  # noqa: E402

# The operator commands and the server from the virtualenv that runs this script.
SEED = 20261126
LIST_SIZE = 10
TARGETS = {"sqlite": 0.30, "postgres": 0.22}
# What issue 2 says a bare insert-and-commit endpoint reaches on this machine.
BARE_PREMISE = {"sqlite": 0.43, "postgres": 0.25}
ENDPOINTS = {
    "healthz": ("GET", "/healthz"),
    "checks": ("POST", "/api/v1/checks"),
    "bare": ("POST", "/bench/bare-insert"),
    "unlogged": ("POST", "/bench/unlogged-check"),
}
YARDSTICKS = ("bare", "unlogged")

# One script for every endpoint. Each wrk thread has one connection and records its own latencies
# until the response that crosses the deadline. It then writes them out and keeps its connection
# busy (those "late" answers are only counted) until the script creates the stop file, and stops
# right after a response, so nothing is in flight at the end. Why not stop at the deadline: wrk
# reconnects as soon as a sync worker closes the connection, so a stopped thread leaves a connection
# it never uses; a worker waits on it, and once every worker waits on one, the threads still
# running get no answer until gunicorn kills the workers 30 s later.
LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
end

local requests, n, i = {}, 0, 0
local latencies, statuses, late = {}, {}, {}
local started, deadline, sent_at, out_prefix, finished

local function stop_requested()
  local f = io.open(out_prefix .. ".stop", "r")
  if f then f:close() end
  return f ~= nil
end

local function write_atomically(name, lines)
  local f = io.open(name .. ".tmp", "w")
  for _, line in ipairs(lines) do f:write(line, "\n") end
  f:close()
  os.rename(name .. ".tmp", name)  -- appears whole: the script waits for every thread's file
end

local function stop()
  local lines = {}
  for code, count in pairs(late) do lines[#lines + 1] = string.format("status %d %d", code, count) end
  write_atomically(out_prefix .. "-" .. id .. ".late", lines)
  wrk.thread:stop()
end

function init(args)
  local seconds, method, path = tonumber(args[1]), args[2], args[3]
  out_prefix, bodies_file, api_key = args[4], args[5], args[6]
  local headers = {}
  if method == "POST" then
    headers["Content-Type"] = "application/json"
    headers["Authorization"] = "Bearer " .. api_key
    for line in io.lines(bodies_file) do
      n = n + 1
      requests[n] = wrk.format("POST", path, headers, line)
    end
  else
    n = 1
    requests[1] = wrk.format("GET", path, headers)
  end
  i = (id * 97) % n  -- threads start at different bodies
  started = now()
  deadline = started + seconds
end

function request()
  i = i % n + 1
  sent_at = now()
  return requests[i]
end

function response(status, headers, body)
  local t = now()
  if finished then
    late[status] = (late[status] or 0) + 1
    if stop_requested() then stop() end
    return
  end
  latencies[#latencies + 1] = t - sent_at
  statuses[status] = (statuses[status] or 0) + 1
  if t >= deadline then
    local lines = {string.format("%.6f %.6f", started, t)}
    for code, count in pairs(statuses) do lines[#lines + 1] = string.format("status %d %d", code, count) end
    for _, l in ipairs(latencies) do lines[#lines + 1] = string.format("%.7f", l) end
    write_atomically(out_prefix .. "-" .. id .. ".txt", lines)
    finished = true
    if stop_requested() then stop() end
  end
end
"""


# --- results ----------------------------------------------------------------------------------


@dataclass
class Load:
    """Responses to one endpoint, summed over its runs."""

    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    late_statuses: dict[int, int] = field(default_factory=dict)  # after the deadline: not timed
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # seconds: server, wrk, machine
    run_rates: list[float] = field(default_factory=list)  # responses per second of each run

    @property
    def responses(self) -> int:
        return sum(self.statuses.values())

    @property
    def answered_200(self) -> int:
        """Every 200, timed or late: each one is a logged check."""
        return self.statuses.get(200, 0) + self.late_statuses.get(200, 0)

    @property
    def rate(self) -> float:
        return self.responses / self.seconds if self.seconds else 0.0

    def percentile_ms(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def add_run(self, out_dir: Path, prefix: str, threads: int) -> None:
        """Read the files the wrk threads wrote; wall time is first start to last stop.

        ``prefix`` may be several, comma-separated: one wrk per instance, read as one run."""
        starts, stops = [], []
        responses_before = self.responses
        prefixes = prefix.split(",")
        for path in sorted(p for name in prefixes for p in out_dir.glob(f"{name}-*.txt")):
            lines = path.read_text().splitlines()
            start, stop = map(float, lines[0].split())
            starts.append(start)
            stops.append(stop)
            for line in lines[1:]:
                if line.startswith("status "):
                    _, code, count = line.split()
                    self.statuses[int(code)] = self.statuses.get(int(code), 0) + int(count)
                else:
                    self.latencies.append(float(line))
        for path in sorted(p for name in prefixes for p in out_dir.glob(f"{name}-*.late")):
            for line in path.read_text().splitlines():
                _, code, count = line.split()
                self.late_statuses[int(code)] = self.late_statuses.get(int(code), 0) + int(count)
        if len(starts) < threads:
            # A thread that never saw a response after its deadline wrote nothing: its answers
            # are missing from the counts, so the 200s-versus-rows check would be wrong.
            raise RuntimeError(
                f"only {len(starts)} of {threads} wrk threads of {prefix} finished (see wrk's output)"
            )
        self.seconds += max(stops) - min(starts)
        self.run_rates.append((self.responses - responses_before) / (max(stops) - min(starts)))


@dataclass
class Outcome:
    database: str
    config: str
    healthz: Load
    checks: Load
    warmup_200: int
    logged: int
    yardsticks: dict[str, Load] = field(default_factory=dict)  # with --bare

    @property
    def ratio(self) -> float:
        return self.checks.rate / self.healthz.rate if self.healthz.rate else 0.0

    @property
    def round_ratios(self) -> list[float]:
        """Each round's checks over the healthz run just before it: how far the machine drifted."""
        return [c / h for h, c in zip(self.healthz.run_rates, self.checks.run_rates, strict=True)]

    @property
    def cpu_ratio(self) -> float:
        checks = cpu_per_response(self.checks)
        return cpu_per_response(self.healthz) / checks if checks else 0.0


def cpu_per_response(load: Load) -> float:
    """Seconds of gunicorn CPU (master and workers) per response."""
    return load.cpu.get("server", 0.0) / load.responses if load.responses else 0.0


# --- processes --------------------------------------------------------------------------------


def prepare_database(env: dict[str, str], bare: bool) -> str:
    """Migrate, load the seed KB, create an API client; returns its key.

    With ``bare``, also the table of bench/bare_app.py, here: its workers would race to create it.
    """
    key = serving.prepare_database(env, f"bench-{secrets.token_hex(4)}")
    if bare:
        engine = create_engine(env["DATABASE_URL"])
        try:
            BARE_INSERT.create(engine)
        finally:
            engine.dispose()
    return key


TICKS = os.sysconf("SC_CLK_TCK")


def process_tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and its direct children (gunicorn's master and workers)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        pid, ppid = int(stat.parent.name), int(fields[1])
        if root in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return total


def _machine_ticks() -> list[int]:
    """/proc/stat's machine-wide user, nice, system, idle, iowait, irq, softirq, steal."""
    return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]


def machine_busy_cpu() -> float:
    """CPU seconds spent by every process on the machine (all but idle and iowait)."""
    values = _machine_ticks()
    return (sum(values) - values[3] - values[4]) / TICKS


def stolen_cpu() -> float:
    """CPU seconds the hypervisor gave other machines while ours wanted them (a VM's noisy
    neighbours): what slows every endpoint alike but unevenly in time, so it shows per run."""
    return _machine_ticks()[7] / TICKS


def wait_for_quiet(limit: float, threshold: float) -> None:
    """Wait up to ``limit`` s until the machine (our server idle) is under ``threshold`` % of a core.

    This is a shared machine: other people's test suites would otherwise be measured as our
    latency. The 'other' CPU column shows what still ran during each run.
    """
    waited = time.monotonic()
    while True:
        before, start = machine_busy_cpu(), time.monotonic()
        time.sleep(1.0)
        busy = 100 * (machine_busy_cpu() - before) / (time.monotonic() - start)
        if busy < threshold:
            return
        if time.monotonic() - waited >= limit:
            print(
                f"  machine still {busy:.0f}% busy after {limit:g} s: measuring anyway", flush=True
            )
            return


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_counters(servers: list[int]) -> dict[str, float]:
    return {
        "server": sum(process_tree_cpu(server) for server in servers),
        "wrk": child_cpu(),  # children that have exited: the wrk runs (and the flask commands)
        "machine": machine_busy_cpu(),
        "steal": stolen_cpu(),
        "wall": time.monotonic(),
    }


@contextmanager
def gunicorn(env: dict[str, str], args: argparse.Namespace, log: Path) -> Iterator[tuple[int, int]]:
    """A gunicorn serving the app on a free port (yields port, master pid); SIGTERM on exit."""
    port = free_port()
    app = "bench.bare_app:create_app()" if args.bare else "service:create_app()"
    if args.server == "waitress":
        command = [
            str(BIN / "waitress-serve"), f"--listen=127.0.0.1:{port}", f"--threads={args.threads}",
            "--call", app.removesuffix("()"),
        ]  # fmt: skip
    else:  # the options override service/gunicorn_config.py's
        command = gunicorn_command(
            port,
            "--workers", str(args.workers),
            "--worker-class", args.worker_class,
            "--threads", str(args.threads),
            app=app,
        )  # fmt: skip
    with serving.serving(command, port, env, log) as pid:
        yield port, pid


class IdleConnections:
    """``count`` TCP connections that send nothing, reopened whenever the server closes one.

    Why: three such connections held every gunicorn sync worker and stalled all doors for ~30 s; with
    ``--idle`` they stay open through the measured runs, so the figures show whether they still do.
    """

    def __init__(self, port: int, count: int) -> None:
        self.port, self.count, self.reopened = port, count, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def __enter__(self) -> IdleConnections:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _hold(self) -> None:
        held = [socket.create_connection(("127.0.0.1", self.port)) for _ in range(self.count)]
        try:
            while not self._stop.wait(0.2):
                for i, sock in enumerate(held):
                    sock.setblocking(False)
                    try:
                        closed = sock.recv(1) == b""
                    except BlockingIOError:
                        closed = False
                    except OSError:
                        closed = True
                    if closed:
                        sock.close()
                        held[i] = socket.create_connection(("127.0.0.1", self.port))
                        self.reopened += 1
        finally:
            for sock in held:
                sock.close()


def start_wrk(
    port: int, endpoint: str, seconds: float, out_prefix: Path, bodies: Path, key: str,
    connections: int, script: Path,
) -> subprocess.Popen[str]:  # fmt: skip
    method, path = ENDPOINTS[endpoint]
    command = [
        "wrk", "-t", str(connections), "-c", str(connections),
        # wrk's own end comes much later: the threads stop cleanly first (deadline, stop file), and
        # a thread whose reconnect stalls (sync workers close every connection; a SYN to a port
        # still in TIME_WAIT is retried after 1 s, 3 s, ...) still gets to finish and report.
        "-d", f"{int(seconds) + 60}s", "--timeout", "30s", "-s", str(script),
        f"http://127.0.0.1:{port}{path}", "--",
        str(seconds), method, path, str(out_prefix), str(bodies), key,
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_threads(
    proc: subprocess.Popen[str], out_prefix: Path, connections: int, suffix: str = ".txt"
) -> None:
    """Until every wrk thread has written its ``suffix`` file (or wrk has exited)."""
    while len(list(out_prefix.parent.glob(f"{out_prefix.name}-*{suffix}"))) < connections:
        if proc.poll() is not None:
            return
        time.sleep(0.02)


def stop_threads(proc: subprocess.Popen[str], out_prefix: Path, connections: int) -> None:
    """Every thread has passed its deadline: let them stop, each right after a response."""
    out_prefix.with_name(out_prefix.name + ".stop").touch()
    wait_for_threads(proc, out_prefix, connections, ".late")


def finish_wrk(proc: subprocess.Popen[str], name: str) -> None:
    """wrk's main thread sleeps out its ``-d``; every thread is done, so interrupt it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate()
    if proc.returncode != 0 or "Socket errors" in output:
        print(f"  wrk ({name}) reported:\n{output}", flush=True)


class WaitEvents:
    """What PostgreSQL's client backends wait on while checks run, sampled from pg_stat_activity.

    Why: with several app processes (or hosts), a row every check locks would show as ``Lock``
    waits (``transactionid``/``tuple``) on the statement that locks it; each sample counts every
    backend, so the shares say where the checks' time in the database goes.
    """

    QUERY = (
        "SELECT coalesce(wait_event_type, 'CPU'), coalesce(wait_event, 'running'), "
        "left(regexp_replace(query, '\\s+', ' ', 'g'), 60) FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid() "
        "AND datname = current_database()"
    )

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples = 0
        self.counts: dict[tuple[str, str], int] = {}
        self.lock_queries: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _sample(self) -> None:
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                while not self._stop.wait(0.02):
                    rows = conn.exec_driver_sql(self.QUERY).all()
                    conn.rollback()
                    self.samples += 1
                    for kind, event, query in rows:
                        self.counts[(kind, event)] = self.counts.get((kind, event), 0) + 1
                        if kind == "Lock":
                            self.lock_queries[query] = self.lock_queries.get(query, 0) + 1
        finally:
            engine.dispose()

    def report(self) -> None:
        total = sum(self.counts.values())
        print(f"postgres wait events during the checks runs: {self.samples} samples, "
              f"{total / max(self.samples, 1):.2f} active client backends on average")  # fmt: skip
        for (kind, event), count in sorted(self.counts.items(), key=lambda kv: -kv[1]):
            print(f"  {kind:<10} {event:<22} {count:>7} ({100 * count / max(total, 1):.1f}%)")
        for query, count in sorted(self.lock_queries.items(), key=lambda kv: -kv[1]):
            print(f"  Lock waits on: {query!r}: {count}")


# --- one database -----------------------------------------------------------------------------


def write_bodies(path: Path, count: int) -> None:
    """``count`` JSON bodies, one a line: 10 names each, drawn as bench/engine.py draws them."""
    kb = read_knowledge_base(ROOT / "seed_data")
    pools = sampling_pools(KbSnapshot("seed", kb))
    lists = draw_lists(pools, LIST_SIZE, count, random.Random(SEED))
    path.write_text("".join(json.dumps({"medications": names}) + "\n" for names in lists))


def count_rows(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(AlertLog)) or 0)
    finally:
        engine.dispose()


def bench_database(name: str, url: str, args: argparse.Namespace, work: Path) -> Outcome:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(32),  # so nothing is written under instance/
        "LOG_LEVEL": "WARNING",
        "DATABASE_FAST_PATHS": "false" if args.no_fast_paths else "true",
    }
    key = prepare_database(env, args.bare)
    script = work / "bench.lua"
    script.write_text(LUA)
    bodies = work / "bodies.jsonl"
    healthz, checks, warm_checks = Load(), Load(), Load()
    yardsticks = {name: Load() for name in YARDSTICKS} if args.bare else {}
    config = (
        f"waitress t={args.threads}"
        if args.server == "waitress"
        else f"gunicorn {args.worker_class} w={args.workers} t={args.threads}"
    )
    config += f" x {args.instances} instance(s), fast paths {'off' if args.no_fast_paths else 'on'}"
    sampler = WaitEvents(url) if name == "postgres" else None
    with ExitStack() as servers:
        # One gunicorn per instance, each with its own workers and port: as separate hosts would run.
        instances = [
            servers.enter_context(gunicorn(env, args, work / f"gunicorn-{name}-{k}.log"))
            for k in range(args.instances)
        ]
        ports, masters = [i[0] for i in instances], [i[1] for i in instances]

        def start_all(endpoint: str, seconds: float, name: str) -> list[tuple[Path, Any]]:
            """One wrk per instance, each with ``--connections``: the load split between them."""
            return [
                (
                    work / f"{name}-i{k}",
                    start_wrk(
                        port,
                        endpoint,
                        seconds,
                        work / f"{name}-i{k}",
                        bodies,
                        key,
                        args.connections,
                        script,
                    ),
                )
                for k, port in enumerate(ports)
            ]

        def prefixes(name: str) -> str:
            return ",".join(f"{name}-i{k}" for k in range(args.instances))

        threads = args.connections * args.instances
        # Warm up every worker (snapshot build, imports, connection pool).
        for endpoint in ("healthz", "checks", *yardsticks):
            warm = start_all(endpoint, args.warmup, f"warm-{endpoint}")
            for out, proc in warm:
                wait_for_threads(proc, out, args.connections)
            for out, proc in warm:
                stop_threads(proc, out, args.connections)
            for _, proc in warm:
                finish_wrk(proc, f"warm-up {endpoint}")
        warm_checks.add_run(work, prefixes("warm-checks"), threads)

        runs = [("healthz", healthz), ("checks", checks), *yardsticks.items()]
        idle = IdleConnections(ports[0], args.idle)
        with idle:
            for round_no in range(args.rounds):
                batches = [runs] if args.mode == "concurrent" else [[run] for run in runs]
                for batch in batches:
                    wait_for_quiet(args.quiet_wait, args.quiet_below)
                    before = cpu_counters(masters)
                    procs = []
                    for endpoint, load in batch:
                        for out, proc in start_all(
                            endpoint, args.duration, f"{endpoint}-{round_no}"
                        ):
                            procs.append((endpoint, load, out, proc))
                    sampling = sampler is not None and any(e == "checks" for e, _ in batch)
                    if sampling and sampler is not None:
                        sampler.start()
                    for _, _, out, proc in procs:
                        wait_for_threads(proc, out, args.connections)
                    if sampling and sampler is not None:
                        sampler.stop()
                    during = cpu_counters(masters)
                    for _, _, out, proc in procs:
                        stop_threads(proc, out, args.connections)
                    for endpoint, _, _, proc in procs:
                        finish_wrk(proc, endpoint)
                    for endpoint, load in batch:
                        load.add_run(work, prefixes(f"{endpoint}-{round_no}"), threads)
                    after = {**during, "wrk": child_cpu()}  # wrk's CPU is known once it has exited
                    for _, load in batch:  # concurrent runs: each endpoint gets the whole
                        for what, value in after.items():
                            load.cpu[what] = load.cpu.get(what, 0.0) + value - before[what]
        idle_reopened = idle.reopened
        time.sleep(0.5)
        logged = count_rows(url)
    if sampler is not None:
        sampler.report()
    answered = checks.answered_200 + warm_checks.answered_200
    log = "".join(
        (work / f"gunicorn-{name}-{k}.log").read_text(errors="replace")
        for k in range(args.instances)
    )
    if answered != logged:
        print(f"{name}: {answered} answered, {logged} logged; gunicorn's log ends:\n{log[-4000:]}")
    replaced = [line for line in log.splitlines() if "WORKER TIMEOUT" in line]
    if replaced:
        # A replaced worker takes its CPU time out of the process tree: that run's CPU is wrong.
        print(f"{name}: gunicorn replaced workers during the runs, CPU figures are not valid:")
        print("\n".join(replaced[:10]))
    if args.idle:
        print(
            f"{name}: {args.idle} idle connections held; the server closed {idle_reopened}, reopened"
        )
    return Outcome(name, config, healthz, checks, warm_checks.answered_200, logged, yardsticks)


# --- report -----------------------------------------------------------------------------------


def report(outcomes: list[Outcome], args: argparse.Namespace) -> None:
    # Side by side, the server's CPU cannot be split between the endpoints, and the throughput
    # ratio follows the connection counts, not the cost: no per-request CPU and no verdict then.
    alternate = args.mode == "alternate"
    print(
        f"\n{outcomes[0].config}; wrk {args.connections} connections per instance "
        f"(1 per thread), {args.idle} idle connections held open; {args.mode}, "
        f"{args.rounds} x {args.duration:g} s per endpoint"
    )
    print(
        "server/wrk/other: % of one core during the runs (other = machine - server - wrk - steal:\n"
        f"PostgreSQL and processes not ours; {os.cpu_count()} cores here; steal: CPU the hypervisor "
        "gave other VMs). CPU/req: gunicorn's CPU"
        " time per response,\nwhich other load on the machine inflates far less than req/s."
    )
    print(
        f"{'database':<9} {'endpoint':<8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'non-200':>8} {'server':>7} {'wrk':>5} {'other':>6} {'steal':>6} {'CPU/req ms':>10}"
    )
    for o in outcomes:
        for endpoint, load in (("healthz", o.healthz), ("checks", o.checks), *o.yardsticks.items()):
            bad = load.responses - load.statuses.get(200, 0)
            wall = load.cpu.get("wall", 0.0) or 1.0
            server, wrk = load.cpu.get("server", 0.0), load.cpu.get("wrk", 0.0)
            steal = load.cpu.get("steal", 0.0)
            other = load.cpu.get("machine", 0.0) - server - wrk - steal
            print(
                f"{o.database:<9} {endpoint:<8} {load.rate:>8.1f} {load.percentile_ms(50):>8.2f} "
                f"{load.percentile_ms(99):>8.2f} {bad:>8} {100 * server / wall:>6.0f}% "
                f"{100 * wrk / wall:>4.0f}% {100 * other / wall:>5.0f}% {100 * steal / wall:>5.0f}% "
                + (f"{1000 * cpu_per_response(load):>10.2f}" if alternate else f"{'n/a':>10}")
            )
    print(
        f"\n{'database':<9} {'checks/healthz':>14} {'target':>7} {'':>6} {'CPU ratio':>9} "
        f"{'checks 200 (incl. warm-up)':>26} {'alert_log rows':>14}"
    )
    for o in outcomes:
        target = TARGETS[o.database]
        ok_200 = o.checks.answered_200 + o.warmup_200
        verdict = ("met" if o.ratio >= target else "MISSED") if alternate else "n/a"
        cpu_ratio = f"{o.cpu_ratio:>9.3f}" if alternate else f"{'n/a':>9}"
        equal = "equal" if ok_200 == o.logged else "DIFFER"
        print(
            f"{o.database:<9} {o.ratio:>14.3f} {target:>7.2f} {verdict:>6} {cpu_ratio} "
            f"{ok_200:>26} {o.logged:>14} {equal}"
        )
    print("CPU ratio = healthz CPU/req / checks CPU/req: the ratio a CPU-bound server would reach.")
    for o in outcomes if alternate else ():
        ratios = sorted(o.round_ratios)
        print(
            f"{o.database}: checks/healthz by round: min {ratios[0]:.3f}, median "
            f"{statistics.median(ratios):.3f}, max {ratios[-1]:.3f} ({len(ratios)} rounds; a wide "
            "spread means the machine's speed changed under the runs: run more rounds)"
        )
    for o in outcomes:
        if not o.yardsticks or not o.healthz.rate:
            continue
        bare, unlogged = o.yardsticks["bare"], o.yardsticks["unlogged"]
        healthz_cpu, bare_cpu = cpu_per_response(o.healthz), cpu_per_response(bare)
        unlogged_cpu = cpu_per_response(unlogged)
        print(
            f"{o.database}: bare insert {bare.rate / o.healthz.rate:.3f} of healthz "
            f"(CPU ratio {healthz_cpu / bare_cpu if bare_cpu else 0:.3f}; issue 2 "
            f"says about {BARE_PREMISE[o.database]:.2f}); a check costs "
            f"{1000 * (cpu_per_response(o.checks) - bare_cpu):.2f} ms of CPU more than the bare insert"
        )
        # A logged check parses, checks and answers (the unlogged check) and writes (the bare
        # insert's write: its CPU beyond /healthz's); with a log write no dearer than that one row:
        best = unlogged_cpu + bare_cpu - healthz_cpu
        print(
            f"{o.database}: unlogged check {unlogged.rate / o.healthz.rate:.3f} of healthz "
            f"({1000 * unlogged_cpu:.2f} ms CPU/req); the log write costs a check "
            f"{1000 * (cpu_per_response(o.checks) - unlogged_cpu):.2f} ms of CPU, the bare insert's "
            f"{1000 * (bare_cpu - healthz_cpu):.2f} ms; with a write that cheap, a CPU ratio of about "
            f"{healthz_cpu / best if best > 0 else 0:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--server", choices=("gunicorn", "waitress"), default="gunicorn")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="gthread")
    parser.add_argument(
        "--threads", type=int, default=4, help="per worker (gthread), or waitress's"
    )
    parser.add_argument("--idle", type=int, default=0,
                        help="TCP connections held open, sending nothing, during the runs")  # fmt: skip
    parser.add_argument("--databases", nargs="+", choices=("sqlite", "postgres"),
                        default=["sqlite", "postgres"])  # fmt: skip
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per endpoint")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (= threads)")
    parser.add_argument("--bodies", type=int, default=300, help="distinct check bodies")
    parser.add_argument("--mode", choices=("alternate", "concurrent"), default="alternate")
    parser.add_argument("--instances", type=int, default=1,
                        help="separate gunicorn instances (as separate hosts) on one database, "
                        "each with --workers and its own wrk of --connections")  # fmt: skip
    parser.add_argument("--no-fast-paths", action="store_true",
                        help="DATABASE_FAST_PATHS=false: the check's statements through SQLAlchemy")  # fmt: skip
    parser.add_argument("--bare", action="store_true",
                        help="also measure bench/bare_app.py's yardsticks: a bare insert, "
                        "an unlogged check")  # fmt: skip
    parser.add_argument("--quiet-wait", type=float, default=15.0,
                        help="max seconds to wait before each run for other load to stop")  # fmt: skip
    parser.add_argument("--quiet-below", type=float, default=30.0,
                        help="'quiet' = other processes under this %% of one core")  # fmt: skip
    args = parser.parse_args()
    # Stopped by a signal, still stop gunicorn and PostgreSQL (the finally blocks): a background
    # job ignores SIGINT unless we restore it, and SIGTERM would otherwise skip the cleanup.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    if args.server == "waitress" and not (BIN / "waitress-serve").exists():
        sys.exit("waitress is not installed (only this comparison uses it): pip install waitress")

    print(f"service code: {code_version()}; {time.strftime('%Y-%m-%d %H:%M:%S')}", flush=True)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        work = Path(tmp)
        write_bodies(work / "bodies.jsonl", args.bodies)
        for database in args.databases:
            run_dir = work / database
            run_dir.mkdir()
            shutil.copy(work / "bodies.jsonl", run_dir / "bodies.jsonl")
            if database == "sqlite":
                url = f"sqlite:///{run_dir / 'alerts.sqlite3'}"
                outcomes.append(bench_database(database, url, args, run_dir))
            else:
                from tests.pg_server import start_postgres

                server = start_postgres("alerts_bench")
                try:
                    outcomes.append(bench_database(database, server.url, args, run_dir))
                finally:
                    server.stop()
            print(f"{database}: done", flush=True)
    report(outcomes, args)


if __name__ == "__main__":
    main()
