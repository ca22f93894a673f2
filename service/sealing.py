"""Where and how the sealer runs: its settings, its loop, and the export of each new checkpoint.

The sealer runs as a background thread in every gunicorn worker (``gunicorn_config``'s
``post_worker_init``): each tries every ``SEAL_INTERVAL`` and only the one that takes the lock
seals, so there is nothing else to start, and a deployment of several hosts keeps sealing while
any worker of any host is up. ``flask --app service audit seal`` runs the same loop in a process
of its own, for deployments that serve with something other than gunicorn. A sealer started after
downtime seals the backlog first, a batch per checkpoint.

Exports (``CHECKPOINT_EXPORT``) go out from a thread of their own, the newest checkpoint of each log
only: a slow or failing receiver never holds up sealing, and a failed export is logged and
superseded by the next checkpoint.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from .db import Database, logged_alerts, partitions, sealer, transparency
from .db.sealer import SealResult, origin_of
from .domain.checkpoint import SigningKey

log = logging.getLogger(__name__)

EXPORT_TIMEOUT = 5.0  # seconds for a receiver to take a checkpoint
PARTITIONS_EVERY = 3600.0  # seconds between the sealer's checks that the coming months exist
DEFAULT_ORIGIN = "interaction-alerts.local"


class MissingSigningKey(Exception):
    """Sealing needs the signing key, and neither AUDIT_SIGNING_KEY nor its file has one."""


def signing_key(config: Mapping[str, Any]) -> SigningKey:
    """The checkpoints' private key: AUDIT_SIGNING_KEY's text, or AUDIT_SIGNING_KEY_FILE's."""
    text = config.get("AUDIT_SIGNING_KEY") or ""
    path = config.get("AUDIT_SIGNING_KEY_FILE")
    if not text and path and Path(path).is_file():
        text = Path(path).read_text()
    if not text.strip():
        raise MissingSigningKey(
            "no audit signing key: set AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE "
            "(create one with `flask --app service audit keygen NAME`)"
        )
    return SigningKey.from_text(text.strip())


def log_origin(config: Mapping[str, Any]) -> str:
    """LOG_ORIGIN, else PUBLIC_BASE_URL's host, else a local name."""
    host = urlsplit(config.get("PUBLIC_BASE_URL") or "").hostname
    return str(config.get("LOG_ORIGIN") or host or DEFAULT_ORIGIN)


@dataclass(frozen=True)
class Sealing:
    """What a sealer needs: the database, the key, the logs' origin base and where to export."""

    db: Database
    key: SigningKey
    origin: str
    export: str = ""

    @classmethod
    def from_config(cls, db: Database, config: Mapping[str, Any]) -> Sealing:
        return cls(
            db, signing_key(config), log_origin(config), config.get("CHECKPOINT_EXPORT") or ""
        )


def seal_all(sealing: Sealing, exporter: Exporter | None = None) -> list[SealResult]:
    """Seal every committed entry of both logs, a checkpoint per batch; export the newest."""
    sealed = []
    for name in transparency.LOGS:
        origin = origin_of(sealing.origin, name)
        while (
            result := sealer.seal(sealing.db, name, sealing.key, origin, sealer.BATCH)
        ) is not None:
            sealed.append(result)
            if exporter is not None:
                exporter.offer(result)
            if result.tree_size - result.first_index < sealer.BATCH:
                break
    return sealed


def turn(sealing: Sealing, exporter: Exporter | None = None) -> None:
    """One turn of the background sealer: seal, then bring the auditors' alert index up.

    The index follows here, off the checks' path: no check waits for it or for its mark's lock.
    Errors are logged, and the next turn retries (readers catch the index up themselves anyway).
    """
    try:
        seal_all(sealing, exporter)
    except Exception:  # the database is down, say: try again next turn
        log.warning("sealing failed; retrying at the next turn", exc_info=True)
    try:
        logged_alerts.catch_up(sealing.db)
    except Exception:
        log.warning("could not bring the alert index up to date; readers will", exc_info=True)


def export_checkpoint(target: str, result: SealResult) -> None:
    """Send one checkpoint to ``target``: an http(s) URL (POST), a directory, or a file."""
    if urlsplit(target).scheme in ("http", "https"):
        response = requests.post(
            target,
            data=result.note.encode(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=EXPORT_TIMEOUT,
        )
        response.raise_for_status()
        return
    path = Path(target)
    if path.is_dir():  # every checkpoint kept: <dir>/<log>/<tree size>
        (path / result.log).mkdir(exist_ok=True)
        _write_atomically(path / result.log / str(result.tree_size), result.note)
    else:  # the newest of each log: <stem>-<log><suffix>, replaced whole
        _write_atomically(path.with_name(f"{path.stem}-{result.log}{path.suffix}"), result.note)


def _write_atomically(path: Path, text: str) -> None:
    """A reader never sees half a checkpoint: written beside it, then renamed over it."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Exporter:
    """Exports the newest checkpoint of each log from a thread of its own."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._pending: dict[str, SealResult] = {}
        self._sending = False
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="checkpoint-export", daemon=True)
        self._thread.start()

    def offer(self, result: SealResult) -> None:
        with self._ready:
            self._pending[result.log] = result  # an older one not sent yet is superseded
            self._ready.notify_all()

    def _run(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: bool(self._pending))
                batch, self._pending = self._pending, {}
                self._sending = True
            for result in batch.values():
                try:
                    export_checkpoint(self.target, result)
                except (OSError, requests.RequestException):
                    log.warning(
                        "could not export %s checkpoint %d to %s; the next one will be tried",
                        result.log, result.tree_size, self.target, exc_info=True,
                    )  # fmt: skip
            with self._ready:
                self._sending = False
                self._ready.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait until every checkpoint offered was sent or failed (the CLI's ``--once``, tests)."""
        with self._ready:
            return self._ready.wait_for(lambda: not self._pending and not self._sending, timeout)


class SealerThread(threading.Thread):
    """Seals every ``interval`` seconds until stopped; errors are logged and the next turn retries."""

    def __init__(self, sealing: Sealing, interval: float) -> None:
        super().__init__(name="sealer", daemon=True)
        self.sealing, self.interval = sealing, interval
        self.exporter = Exporter(sealing.export) if sealing.export else None
        self._stopping = threading.Event()

    def run(self) -> None:
        partitions_due = 0.0
        while not self._stopping.is_set():
            if time.monotonic() >= partitions_due:
                partitions_due = time.monotonic() + PARTITIONS_EVERY
                self._make_partitions()
            turn(self.sealing, self.exporter)
            self._stopping.wait(self.interval)

    def _make_partitions(self) -> None:
        """The logs' coming months (PostgreSQL), so no month's rows land in DEFAULT."""
        try:
            with self.sealing.db.transaction() as connection:
                made = partitions.ensure(connection)
        except Exception:  # rows still land, in DEFAULT: retry at the next hour
            log.warning("could not make the logs' coming partitions", exc_info=True)
            return
        if made:
            log.info("made the logs' partitions %s", ", ".join(made))

    def stop(self) -> None:
        self._stopping.set()


def post_worker_init(worker: Any) -> None:
    """gunicorn's hook: start this worker's sealer thread (the app is loaded by then)."""
    start_in_background(worker.wsgi)


def start_in_background(app: Any) -> SealerThread | None:
    """A sealer thread for ``app``'s database; None, with a warning, when there is no key."""
    try:
        sealing = Sealing.from_config(app.extensions["database"], app.config)
    except MissingSigningKey as missing:
        log.warning("the logs will not be sealed: %s", missing)
        return None
    thread = SealerThread(sealing, app.config["SEAL_INTERVAL"])
    thread.start()
    return thread
