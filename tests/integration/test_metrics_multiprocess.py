"""Under gunicorn, workers pool their metrics in PROMETHEUS_MULTIPROC_DIR: one scrape sees them all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import create_app
from service.observability import gunicorn_hooks, metrics

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "multiprocess-scrape-token-0123456789abcdef"

# One worker's life in miniature: its own process, two requests and a KB version.
WORKER = """
import os, sys
from service import create_app
from service.observability import metrics
app = create_app({"TESTING": True, "DATABASE_URL": sys.argv[1], "SECRET_KEY": "test"})
client = app.test_client()
for _ in range(2):
    assert client.get("/healthz").status_code == 200
metrics.record_kb_version(None, sys.argv[2])
print(os.getpid())
"""


def run_worker(directory: Path, database_url: str, kb_version: str) -> int:
    environment = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", WORKER, database_url, kb_version],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return int(done.stdout.split()[-1])


def pooled(directory: Path) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = metrics.exposition(directory).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


REQUESTS = (
    "interaction_alerts_http_requests_total",
    frozenset({("door", "health"), ("status", "200")}),
)


def kb(version: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return ("interaction_alerts_kb_version_info", frozenset({("version", version)}))


@pytest.fixture()
def directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shared = tmp_path / "metrics"
    shared.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))  # as gunicorn's hooks see it
    return shared


def test_two_workers_counts_add_up_and_a_dead_workers_gauge_goes(
    directory: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'unused.sqlite3'}"
    first = run_worker(directory, url, "version-a")
    run_worker(directory, url, "version-b")
    found = pooled(directory)
    assert found[REQUESTS] == 4
    assert found[kb("version-a")] == 1 and found[kb("version-b")] == 1

    gunicorn_hooks.child_exit(None, SimpleNamespace(pid=first))
    found = pooled(directory)
    assert found[REQUESTS] == 4  # what a dead worker answered still counts
    assert kb("version-a") not in found and found[kb("version-b")] == 1


def test_the_metrics_endpoint_serves_what_all_workers_pooled(
    directory: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'unused.sqlite3'}"
    run_worker(directory, url, "version-a")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "test",
            "METRICS_TOKEN": TOKEN,
            "PROMETHEUS_MULTIPROC_DIR": str(directory),
        }
    )
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    families = text_string_to_metric_families(response.get_data(as_text=True))
    found = {(s.name, frozenset(s.labels.items())): s.value for f in families for s in f.samples}
    assert found[REQUESTS] == 2  # the worker's, from its files; this process counts in memory
    assert found[kb("version-a")] == 1


def test_gunicorn_start_empties_the_directory_of_an_earlier_run(
    directory: Path, tmp_path: Path
) -> None:
    run_worker(directory, f"sqlite:///{tmp_path / 'unused.sqlite3'}", "version-a")
    assert list(directory.iterdir())
    gunicorn_hooks.on_starting(None)
    assert directory.is_dir() and not list(directory.iterdir())
    assert REQUESTS not in pooled(directory)


def test_a_worker_creates_a_missing_directory_rather_than_failing_its_first_request(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "not-yet" / "metrics"
    run_worker(missing, f"sqlite:///{tmp_path / 'unused.sqlite3'}", "version-a")
    assert pooled(missing)[REQUESTS] == 2
