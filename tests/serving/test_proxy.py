"""The nginx configuration of docker-compose.yml (deploy/nginx/) is valid, plain and with TLS, and in
front of the real server it limits bodies per door and still answers while clients dawdle."""

from __future__ import annotations

import dataclasses
import datetime
import http.client
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .conftest import CLIENT_TIMEOUT, ROOT, Server, free_port

pytestmark = pytest.mark.slow

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_prefix(folder: Path, site: str, upstream_port: int, listen_port: int) -> Path:
    """deploy/nginx/ under a throwaway prefix; only the upstream's host and the ports change."""
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed (apt-get install nginx; .ci/run installs it)")
    shutil.copytree(ROOT / "deploy" / "nginx", folder / "alerts")
    for conf in (folder / "alerts").glob("*.conf"):
        text = conf.read_text().replace("server app:8000;", f"server 127.0.0.1:{upstream_port};")
        text = text.replace("listen [::]:80;", "").replace("listen [::]:443 ssl http2;", "")
        text = text.replace("listen 80;", f"listen 127.0.0.1:{listen_port};")
        text = text.replace("listen 443 ssl", f"listen 127.0.0.1:{free_port()} ssl")
        text = text.replace("/etc/nginx/tls/", f"{folder}/tls/")
        conf.write_text(text)
    temp = "".join(f"{kind}_temp_path {folder}/{kind};\n" for kind in
                   ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # fmt: skip
    main = folder / "nginx.conf"
    main.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
        + "events { worker_connections 256; }\n"
        + f"http {{\naccess_log off;\n{temp}include alerts/{site};\n}}\n"
    )
    return main


def self_signed(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "tls").mkdir()
    (folder / "tls" / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "tls" / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def nginx_test(main: Path) -> subprocess.CompletedProcess[str]:
    folder = main.parent
    return subprocess.run(
        [NGINX, "-t", "-p", f"{folder}/", "-c", str(main), "-e", f"{folder}/error.log"],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("site", ["alerts.conf", "alerts-tls.conf"])
def test_nginx_accepts_the_proxy_configuration(site: str, tmp_path: Path) -> None:
    self_signed(tmp_path)
    main = nginx_prefix(tmp_path, site, free_port(), free_port())
    done = nginx_test(main)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


@pytest.fixture(scope="module")
def proxy(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """nginx with deploy/nginx/alerts.conf in front of the real server; yields its port."""
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    main = nginx_prefix(folder, "alerts.conf", server.port, port)
    process = subprocess.Popen(
        [NGINX, "-p", f"{folder}/", "-c", str(main), "-e", f"{folder}/error.log"]
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"nginx exited: {(folder / 'error.log').read_text()}")
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def post(port: int, path: str, body: bytes, api_key: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
    try:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Content-Type") or ""
    finally:
        conn.close()


def padded_body(size: int) -> bytes:
    """A JSON document of ``size`` bytes: a check with a long, ignored padding string."""
    head = b'{"medications": ["oxycodone"], "padding": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


def test_the_proxy_refuses_a_body_over_64_kib_on_the_api(proxy: int, server: Server) -> None:
    status, content_type = post(proxy, "/api/v1/checks", padded_body(65 * 1024), server.api_key)
    # nginx's own page: the request never reached the service (whose 413 is a problem document).
    assert (status, content_type) == (413, "text/html")


def test_the_proxy_lets_a_cds_request_of_over_a_mebibyte_reach_the_service(
    proxy: int, server: Server
) -> None:
    status, content_type = post(
        proxy, "/cds-services/no-such-service", padded_body(1536 * 1024), server.api_key
    )
    # Past nginx's 64 KiB: the service itself answered (its JSON 404, not nginx's 413 page).
    assert (status, content_type) == (404, "application/json")


def test_the_proxy_answers_checks_while_idle_and_slow_clients_wait_on_it(
    proxy: int, server: Server
) -> None:
    from .test_slow_clients import SlowClients

    via_proxy = dataclasses.replace(server, port=proxy)
    with SlowClients(proxy):
        for _ in range(3):
            assert via_proxy.request("GET", "/healthz")[0] == 200
            status, _ = via_proxy.request(
                "POST", "/api/v1/checks", {"medications": ["oxycodone", "alprazolam"]}
            )
            assert status == 200
