"""gunicorn server hooks for Prometheus' multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``).

Use as ``gunicorn -c python:service.observability.gunicorn_hooks ...``, or import both hooks into
the deployment's own gunicorn config file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess


def on_starting(server: Any) -> None:
    """Empty the directory before any worker starts: files left by an earlier run would be counted."""
    directory = _multiprocess_dir()
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges (its KB version), so only running workers report one."""
    directory = _multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(worker.pid, str(directory))  # type: ignore[no-untyped-call]


def _multiprocess_dir() -> Path | None:
    """Read from the environment, as prometheus_client itself does: these hooks run before any app."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(configured) if configured else None
