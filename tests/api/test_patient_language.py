"""The JSON API answers patient texts in the language of Accept-Language, and says which."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from service.api.schemas import CheckResponse, RulesResponse
from service.db import kb_store
from service.db.models import AlertLog

from ..strategies import seed_knowledge

OPIOID_AND_BENZODIAZEPINE = {"medications": ["Klonopin 2 mg tablet", "Percocet"]}


def post_check(client: FlaskClient, accept_language: str | None) -> Any:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    return client.post("/api/v1/checks", json=OPIOID_AND_BENZODIAZEPINE, headers=headers)


def test_spanish_is_answered_when_asked_for_and_said_in_content_language(
    client: FlaskClient,
) -> None:
    response = post_check(client, "es")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "es"
    assert "Accept-Language" in response.headers["Vary"]
    body = response.get_json()
    CheckResponse.model_validate(body)
    (alert,) = body["alerts"]
    assert alert["patient_text_language"] == "es"
    assert alert["patient_text"].startswith("Tomar un opioide")
    assert "Pregunte por la naloxona" in alert["patient_text"]
    # R1's required sentence (P4) is in Spanish too, and clinicians still read English.
    assert alert["patient_text"].endswith("Dejarla de golpe puede ser peligroso.")
    assert "Boxed warning on both drugs" in alert["clinician_text"]


def test_english_is_the_default(client: FlaskClient) -> None:
    response = post_check(client, None)
    (alert,) = response.get_json()["alerts"]
    assert response.headers["Content-Language"] == "en"
    assert alert["patient_text_language"] == "en"
    assert alert["patient_text"].startswith("Taking an opioid")


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("es-MX", "es"),
        ("es-419,es;q=0.9", "es"),
        ("fr-CA, es;q=0.8, en;q=0.5", "es"),
        ("en;q=0.9, es;q=0.4", "en"),
        ("es;q=0.1, en", "en"),
        ("fr, de", "en"),
        ("*", "en"),
        ("es;q=0", "en"),
    ],
)
def test_quality_values_choose_the_language(
    client: FlaskClient, accept_language: str, expected: str
) -> None:
    response = post_check(client, accept_language)
    assert response.headers["Content-Language"] == expected
    assert response.get_json()["alerts"][0]["patient_text_language"] == expected


def test_the_log_is_language_neutral_and_a_check_reads_back_in_any_language(
    client: FlaskClient, session: Session
) -> None:
    spanish = post_check(client, "es").get_json()
    english = post_check(client, "en").get_json()
    logged = [session.get_one(AlertLog, a["check_id"]).alerts for a in (spanish, english)]
    assert [a["rule"] for a in logged[0]] == [a["rule"] for a in logged[1]]
    assert "patient_text" not in logged[0][0] and "patient_text_language" not in logged[0][0]
    again = client.get(f"/api/v1/checks/{spanish['check_id']}", headers={"Accept-Language": "en"})
    assert again.headers["Content-Language"] == "en"
    assert again.get_json()["alerts"][0]["patient_text"] == english["alerts"][0]["patient_text"]
    as_answered = client.get(
        f"/api/v1/checks/{spanish['check_id']}", headers={"Accept-Language": "es"}
    )
    assert as_answered.get_json() == spanish


def test_a_version_loaded_before_its_translation_answers_in_english_and_says_so(
    client: FlaskClient, session: Session
) -> None:
    knowledge = seed_knowledge()
    untranslated = replace(
        knowledge,
        rules=tuple(replace(rule, translations=()) for rule in knowledge.rules),
        scope=knowledge.scope + " (untranslated)",
    )
    version, _ = kb_store.store(session, untranslated)
    kb_store.activate(session, version)
    session.commit()
    response = post_check(client, "es")
    body = response.get_json()
    assert body["kb_version"] == version.id
    assert response.headers["Content-Language"] == "en"
    assert body["alerts"][0]["patient_text_language"] == "en"
    assert body["alerts"][0]["patient_text"].startswith("Taking an opioid")


def test_an_answer_without_alerts_names_the_language_asked_for(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/checks", json={"medications": ["sertraline"]}, headers={"Accept-Language": "es"}
    )
    assert response.get_json()["alerts"] == []
    assert response.headers["Content-Language"] == "es"


def test_the_rules_list_gives_each_rule_its_patient_text_in_the_language_asked_for(
    client: FlaskClient,
) -> None:
    response = client.get("/api/v1/rules", headers={"Accept-Language": "es"})
    body = response.get_json()
    RulesResponse.model_validate(body)
    assert response.headers["Content-Language"] == "es"
    r1 = next(rule for rule in body["rules"] if rule["id"] == "R1")
    assert r1["patient_text_language"] == "es" and r1["patient_text"].startswith("Tomar un")
    assert r1["management"].startswith("Co-prescribe")
