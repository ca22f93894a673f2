"""The read-only endpoints: drug search, rules, KB info, health, readiness, OpenAPI and docs."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from service.api.schemas import DrugSearchResponse, KbResponse, RulesResponse

pytestmark = pytest.mark.both_databases  # keyset pagination of logged checks


def test_drug_search_finds_brands_and_generics_by_prefix(client: FlaskClient) -> None:
    body = client.get("/api/v1/drugs?q=klon").get_json()
    DrugSearchResponse.model_validate(body)
    names = [r["name"] for r in body["results"]]
    assert "Klonopin" in names
    klonopin = next(r for r in body["results"] if r["name"] == "Klonopin")
    assert klonopin["ingredients"] == [{"name": "clonazepam", "rxcui": "2598"}]


def test_drug_search_needs_a_query(client: FlaskClient) -> None:
    response = client.get("/api/v1/drugs")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"


def test_rules_list_every_policy_rule_with_sources(client: FlaskClient) -> None:
    body = client.get("/api/v1/rules").get_json()
    RulesResponse.model_validate(body)
    ids = {r["id"] for r in body["rules"]}
    assert {f"R{n}" for n in range(1, 17)} | {"D1", "D2", "C1", "H1", "H2"} <= ids
    assert all(r["sources"] for r in body["rules"])


def test_kb_reports_version_and_counts(client: FlaskClient) -> None:
    body = client.get("/api/v1/kb").get_json()
    KbResponse.model_validate(body)
    assert len(body["version"]) == 64 and body["counts"]["rules"] >= 21


def test_healthz_is_always_ok(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_reports_the_loaded_version(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["status"] == "ready"


def test_openapi_is_generated_from_the_request_models(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    request_schema = spec["components"]["schemas"]["CheckRequestBody"]
    assert request_schema["properties"]["medications"]["maxItems"] == 100
    assert "/api/v1/checks" in spec["paths"]


def test_the_docs_page_lists_the_endpoints(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)
    assert "/api/v1/checks" in page and "curl" in page


def test_the_docs_explain_the_ncpdp_fields_and_their_mapping(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)
    assert "439-E4" in page and "528-FS" in page
    assert "major → 1" in page and "moderate → 2" in page and "minor → 3" in page


def test_drug_search_by_prefix_offers_the_plain_product_first_with_its_label(
    client: FlaskClient,
) -> None:
    body = client.get("/api/v1/drugs?q=tyl&limit=5").get_json()
    DrugSearchResponse.model_validate(body)
    first = body["results"][0]
    assert first["name"] == "Tylenol" and first["label"] == "Tylenol (acetaminophen)"
    assert first["ingredients"] == [{"name": "acetaminophen", "rxcui": "161"}]


def test_drug_search_finds_rxnorm_brands_with_their_code(client: FlaskClient) -> None:
    body = client.get("/api/v1/drugs?q=eliq").get_json()
    eliquis = next(r for r in body["results"] if r["name"] == "Eliquis")
    assert eliquis["rxcui"] == "1364436" and eliquis["tty"] == "BN"
    assert eliquis["ingredients"] == [{"name": "apixaban", "rxcui": "1364430"}]


def test_drug_search_tolerates_typos(client: FlaskClient) -> None:
    body = client.get("/api/v1/drugs?q=lipitr").get_json()
    DrugSearchResponse.model_validate(body)
    assert body["results"][0]["label"] == "Lipitor (atorvastatin)"
