"""The real server, started as ``make run`` starts it, keeps answering every door while idle and slow
clients hold connections open: three idle connections used to stall all three sync workers."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CLIENT_TIMEOUT = 5.0  # seconds: a stalled server fails the test instead of hanging it
IDLE_CONNECTIONS = 3


@dataclass(frozen=True)
class Server:
    port: int
    api_key: str

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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """gunicorn with the serving settings ``make run`` uses, on a temporary SQLite database."""
    folder = tmp_path_factory.mktemp("serving")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'alerts.sqlite3'}",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "PUBLIC_BASE_URL": "http://127.0.0.1",
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
    served = Server(port, api_key)
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


class SlowClients:
    """Idle connections that send nothing, and slowloris clients trickling a byte at a time.

    Two slowloris kinds: one never finishes its headers, one sends whole headers announcing a body
    and then trickles the body. Each keeps trickling until the test ends.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.stop = threading.Event()
        self.sockets: list[socket.socket] = []
        self.threads: list[threading.Thread] = []

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=CLIENT_TIMEOUT)
        self.sockets.append(sock)
        return sock

    def trickle(self, head: bytes, rest: bytes) -> None:
        sock = self.connect()
        sock.sendall(head)

        def send_slowly() -> None:
            for byte in rest:
                if self.stop.wait(0.3):
                    return
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    return  # the server gave up on this client: that is allowed

        thread = threading.Thread(target=send_slowly, daemon=True)
        thread.start()
        self.threads.append(thread)

    def __enter__(self) -> SlowClients:
        for _ in range(IDLE_CONNECTIONS):
            self.connect()
        self.trickle(b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-Slow: " + b"a" * 200)
        body = json.dumps({"medications": ["oxycodone", "alprazolam"]}).encode()
        self.trickle(
            b"POST /api/v1/checks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode(),
            body,
        )
        time.sleep(1.0)  # every slow client is connected and sending before the others come
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        for sock in self.sockets:
            sock.close()


def test_every_door_answers_while_idle_and_slowloris_clients_hold_connections(
    server: Server,
) -> None:
    doors = [
        ("GET", "/healthz", None),
        ("POST", "/api/v1/checks", {"medications": ["oxycodone", "alprazolam"]}),
        ("GET", "/REST/interaction/list.json?rxcuis=2598+7804", None),
        ("GET", "/cds-services", None),
        ("GET", "/", None),
    ]
    with SlowClients(server.port):
        # More requests than workers, each on its own connection: every worker gets some.
        for _ in range(4):
            for method, path, body in doors:
                status, answer = server.request(method, path, body)
                assert status == 200, (path, answer[:500])
        status, answer = server.request(*doors[1][:2], doors[1][2])
    alerts = json.loads(answer)["alerts"]
    assert alerts, "the check answered under load must still find the opioid-benzodiazepine alert"
