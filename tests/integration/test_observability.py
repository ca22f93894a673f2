"""What operators see: request ids in and out, one JSON line per request, Prometheus metrics."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from service.db.models import AlertLog
from service.observability.logs import configure_logging

from ..cds_hooks.fhir_samples import hook_request, text_request
from ..web.helpers import post_form

METRICS_TOKEN = "scrape-token-for-the-tests-0123456789abcdef"
SIGN = "/cds-services/interaction-alerts-order-sign"


def log_lines(err: str) -> list[dict[str, Any]]:
    """The JSON lines written to standard error; any other line fails the test."""
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def access_lines(err: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(err) if line["logger"] == "service.access"]


@pytest.fixture()
def scraping(app: Flask) -> FlaskClient:
    """A client of an app whose /metrics is enabled, sending the scrape token."""
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    scraper = app.test_client()
    scraper.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {METRICS_TOKEN}"
    return scraper


def samples(scraper: FlaskClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = scraper.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


# --- X-Request-ID ----------------------------------------------------------------------------


def test_a_well_formed_request_id_is_echoed_and_logged_with_the_check(
    client: FlaskClient, session: Session
) -> None:
    given = "pharmacy-7f3a:0042"
    response = client.post(
        "/api/v1/checks",
        json={"medications": ["clonazepam", "oxycodone"]},
        headers={"X-Request-ID": given},
    )
    assert response.headers["X-Request-ID"] == given
    row = session.get(AlertLog, response.get_json()["check_id"])
    assert row is not None and row.request_id == given


@pytest.mark.parametrize(
    "given",
    ["x" * 65, "has space", 'quote"d', "<script>", "tab\there", "ünïcode", "-leading-dash", ""],
)
def test_a_malformed_request_id_is_replaced_by_a_new_one(
    anonymous: FlaskClient, given: str
) -> None:
    response = anonymous.get("/healthz", headers={"X-Request-ID": given})
    echoed = response.headers["X-Request-ID"]
    assert echoed != given
    assert len(echoed) == 32 and all(c in "0123456789abcdef" for c in echoed)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/api/v1/checks/01a218b8-dde3-7429-b4c2-2a7b9d027b33", 401),
        ("GET", "/api/v1/nowhere", 404),
        ("DELETE", "/api/v1/checks", 405),
        ("GET", "/", 200),
        ("GET", "/no-such-page", 404),
        ("GET", "/REST/interaction/list.json?rxcuis=2598+7804", 401),
    ],
)
def test_every_response_carries_a_request_id_even_errors_and_pages(
    anonymous: FlaskClient, method: str, path: str, status: int
) -> None:
    response = anonymous.open(path, method=method)
    assert response.status_code == status
    assert response.headers["X-Request-ID"]


def test_a_generated_request_id_differs_per_request(anonymous: FlaskClient) -> None:
    first, second = (anonymous.get("/healthz").headers["X-Request-ID"] for _ in range(2))
    assert first != second


# --- JSON log lines ----------------------------------------------------------------------------


def test_each_request_is_one_json_line_with_its_id_door_route_status_and_client(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    answer = client.post(
        "/api/v1/checks",
        json={"medications": ["clonazepam"]},
        headers={"X-Request-ID": "line-test-1"},
    )
    check_id = answer.get_json()["check_id"]
    client.get(f"/api/v1/checks/{check_id}", headers={"X-Request-ID": "line-test-2"})
    lines = access_lines(capsys.readouterr().err)
    assert [line["request_id"] for line in lines] == ["line-test-1", "line-test-2"]
    posted, read = lines
    assert posted["door"] == "api" and posted["method"] == "POST"
    assert posted["route"] == "/api/v1/checks" and posted["status"] == 200
    assert posted["client_id"] and posted["client_id"] == read["client_id"]
    assert isinstance(posted["duration_ms"], float) and posted["duration_ms"] > 0
    assert read["route"] == "/api/v1/checks/<check_id>"  # the template: never the id itself
    assert check_id not in json.dumps(lines)


def test_a_problem_answer_logs_its_type_with_the_request_id(
    anonymous: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = anonymous.post(
        "/api/v1/checks", json={"medications": ["clonazepam"]}, headers={"X-Request-ID": "p-1"}
    )
    assert response.status_code == 401
    (line,) = access_lines(capsys.readouterr().err)
    assert line["request_id"] == "p-1" and line["status"] == 401
    assert line["problem"] == "unauthorized" and line["client_id"] is None


def test_an_error_logged_during_a_request_carries_its_request_id(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/api/v1/boom", "api_boom", boom)
    capsys.readouterr()
    response = app.test_client().get("/api/v1/boom", headers={"X-Request-ID": "f-1"})
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "f-1"
    error, access = log_lines(capsys.readouterr().err)
    assert error["level"] == "ERROR" and error["request_id"] == "f-1"
    assert "RuntimeError: boom" in error["exception"]
    assert access["request_id"] == "f-1" and access["problem"] == "internal-error"
    assert access["route"] == "/api/v1/boom" and access["door"] == "none"


def test_no_log_line_names_a_medication_or_a_patient_even_at_debug(
    app: Flask, api_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("DEBUG")
    # Connections made from now on would log SQL parameters (the inputs) and FHIR query URLs.
    assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
    assert not logging.getLogger("urllib3.connectionpool").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("werkzeug").isEnabledFor(logging.INFO)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {api_key}"}
    capsys.readouterr()
    api = client.post(
        "/api/v1/checks", json={"medications": ["Klonopin", "Percocet"]}, headers=auth
    )
    rxnav = client.get("/REST/rxcui.json?name=Klonopin", headers=auth)
    typo = client.get("/REST/interaction/list.json?rxcuis=2598+Xanaxx", headers=auth)
    page = post_form(client, ["Klonopin", "Percocet"])
    body = hook_request(
        "order-sign", drafts=[text_request("d1", "Klonopin"), text_request("d2", "Percocet")]
    )
    body["context"]["patientId"] = "patient-4711-secret"
    cds = client.post(SIGN, json=body, headers=auth)
    configure_logging("INFO")
    assert [r.status_code for r in (api, rxnav, page, cds)] == [200, 200, 200, 200]
    assert typo.status_code in (200, 400)
    err = capsys.readouterr().err
    assert len(access_lines(err)) >= 6  # the form's GET for its token too
    for secret in ("klonopin", "percocet", "xanaxx", "patient-4711-secret"):
        assert secret not in err.lower()


# --- /metrics --------------------------------------------------------------------------------


def test_metrics_are_not_served_without_a_configured_token(anonymous: FlaskClient) -> None:
    response = anonymous.get("/metrics")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {METRICS_TOKEN}"])
def test_metrics_need_the_configured_bearer_token(app: Flask, authorization: str | None) -> None:
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    headers = {"Authorization": authorization} if authorization else {}
    response = app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="metrics"')
    assert b"interaction_alerts" not in response.data


def test_metrics_are_prometheus_text_with_the_token(scraping: FlaskClient) -> None:
    response = scraping.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    assert b"# TYPE interaction_alerts_http_requests_total counter" in response.data


def test_a_check_is_counted_by_severity_with_its_latency_and_unrecognised_inputs(
    client: FlaskClient, scraping: FlaskClient
) -> None:
    before = samples(scraping)
    answer = client.post("/api/v1/checks", json={"medications": ["clonazepam", "oxycodone", "zzq"]})
    assert answer.status_code == 200 and answer.get_json()["highest_severity"] == "major"
    client.post("/api/v1/checks", json={"medications": ["lisinopril"]})
    after = samples(scraping)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("interaction_alerts_checks_total", channel="api", highest_severity="major") == 1
    assert delta("interaction_alerts_checks_total", channel="api", highest_severity="none") == 1
    assert delta("interaction_alerts_unrecognised_inputs_total", channel="api") == 1
    assert delta("interaction_alerts_check_duration_seconds_count", channel="api") == 2
    assert delta("interaction_alerts_check_duration_seconds_sum", channel="api") > 0
    assert delta("interaction_alerts_http_requests_total", door="api", status="200") == 2
    assert delta("interaction_alerts_log_write_failures_total", channel="api") == 0
    kb_version = answer.get_json()["kb_version"]
    assert value(after, "interaction_alerts_kb_version_info", version=kb_version) == 1


def test_requests_are_counted_by_door_and_status(
    anonymous: FlaskClient, scraping: FlaskClient
) -> None:
    before = samples(scraping)
    anonymous.get("/healthz")
    anonymous.post("/api/v1/checks", json={"medications": ["clonazepam"]})  # no key: 401
    anonymous.get("/no-such-page")
    after = samples(scraping)
    for door, status in (("health", "200"), ("api", "401"), ("none", "404")):
        name = "interaction_alerts_http_requests_total"
        assert (
            value(after, name, door=door, status=status)
            - value(before, name, door=door, status=status)
            == 1
        ), (door, status)


def test_a_log_row_that_cannot_be_written_is_counted(
    client: FlaskClient, scraping: FlaskClient, connection: Connection
) -> None:
    name = "interaction_alerts_log_write_failures_total"
    before = value(samples(scraping), name, channel="api")
    client.post("/api/v1/checks", json={"medications": ["clonazepam"]})  # a caller remembered
    connection.execute(text("ALTER TABLE alert_log RENAME TO alert_log_unavailable"))
    response = client.post("/api/v1/checks", json={"medications": ["clonazepam", "oxycodone"]})
    assert response.status_code == 503
    assert value(samples(scraping), name, channel="api") - before == 1
