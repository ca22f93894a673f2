"""The service's Prometheus metrics, and their exposition for one process or all of gunicorn's.

Plain ``prometheus_client``, no Flask: the check path records into these. With
``PROMETHEUS_MULTIPROC_DIR`` set before the service starts, every worker writes its values to files
in that directory and a scrape of any worker adds them all up.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from ..domain.answer import CheckRecord

REQUESTS = Counter(
    "interaction_alerts_http_requests",
    "HTTP requests answered, by door (blueprint) and status code.",
    ["door", "status"],
)
CHECK_SECONDS = Histogram(
    "interaction_alerts_check_duration_seconds",
    "Time to evaluate a check and commit its log row, by channel.",
    ["channel"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CHECKS = Counter(
    "interaction_alerts_checks",
    "Checks answered (and logged), by channel and the highest severity among their alerts.",
    ["channel", "highest_severity"],
)
UNRECOGNISED_INPUTS = Counter(
    "interaction_alerts_unrecognised_inputs",
    "Medications in answered checks that the knowledge base did not recognise, by channel.",
    ["channel"],
)
LOG_WRITE_FAILURES = Counter(
    "interaction_alerts_log_write_failures",
    "Checks refused (503) because their alert-log row could not be written, by channel.",
    ["channel"],
)
KB_VERSION = Gauge(
    "interaction_alerts_kb_version_info",
    "1 for the knowledge-base version a live process checks against (0 once it moved on).",
    ["version"],
    multiprocess_mode="livemax",
)
SEAL_LAG_SECONDS = Histogram(
    "alerts_seal_lag_seconds",
    "Time from an entry's commit (its created_at, stamped just before) to its sealing, by log.",
    ["log"],
    buckets=(0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 120.0, 600.0),
)


def record_check(channel: str, entry: CheckRecord, seconds: float) -> None:
    """Count a logged check: its latency, highest severity and unrecognised inputs."""
    CHECK_SECONDS.labels(channel).observe(seconds)
    CHECKS.labels(channel, entry["highest_severity"] or "none").inc()
    unrecognised = sum(1 for m in entry["medications"] if m["status"] == "unrecognized")
    if unrecognised:
        UNRECOGNISED_INPUTS.labels(channel).inc(unrecognised)


def record_seal_lag(log: str, seconds: float) -> None:
    SEAL_LAG_SECONDS.labels(log).observe(seconds)


def record_log_write_failure(channel: str) -> None:
    LOG_WRITE_FAILURES.labels(channel).inc()


def record_kb_version(previous: str | None, current: str) -> None:
    """The process now checks against ``current``; ``previous`` drops to 0 rather than vanishing."""
    if previous is not None and previous != current:
        KB_VERSION.labels(previous).set(0)
    KB_VERSION.labels(current).set(1)


def exposition(multiprocess_dir: Path | None) -> bytes:
    """The text format of every metric: this process's, or all workers' from ``multiprocess_dir``."""
    if multiprocess_dir is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(multiprocess_dir))
    return generate_latest(registry)
