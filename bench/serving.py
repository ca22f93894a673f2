"""The service as the HTTP benches start it: migrated and loaded with the operator commands the
README gives, then served by gunicorn (or another server) until its ``/readyz`` answers 200."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
READY_WITHIN = 120.0  # seconds: the first /readyz builds the KB snapshot, slow on a busy machine


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def flask(env: dict[str, str], *args: str) -> str:
    """Run an operator command the way the README says; returns its stdout."""
    proc = subprocess.run(
        [str(BIN / "flask"), "--app", "service", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def prepare_database(env: dict[str, str], client: str) -> str:
    """Migrate, load the seed KB, create the API client ``client``; returns its key."""
    flask(env, "db", "upgrade")
    flask(env, "kb", "load", "--activate")
    return flask(env, "clients", "create", client).strip().splitlines()[-1]


def get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def gunicorn_command(port: int, *options: str, app: str = "service:create_app()") -> list[str]:
    """gunicorn with the serving settings ``make run`` uses (service/gunicorn_config.py)."""
    return [
        str(BIN / "gunicorn"), "-c", "python:service.gunicorn_config", app,
        "--bind", f"127.0.0.1:{port}", *options,
    ]  # fmt: skip


@contextmanager
def serving(command: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[int]:
    """Run ``command`` (a server listening on ``port``) until ready; yields its pid, SIGTERM on exit."""
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_WITHIN
        while True:
            try:
                if get(port, "/readyz") == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not become ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
