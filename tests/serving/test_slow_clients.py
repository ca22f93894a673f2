"""The real server, started as ``make run`` starts it, keeps answering every door while idle and slow
clients hold connections open: three idle connections used to stall all three sync workers."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from .conftest import CLIENT_TIMEOUT, Server

pytestmark = pytest.mark.slow

IDLE_CONNECTIONS = 3


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
    doors: list[tuple[str, str, dict[str, object] | None]] = [
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
