"""A real server for the serving tests: gunicorn started as ``make run`` starts it."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.domain.checkpoint import SigningKey

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CLIENT_TIMEOUT = 5.0  # seconds: a stalled server fails the test instead of hanging it


@dataclass(frozen=True)
class Server:
    port: int
    api_key: str
    checkpoints: Path  # CHECKPOINT_EXPORT: the workers' sealer writes every checkpoint here
    verifier_key: str

    def request(
        self, method: str, path: str, body: dict[str, object] | None = None
    ) -> tuple[int, bytes]:
        """One request on a fresh connection, as a new client's would be."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT)
        headers = {"Authorization": f"Bearer {self.api_key}"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def operator(env: dict[str, str], *args: str) -> str:
    """An operator command, as ``make run`` runs it before serving."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "service", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """gunicorn with the serving settings ``make run`` uses, on a temporary SQLite database."""
    folder = tmp_path_factory.mktemp("serving")
    key = SigningKey.generate("serving-test")
    (folder / "checkpoints").mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'alerts.sqlite3'}",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "AUDIT_SIGNING_KEY": key.text(),
        "CHECKPOINT_EXPORT": str(folder / "checkpoints"),
    }
    operator(env, "db", "upgrade")
    operator(env, "kb", "load", "--activate")
    api_key = operator(env, "clients", "create", "slow-clients").strip().splitlines()[-1]
    port = free_port()
    log = (folder / "gunicorn.log").open("w")
    command = [str(BIN / "gunicorn"), "-c", "python:service.gunicorn_config"]
    process = subprocess.Popen(
        [*command, "--bind", f"127.0.0.1:{port}"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    served = Server(port, api_key, folder / "checkpoints", key.verifier_text())
    try:
        wait_until_ready(served, process, folder / "gunicorn.log")
        yield served
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def wait_until_ready(server: Server, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log.read_text()}")
        try:
            if server.request("GET", "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn never became ready:\n{log.read_text()}")
