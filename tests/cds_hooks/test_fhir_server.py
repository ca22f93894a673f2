"""Fetching from the EHR's FHIR server: real local HTTP servers that page, stall, trickle, redirect."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from service import create_app
from service.db import clients

from .fhir_samples import bundle, coded_request, hook_request

SIGN = "/cds-services/interaction-alerts-order-sign"
QUERY = "/fhir/MedicationRequest?patient=example&status=active"
CLONAZEPAM = coded_request("a1", "197527", "clonazepam 0.5 MG Oral Tablet", status="active")
LISINOPRIL = coded_request("a2", "314076", "lisinopril 10 MG Oral Tablet", status="active")
OXYCODONE = coded_request("new1", "1049621", "oxycodone hydrochloride 5 MG Oral Tablet")

Route = Callable[[BaseHTTPRequestHandler], None]


class FhirServer:
    """A FHIR server on 127.0.0.1: each path (with its query) answers as its route says."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[tuple[str, str | None]] = []
        self.stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.seen.append((self.path, self.headers.get("Authorization")))
                route = server.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                # The service hangs up on a stalling server, as it should.
                with contextlib.suppress(OSError):
                    route(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/fhir"

    def json(self, path: str, document: Any) -> None:
        self.routes[path] = lambda handler: _send(handler, 200, document)

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _send(handler: BaseHTTPRequestHandler, status: int, document: Any) -> None:
    payload = json.dumps(document).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/fhir+json")
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


@pytest.fixture()
def fhir() -> Iterator[FhirServer]:
    server = FhirServer()
    yield server
    server.close()


@pytest.fixture()
def other_host() -> Iterator[FhirServer]:
    server = FhirServer()
    yield server
    server.close()


@pytest.fixture()
def registered(session: Session, api_key: str, fhir: FhirServer) -> FhirServer:
    """The FHIR server, registered for the test's client."""
    clients.add_fhir_server(session, "test-pharmacy", fhir.base, actor="test")
    session.commit()
    return fhir


def _request(
    server: FhirServer | str, prefetch: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    body = hook_request("order-sign", drafts=[dict(OXYCODONE)], prefetch=prefetch or {})
    body["fhirServer"] = server.base if isinstance(server, FhirServer) else server
    body["fhirAuthorization"] = {
        "access_token": "secret-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/MedicationRequest.read patient/Patient.read",
        "subject": "interaction-alerts",
    }
    body.update(extra)
    return body


def _page(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    page = bundle(*resources, kind="searchset")
    if next_url:
        page["link"] = [{"relation": "next", "url": next_url}]
    return page


def _is_412(response: Any) -> bool:
    return bool(
        response.status_code == 412 and response.get_json()["resourceType"] == "OperationOutcome"
    )


def test_two_pages_are_fetched_and_clonazepam_on_page_two_raises_the_alert(
    client: FlaskClient, registered: FhirServer
) -> None:
    registered.json(QUERY, _page(LISINOPRIL, next_url=f"{registered.base}?page=2"))
    registered.json("/fhir?page=2", _page(CLONAZEPAM))
    cards = client.post(SIGN, json=_request(registered)).get_json()["cards"]
    assert cards[0]["source"]["topic"]["code"] == "R1"
    assert [path for path, _ in registered.seen[:2]] == [QUERY, "/fhir?page=2"]
    assert all(auth == "Bearer secret-token" for _, auth in registered.seen)


def test_a_prefetched_first_page_is_completed_from_the_fhir_server(
    client: FlaskClient, registered: FhirServer
) -> None:
    registered.json("/fhir?page=2", _page(CLONAZEPAM))
    first = _page(LISINOPRIL, next_url=f"{registered.base}?page=2")
    body = _request(registered, prefetch={"activeMedications": first})
    cards = client.post(SIGN, json=body).get_json()["cards"]
    assert cards[0]["source"]["topic"]["code"] == "R1"


def test_a_next_page_on_another_server_is_not_fetched(
    client: FlaskClient, registered: FhirServer, other_host: FhirServer
) -> None:
    other_host.json("/fhir?page=2", _page(CLONAZEPAM))
    first = _page(LISINOPRIL, next_url=f"{other_host.base}?page=2")
    response = client.post(SIGN, json=_request(registered, prefetch={"activeMedications": first}))
    assert _is_412(response) and other_host.seen == []


def test_without_fhir_authorization_the_fhir_server_is_never_called(
    client: FlaskClient, registered: FhirServer
) -> None:
    registered.json(QUERY, _page(CLONAZEPAM))
    body = _request(registered)
    del body["fhirAuthorization"]
    response = client.post(SIGN, json=body)
    assert _is_412(response) and registered.seen == []
    assert "fhirAuthorization" in response.get_json()["issue"][0]["diagnostics"]


def test_a_fhir_server_not_registered_for_the_client_is_never_called(
    client: FlaskClient, fhir: FhirServer, api_key: str
) -> None:
    fhir.json(QUERY, _page(CLONAZEPAM))
    response = client.post(SIGN, json=_request(fhir))
    assert _is_412(response) and fhir.seen == []


def test_https_registration_does_not_allow_plain_http(
    client: FlaskClient, session: Session, fhir: FhirServer, api_key: str
) -> None:
    clients.add_fhir_server(session, "test-pharmacy", fhir.base.replace("http:", "https:"), "test")
    session.commit()
    fhir.json(QUERY, _page(CLONAZEPAM))
    assert _is_412(client.post(SIGN, json=_request(fhir))) and fhir.seen == []


@pytest.fixture()
def impatient(app: Flask, api_key: str) -> FlaskClient:
    """The service with a 1 s budget for everything it fetches, 2 kB and 3 pages."""
    configured = create_app(
        {
            **app.config,
            "CDS_FHIR_TOTAL_TIMEOUT": 1.0,
            "CDS_FHIR_MAX_BYTES": 2000,
            "CDS_FHIR_MAX_PAGES": 3,
        }
    )
    test_client = configured.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_key}"
    return test_client


def test_a_server_that_does_not_answer_is_412_within_the_time_budget(
    impatient: FlaskClient, registered: FhirServer
) -> None:
    def never_answers(handler: BaseHTTPRequestHandler) -> None:
        registered.stop.wait(10)

    registered.routes[QUERY] = never_answers
    started = time.monotonic()
    response = impatient.post(SIGN, json=_request(registered))
    assert _is_412(response) and time.monotonic() - started < 5
    assert "did not answer" in response.get_json()["issue"][0]["diagnostics"]


def test_a_server_that_trickles_its_answer_is_cut_off_at_the_time_budget(
    impatient: FlaskClient, registered: FhirServer
) -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            if registered.stop.wait(0.2):
                return

    registered.routes[QUERY] = trickle
    started = time.monotonic()
    assert _is_412(impatient.post(SIGN, json=_request(registered)))
    assert time.monotonic() - started < 5


def test_a_redirect_to_another_host_is_refused(
    client: FlaskClient, registered: FhirServer, other_host: FhirServer
) -> None:
    other_host.json(QUERY, _page(CLONAZEPAM))

    def redirect(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", f"http://localhost:{other_host.httpd.server_port}{QUERY}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    registered.routes[QUERY] = redirect
    response = client.post(SIGN, json=_request(registered))
    assert _is_412(response) and other_host.seen == []
    assert "redirected" in response.get_json()["issue"][0]["diagnostics"]


def test_a_redirect_within_the_same_server_is_followed(
    client: FlaskClient, registered: FhirServer
) -> None:
    registered.json("/fhir/moved", _page(CLONAZEPAM))

    def redirect(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(301)
        handler.send_header("Location", "/fhir/moved")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    registered.routes[QUERY] = redirect
    cards = client.post(SIGN, json=_request(registered)).get_json()["cards"]
    assert cards[0]["source"]["topic"]["code"] == "R1"


def test_an_answer_over_the_size_cap_is_412(impatient: FlaskClient, registered: FhirServer) -> None:
    registered.json(QUERY, _page(*[dict(LISINOPRIL, id=f"a{n}") for n in range(30)]))
    assert _is_412(impatient.post(SIGN, json=_request(registered)))


def test_endless_next_pages_stop_at_the_page_budget(
    impatient: FlaskClient, registered: FhirServer
) -> None:
    registered.json(QUERY, _page(next_url=f"{registered.base}?page=again"))
    registered.json("/fhir?page=again", _page(next_url=f"{registered.base}?page=again"))
    response = impatient.post(SIGN, json=_request(registered))
    assert _is_412(response) and len(registered.seen) <= 3


@pytest.mark.parametrize(
    "answer",
    [
        lambda h: _send(h, 500, {"resourceType": "OperationOutcome"}),
        lambda h: _send(h, 200, "not a bundle"),
        lambda h: _send(h, 200, {"resourceType": "bundle", "type": "searchset"}),
    ],
    ids=["server-error", "json-string", "lower-case-bundle"],
)
def test_a_failed_or_unreadable_fetch_is_412(
    client: FlaskClient, registered: FhirServer, answer: Route
) -> None:
    registered.routes[QUERY] = answer
    assert _is_412(client.post(SIGN, json=_request(registered)))


def test_what_was_fetched_is_never_echoed_beyond_drug_names(
    client: FlaskClient, registered: FhirServer
) -> None:
    noted = dict(CLONAZEPAM, note=[{"text": "SECRET-NOTE about the patient"}])
    broken = dict(LISINOPRIL, id="SECRET-ID", dosageInstruction="SECRET-DOSE")
    registered.json(QUERY, _page(noted, broken))
    registered.json(
        "/fhir/Patient/example",
        {
            "resourceType": "Patient",
            "id": "example",
            "name": [{"family": "SECRET-NAME"}],
            "birthDate": "1950-01-01",
        },
    )
    response = client.post(SIGN, json=_request(registered))
    assert response.status_code == 200
    assert "SECRET" not in response.get_data(as_text=True)
    assert any("could not be checked" in c["summary"] for c in response.get_json()["cards"])


def test_the_patient_is_fetched_for_the_age_when_not_prefetched(
    client: FlaskClient, registered: FhirServer
) -> None:
    registered.json(QUERY, _page(CLONAZEPAM))
    registered.json(
        "/fhir/Patient/example",
        {"resourceType": "Patient", "id": "example", "birthDate": "1950-01-01"},
    )
    client.post(SIGN, json=_request(registered))
    assert "/fhir/Patient/example" in [path for path, _ in registered.seen]


def test_operators_register_fhir_servers_per_client(app: Flask, api_key: str) -> None:
    runner = app.test_cli_runner()
    added = runner.invoke(
        args=["clients", "add-fhir-server", "test-pharmacy", "https://EHR.example.org/fhir/"]
    )
    assert added.exit_code == 0 and "https://ehr.example.org/fhir" in added.output
    listed = runner.invoke(args=["clients", "list"])
    assert "FHIR https://ehr.example.org/fhir" in listed.output
    for bad in (
        "ftp://ehr.example.org/fhir",
        "https://ehr.example.org/fhir?x=1",
        "https://u:p@ehr.example.org",
    ):
        refused = runner.invoke(args=["clients", "add-fhir-server", "test-pharmacy", bad])
        assert refused.exit_code != 0 and "not a FHIR base URL" in refused.output
    removed = runner.invoke(
        args=["clients", "remove-fhir-server", "test-pharmacy", "https://ehr.example.org/fhir"]
    )
    assert removed.exit_code == 0
