"""The RxNav-compatible door: NLM's retired URLs and JSON shapes, answered by our check and logged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from service import create_app
from service.checking import SnapshotCache
from service.db import Database, clients
from service.db.models import AlertLog
from service.domain.check import CheckContext, Medication, MedicationInput, check, recognize
from service.domain.lookup import known_interactions
from service.domain.severity import AlertKind
from service.domain.snapshot import KbSnapshot

LIST = "/REST/interaction/list.json"
DRUG = "/REST/interaction/interaction.json"
RXCUI = "/REST/rxcui.json"

# Ingredient RxCUIs (IN) of the seed KB.
CLONAZEPAM = "2598"
OXYCODONE = "7804"
ETHANOL = "448"
LAMOTRIGINE = "28439"
OXYBATE = "2387302"
LISINOPRIL = "29046"  # recognised, but no rule covers it
SERTRALINE = "36437"  # with clonazepam: checked, and no rule fires
# acetaminophen 325 MG / oxycodone hydrochloride 5 MG Oral Tablet [Percocet]
PERCOCET_5_SBD = "1049640"
CLONAZEPAM_ODT_SCD = "349198"  # clonazepam 0.5 MG Disintegrating Oral Tablet
UNKNOWN = "99999999"

# NLM's documented list.json answer (standards.md section 3.2). Long texts are paraphrased: only the
# keys, the nesting and the JSON types are compared.
NLM_LIST_EXAMPLE: dict[str, Any] = {
    "nlmDisclaimer": "It is not the intention of NLM to provide specific medical advice...",
    "userInput": {"sources": [""], "rxcuis": ["152923", "207106"]},
    "fullInteractionTypeGroup": [
        {
            "sourceDisclaimer": "DrugBank is intended for educational and scientific research purposes...",
            "sourceName": "DrugBank",
            "fullInteractionType": [
                {
                    "comment": "Drug1 (rxcui = 152923, name = simvastatin 40 MG Oral Tablet [Zocor], tty = SBD). Drug2 (rxcui = 207106, name = fluconazole 50 MG Oral Tablet [Diflucan], tty = SBD). Drug1 is resolved to simvastatin, Drug2 is resolved to fluconazole and interaction asserted in DrugBank between Simvastatin and Fluconazole.",
                    "minConcept": [
                        {
                            "rxcui": "152923",
                            "name": "simvastatin 40 MG Oral Tablet [Zocor]",
                            "tty": "SBD",
                        },
                        {
                            "rxcui": "207106",
                            "name": "fluconazole 50 MG Oral Tablet [Diflucan]",
                            "tty": "SBD",
                        },
                    ],
                    "interactionPair": [
                        {
                            "interactionConcept": [
                                {
                                    "minConceptItem": {
                                        "rxcui": "36567",
                                        "name": "simvastatin",
                                        "tty": "IN",
                                    },
                                    "sourceConceptItem": {
                                        "id": "DB00641",
                                        "name": "Simvastatin",
                                        "url": "https://go.drugbank.com/drugs/DB00641#interactions",
                                    },
                                },
                                {
                                    "minConceptItem": {
                                        "rxcui": "4450",
                                        "name": "fluconazole",
                                        "tty": "IN",
                                    },
                                    "sourceConceptItem": {
                                        "id": "DB00196",
                                        "name": "Fluconazole",
                                        "url": "https://go.drugbank.com/drugs/DB00196#interactions",
                                    },
                                },
                            ],
                            "severity": "N/A",
                            "description": "The metabolism of Simvastatin can be decreased when combined with Fluconazole.",
                        }
                    ],
                }
            ],
        }
    ],
}

# NLM's documented interaction.json answer (standards.md section 3.3).
NLM_DRUG_EXAMPLE: dict[str, Any] = {
    "nlmDisclaimer": "It is not the intention of NLM to provide specific medical advice...",
    "interactionTypeGroup": [
        {
            "sourceDisclaimer": "DrugBank is intended for educational and scientific research purposes...",
            "sourceName": "DrugBank",
            "interactionType": [
                {
                    "comment": "nicotine 4 MG Chewing Gum (311975) is resolved to nicotine polacrilex (31765)",
                    "minConceptItem": {
                        "rxcui": "311975",
                        "name": "nicotine 4 MG Chewing Gum",
                        "tty": "SCD",
                    },
                    "interactionPair": NLM_LIST_EXAMPLE["fullInteractionTypeGroup"][0][
                        "fullInteractionType"
                    ][0]["interactionPair"],
                }
            ],
        }
    ],
}

# Members we add (documented in service/rxnav/shapes.py), by where they sit; everywhere else the keys
# are NLM's. NLM documents no userInput for interaction.json (standards.md 3.3).
OUR_ADDITIONS = {
    "$": frozenset(
        {"checkId", "unrecognizedRxcuis", "outsideScope", "alertsNotShown", "note", "userInput"}
    ),
    "$.fullInteractionTypeGroup.fullInteractionType": frozenset({"kind"}),
}


def assert_nlm_shape(ours: Any, nlm: Any, path: str = "$", where: str = "$") -> None:
    """Same keys, nesting and JSON types as NLM's example; lists are checked item by item."""
    if isinstance(nlm, dict):
        assert isinstance(ours, dict), path
        missing = nlm.keys() - ours.keys()
        assert not missing, f"{path}: missing {sorted(missing)}"
        extra = ours.keys() - nlm.keys()
        assert extra <= OUR_ADDITIONS.get(where, frozenset()), f"{path}: extra {extra}"
        for key, value in nlm.items():
            assert_nlm_shape(ours[key], value, f"{path}.{key}", f"{where}.{key}")
    elif isinstance(nlm, list):
        assert isinstance(ours, list) and ours, f"{path}: expected a non-empty array"
        for index, item in enumerate(ours):
            assert_nlm_shape(item, nlm[0], f"{path}[{index}]", where)
    else:
        assert isinstance(ours, str), f"{path}: {ours!r} is not a string (NLM sends strings)"


def leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    else:
        yield value


def openemr_reads(body: Any) -> list[dict[str, str]] | str:
    """Exactly what OpenEMR's ``list_action`` reads and shows (standards.md section 3.5)."""
    try:
        items = body["fullInteractionTypeGroup"][0]["fullInteractionType"]
    except (KeyError, IndexError, TypeError):
        return "No interactions found"
    return [
        {
            "comment": item["comment"],
            "drug1": item["minConcept"][0]["name"],
            "drug2": item["minConcept"][1]["name"],
            "severity": item["interactionPair"][0]["severity"],
            "description": item["interactionPair"][0]["description"],
        }
        for item in items
    ]


def interactions(client: FlaskClient, *rxcuis: str) -> Any:
    response = client.get(f"{LIST}?rxcuis={'+'.join(rxcuis)}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def pairs_of(body: Any) -> list[dict[str, Any]]:
    return [
        item["interactionPair"][0]
        for item in body.get("fullInteractionTypeGroup", [{}])[0].get("fullInteractionType", [])
    ]


def rule_ids(items: list[dict[str, Any]]) -> list[str]:
    return [p["interactionConcept"][0]["sourceConceptItem"]["id"] for p in items]


PREFIX_RANK = {
    "CONTRAINDICATED": 4,
    "MAJOR": 3,
    "MODERATE": 2,
    "MINOR": 1,
    "NOT CHECKED": 0,
    "NOT SHOWN": 0,
}
ALERT_KINDS = frozenset({"interaction", "duplication", "cumulative", "dose"})


def alert_entries(body: Any) -> list[dict[str, Any]]:
    """The entries that are alerts, without the notices after them (not checked, not shown)."""
    entries = body.get("fullInteractionTypeGroup", [{}])[0].get("fullInteractionType", [])
    return [item for item in entries if item["kind"] in ALERT_KINDS]


def alert_pairs(body: Any) -> list[dict[str, Any]]:
    return [item["interactionPair"][0] for item in alert_entries(body)]


def rank_of(description: str) -> int:
    return PREFIX_RANK[description.split(":", 1)[0]]


# --- list.json: shape -------------------------------------------------------------------------


def test_list_json_has_the_keys_nesting_and_string_types_of_nlms_example(
    client: FlaskClient,
) -> None:
    body = interactions(client, CLONAZEPAM, OXYCODONE, ETHANOL)
    assert_nlm_shape(body, NLM_LIST_EXAMPLE)
    assert all(isinstance(leaf, str) for leaf in leaves(body)), "every value is a string"
    assert body["userInput"] == {"sources": [""], "rxcuis": [CLONAZEPAM, OXYCODONE, ETHANOL]}
    group = body["fullInteractionTypeGroup"][0]
    assert group["sourceName"].startswith("InteractionAlerts ")
    assert "not a full drug compendium" in group["sourceDisclaimer"]
    assert "not come from the U.S. National Library of Medicine" in body["nlmDisclaimer"]
    kinds = [item["kind"] for item in group["fullInteractionType"]]
    assert kinds == ["interaction", "cumulative", "interaction", "interaction"]
    for item in group["fullInteractionType"]:
        assert len(item["interactionPair"]) == 1
        if item["kind"] == "interaction":
            assert len(item["minConcept"]) == 2
            assert len(item["interactionPair"][0]["interactionConcept"]) == 2


def test_each_pair_names_the_input_drugs_their_ingredients_and_the_rule(
    client: FlaskClient,
) -> None:
    body = interactions(client, CLONAZEPAM, OXYCODONE)
    (item,) = body["fullInteractionTypeGroup"][0]["fullInteractionType"]
    assert item["minConcept"] == [
        {"rxcui": CLONAZEPAM, "name": "clonazepam", "tty": "IN"},
        {"rxcui": OXYCODONE, "name": "oxycodone", "tty": "IN"},
    ]
    pair = item["interactionPair"][0]
    clonazepam, oxycodone = pair["interactionConcept"]
    assert clonazepam["minConceptItem"] == {"rxcui": CLONAZEPAM, "name": "clonazepam", "tty": "IN"}
    assert oxycodone["sourceConceptItem"]["id"] == "R1"
    assert oxycodone["sourceConceptItem"]["url"].startswith("https://")
    assert pair["severity"] == "high"
    assert pair["description"].startswith("MAJOR: Clonazepam + oxycodone:")
    assert item["comment"].startswith(
        f"Drug1 (rxcui = {CLONAZEPAM}, name = clonazepam, tty = IN). "
        f"Drug2 (rxcui = {OXYCODONE}, name = oxycodone, tty = IN). "
        "Drug1 is resolved to clonazepam, Drug2 is resolved to oxycodone and interaction asserted in "
        "InteractionAlerts "
    )
    assert "Rule R1" in item["comment"]


# --- list.json: what OpenEMR shows ----------------------------------------------------------------


def test_openemr_shows_the_opioid_benzodiazepine_alcohol_alerts_most_severe_first(
    client: FlaskClient,
) -> None:
    shown = openemr_reads(interactions(client, CLONAZEPAM, OXYCODONE, ETHANOL))
    assert isinstance(shown, list)
    assert [(row["drug1"], row["drug2"]) for row in shown] == [
        ("clonazepam", "ethanol"),
        ("clonazepam", "oxycodone"),  # C1, three CNS depressants: the first two of its three drugs
        ("clonazepam", "oxycodone"),
        ("oxycodone", "ethanol"),
    ]
    assert all(row["severity"] == "high" for row in shown)
    assert all(row["description"].startswith("MAJOR: ") for row in shown)
    assert "Rule C1" in shown[1]["comment"] and "Drug3 (rxcui = 448" in shown[1]["comment"]


def test_a_contraindicated_pair_comes_first_whatever_the_input_order(client: FlaskClient) -> None:
    forward = interactions(client, LAMOTRIGINE, CLONAZEPAM, OXYBATE, ETHANOL)
    backward = interactions(client, ETHANOL, OXYBATE, CLONAZEPAM, LAMOTRIGINE)
    for body in (forward, backward):
        shown = openemr_reads(body)
        assert isinstance(shown, list)
        assert shown[0]["description"].startswith("CONTRAINDICATED: Ethanol + oxybate")
        assert shown[0]["severity"] == "high"
        ranks = [rank_of(row["description"]) for row in shown]
        assert ranks == sorted(ranks, reverse=True) and ranks[-1] == 2  # R14 is moderate
        assert shown[-1]["severity"] == "moderate"
    assert rule_ids(pairs_of(forward)) == rule_ids(pairs_of(backward))


def test_an_alert_about_three_drugs_with_no_pair_alert_is_not_shown_as_no_interactions(
    client: FlaskClient,
) -> None:
    # Levetiracetam, topiramate and zonisamide: three anticonvulsants, so no pair rule (two members
    # of one class are not an interaction), but three CNS depressants (C1).
    body = interactions(client, "114477", "38404", "39998")
    (item,) = body["fullInteractionTypeGroup"][0]["fullInteractionType"]
    assert item["kind"] == "cumulative"
    names = ["levetiracetam", "topiramate", "zonisamide"]
    assert [d["name"] for d in item["minConcept"]] == names
    pair = item["interactionPair"][0]
    assert [c["minConceptItem"]["name"] for c in pair["interactionConcept"]] == names
    assert pair["interactionConcept"][0]["sourceConceptItem"]["id"] == "C1"
    shown = openemr_reads(body)
    assert isinstance(shown, list)
    assert shown[0]["severity"] == "moderate" and shown[0]["description"].startswith("MODERATE: ")


@pytest.mark.parametrize(
    ("rxcui", "name", "tty"),
    [
        (
            PERCOCET_5_SBD,
            "acetaminophen 325 MG / oxycodone hydrochloride 5 MG Oral Tablet [Percocet]",
            "SBD",
        ),
        (OXYCODONE, "oxycodone", "IN"),
    ],
)
def test_a_product_level_rxcui_resolves_to_its_ingredients(
    client: FlaskClient, rxcui: str, name: str, tty: str
) -> None:
    body = interactions(client, rxcui, CLONAZEPAM_ODT_SCD)
    (item,) = alert_entries(body)
    assert item["minConcept"] == [
        {"rxcui": rxcui, "name": name, "tty": tty},
        {
            "rxcui": CLONAZEPAM_ODT_SCD,
            "name": "clonazepam 0.5 MG Disintegrating Oral Tablet",
            "tty": "SCD",
        },
    ]
    concepts = [c["minConceptItem"] for c in item["interactionPair"][0]["interactionConcept"]]
    assert concepts == [
        {"rxcui": OXYCODONE, "name": "oxycodone", "tty": "IN"},
        {"rxcui": CLONAZEPAM, "name": "clonazepam", "tty": "IN"},
    ]
    assert "Drug1 is resolved to oxycodone, Drug2 is resolved to clonazepam" in item["comment"]


def test_the_same_drug_twice_is_shown_as_a_duplication(client: FlaskClient) -> None:
    shown = openemr_reads(interactions(client, CLONAZEPAM, CLONAZEPAM_ODT_SCD))
    assert isinstance(shown, list) and len(shown) == 1
    assert shown[0]["description"].startswith("MAJOR: ")
    assert "duplication asserted" in shown[0]["comment"]
    assert (shown[0]["drug1"], shown[0]["drug2"]) == (
        "clonazepam",
        "clonazepam 0.5 MG Disintegrating Oral Tablet",
    )


# --- list.json: unknown is not "nothing found" ------------------------------------------------------


def test_checked_and_nothing_found_has_no_group_and_no_note(
    client: FlaskClient,
) -> None:
    body = interactions(client, CLONAZEPAM, SERTRALINE)
    assert "fullInteractionTypeGroup" not in body
    assert "unrecognizedRxcuis" not in body and "note" not in body
    assert "outsideScope" not in body and "alertsNotShown" not in body
    assert openemr_reads(body) == "No interactions found"


def test_a_recognised_drug_no_rule_covers_gets_one_visible_not_checked_entry(
    client: FlaskClient,
) -> None:
    body = interactions(client, CLONAZEPAM, LISINOPRIL, "6809")  # and metformin
    assert body["outsideScope"] == ["lisinopril", "metformin"]
    shown = openemr_reads(body)
    assert isinstance(shown, list) and len(shown) == 1
    (row,) = shown
    assert row["severity"] == "not checked"  # never "N/A", which clients read as "no interaction"
    assert row["description"].startswith(
        "NOT CHECKED: The interactions of lisinopril, metformin were NOT checked"
    )
    assert (row["drug1"], row["drug2"]) == ("lisinopril", "metformin")
    assert "not a full drug compendium" in row["comment"]
    (entry,) = body["fullInteractionTypeGroup"][0]["fullInteractionType"]
    assert entry["kind"] == "outside-scope"
    assert_nlm_shape(body, NLM_LIST_EXAMPLE)


def test_one_drug_outside_the_scope_is_named_with_the_other_drugs(client: FlaskClient) -> None:
    shown = openemr_reads(interactions(client, CLONAZEPAM, OXYCODONE, LISINOPRIL))
    assert isinstance(shown, list)
    assert [row["severity"] for row in shown] == ["high", "not checked"]
    assert (shown[1]["drug1"], shown[1]["drug2"]) == ("lisinopril", "the other drugs in this list")


def test_an_unknown_rxcui_alone_with_no_alerts_is_shown_as_not_checked(
    client: FlaskClient,
) -> None:
    body = interactions(client, CLONAZEPAM, UNKNOWN)
    assert body["userInput"]["rxcuis"] == [CLONAZEPAM, UNKNOWN]
    assert body["unrecognizedRxcuis"] == [UNKNOWN]
    assert "NOT checked" in body["note"]
    shown = openemr_reads(body)
    assert isinstance(shown, list) and len(shown) == 1
    assert shown[0]["severity"] == "not checked"
    assert shown[0]["description"].startswith(f"NOT CHECKED: RxCUI {UNKNOWN} was not recognised")
    assert f"RxCUI {UNKNOWN}" in shown[0]["drug1"]


def test_an_unknown_rxcui_is_listed_after_the_interactions_that_were_found(
    client: FlaskClient,
) -> None:
    body = interactions(client, UNKNOWN, CLONAZEPAM, OXYCODONE)
    assert_nlm_shape(body, NLM_LIST_EXAMPLE)
    shown = openemr_reads(body)
    assert isinstance(shown, list)
    assert [row["severity"] for row in shown] == ["high", "not checked"]
    assert shown[0]["description"].startswith("MAJOR: Clonazepam + oxycodone")
    assert body["unrecognizedRxcuis"] == [UNKNOWN]


# --- list.json: parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        f"rxcuis={CLONAZEPAM}+{OXYCODONE}",
        f"rxcuis={CLONAZEPAM}%20{OXYCODONE}",
        f"rxcuis={CLONAZEPAM}%2B{OXYCODONE}",
        f"rxcuis={CLONAZEPAM}&rxcuis={OXYCODONE}",
        f"rxcuis=+{CLONAZEPAM}++{OXYCODONE}+",
    ],
)
def test_the_list_is_read_however_the_separator_is_sent(client: FlaskClient, query: str) -> None:
    body = client.get(f"{LIST}?{query}").get_json()
    assert body["userInput"]["rxcuis"] == [CLONAZEPAM, OXYCODONE]
    assert rule_ids(pairs_of(body)) == ["R1"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "give one or more RxCUIs"),
        ("rxcuis=", "give one or more RxCUIs"),
        ("rxcuis=2598+klonopin", "digits only"),
        ("rxcuis=2598+-7804", "digits only"),
        ("rxcuis=" + "+".join(["2598"] * 101), "at most 100"),
    ],
)
def test_an_invalid_list_is_a_400_problem_that_openemr_shows_as_a_failure(
    client: FlaskClient, session: Session, query: str, message: str
) -> None:
    before = session.scalar(select(func.count()).select_from(AlertLog))
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert message in body["detail"] and body["errors"][0]["field"] == "rxcuis"
    shown = openemr_reads(body)
    assert isinstance(shown, list) and shown[0]["description"].startswith("CHECK FAILED: ")
    assert session.scalar(select(func.count()).select_from(AlertLog)) == before


@pytest.mark.parametrize(
    ("url", "field"),
    [
        # The second drug was once dropped without a word: 2598 alone was checked.
        (f"{DRUG}?rxcui={CLONAZEPAM}&rxcui={OXYCODONE}", "rxcui"),
        (f"{LIST}?rxcuis={CLONAZEPAM}+{OXYCODONE}&age=70&age=abc", "age"),
        (f"{LIST}?rxcuis={CLONAZEPAM}&indication=panic&indication=seizures", "indication"),
    ],
)
def test_a_one_value_parameter_given_twice_is_a_400_not_half_read(
    client: FlaskClient, session: Session, url: str, field: str
) -> None:
    response = client.get(url)
    assert response.status_code == 400
    body = response.get_json()
    assert body["errors"][0]["field"] == field and "once" in body["detail"]
    assert session.scalar(select(func.count()).select_from(AlertLog)) == 0


def test_rxcuis_are_ascii_digits(client: FlaskClient) -> None:
    response = client.get(
        f"{LIST}?rxcuis=\u0662\u0665\u0669\u0668"
    )  # "2598" in Arabic-Indic digits
    assert response.status_code == 400 and "digits only" in response.get_json()["detail"]


def test_a_hundred_rxcuis_are_accepted(client: FlaskClient) -> None:
    body = interactions(client, *([CLONAZEPAM] * 99 + [OXYCODONE]))
    assert len(body["userInput"]["rxcuis"]) == 100


# --- authentication ---------------------------------------------------------------------------------

EVERY_URL = [
    f"{LIST}?rxcuis={CLONAZEPAM}+{OXYCODONE}",
    f"{DRUG}?rxcui={CLONAZEPAM}",
    f"{RXCUI}?name=clonazepam",
]


@pytest.mark.parametrize("url", EVERY_URL)
def test_the_api_key_may_be_sent_as_the_apikey_query_parameter(
    anonymous: FlaskClient, api_key: str, url: str
) -> None:
    response = anonymous.get(f"{url}&apiKey={api_key}")
    assert response.status_code == 200


@pytest.mark.parametrize("url", EVERY_URL)
@pytest.mark.parametrize("key", ["none", "wrong", "revoked", "not-a-key"])
def test_without_a_valid_key_every_url_is_a_401_problem(
    anonymous: FlaskClient, api_key: str, session: Session, url: str, key: str
) -> None:
    if key == "revoked":
        clients.revoke(session, "test-pharmacy", actor="test")
        session.commit()
    sent = {"none": None, "wrong": "ia_" + "x" * 43, "revoked": api_key, "not-a-key": "hello"}[key]
    headers = {"Authorization": f"Bearer {sent}"} if sent else {}
    for response in (
        anonymous.get(url, headers=headers),
        anonymous.get(f"{url}&apiKey={sent}") if sent else anonymous.get(url),
    ):
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "apiKey" in response.get_json()["detail"]


def test_openemr_shows_a_rejected_key_as_a_failed_check_not_as_no_interactions(
    anonymous: FlaskClient,
) -> None:
    response = anonymous.get(f"{LIST}?rxcuis={CLONAZEPAM}+{OXYCODONE}")
    assert response.status_code == 401
    shown = openemr_reads(response.get_json())
    assert isinstance(shown, list) and len(shown) == 1
    assert shown[0]["severity"] == "check failed"
    assert "API key" in shown[0]["description"] and "NOTHING was checked" in shown[0]["comment"]


# --- logging and the client's minimum severity ------------------------------------------------------


def test_every_list_answer_is_logged_with_the_rxnav_channel_and_without_the_key(
    anonymous: FlaskClient, api_key: str, session: Session
) -> None:
    body = anonymous.get(
        f"{LIST}?rxcuis={CLONAZEPAM}+{OXYCODONE}+{UNKNOWN}&apiKey={api_key}"
    ).get_json()
    row = session.get(AlertLog, body["checkId"])
    assert row is not None
    assert row.channel == "rxnav" and row.client_id is not None
    assert row.inputs == {
        "endpoint": "interaction/list.json",
        "rxcuis": [CLONAZEPAM, OXYCODONE, UNKNOWN],
        "sources": "",
    }
    assert api_key not in str(row.inputs) and api_key not in str(row.medications)
    assert row.complete is False
    assert [m["status"] for m in row.medications] == ["recognized", "recognized", "unrecognized"]
    assert [a["rule"]["id"] for a in row.alerts] == ["R1"]


@pytest.fixture()
def major_only(app: Flask, session: Session) -> FlaskClient:
    """A client whose operator set its minimum severity to major."""
    _, key = clients.create(session, "major-only", "major", actor="test")
    session.commit()
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return test_client


def test_the_clients_minimum_severity_filters_list_answers_but_the_log_keeps_all(
    major_only: FlaskClient, client: FlaskClient, session: Session
) -> None:
    everything = interactions(client, CLONAZEPAM, LAMOTRIGINE, OXYCODONE)
    assert "R14" in rule_ids(pairs_of(everything))

    body = interactions(major_only, CLONAZEPAM, LAMOTRIGINE, OXYCODONE)
    assert rule_ids(alert_pairs(body)) == ["C1", "R1"]  # both major; R14 (moderate) is hidden
    # ... and hidden is not silent: the last entry says so, where OpenEMR reads.
    shown = openemr_reads(body)
    assert isinstance(shown, list) and shown[-1]["severity"] == "not shown"
    assert shown[-1]["description"] == (
        "NOT SHOWN: 2 alerts below this client's minimum severity (major) were not shown. The "
        "alert log keeps them; ask your administrator to lower the threshold to see them."
    )
    assert body["alertsNotShown"] == "2"
    row = session.get(AlertLog, body["checkId"])
    assert row is not None and row.channel == "rxnav" and row.min_severity == "major"
    flags = {a["rule"]["id"]: a["shown"] for a in row.alerts}
    assert flags["R1"] is True and flags["R14"] is False
    assert sum(not shown for shown in flags.values()) == 2


def test_the_clients_minimum_severity_filters_drug_answers_but_the_log_keeps_all(
    major_only: FlaskClient, session: Session
) -> None:
    body = major_only.get(f"{DRUG}?rxcui={CLONAZEPAM}").get_json()
    pairs = body["interactionTypeGroup"][0]["interactionType"][0]["interactionPair"]
    *alerts, notice = pairs
    assert {p["description"].split(":")[0] for p in alerts} == {"MAJOR"}
    row = session.get(AlertLog, body["checkId"])
    assert row is not None and row.channel == "rxnav"
    assert any(a["rule"]["id"] == "R14" and not a["shown"] for a in row.alerts)
    assert len(alerts) == sum(a["shown"] for a in row.alerts)
    hidden = sum(not a["shown"] for a in row.alerts)
    assert notice["severity"] == "not shown"
    assert notice["description"].startswith(f"NOT SHOWN: {hidden} alerts below this client's")


# --- failing closed ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", EVERY_URL[:2])
def test_a_log_that_cannot_be_written_gives_503_never_an_empty_answer(
    client: FlaskClient, connection: Connection, url: str
) -> None:
    connection.execute(text("ALTER TABLE alert_log RENAME TO alert_log_unavailable"))
    response = client.get(url)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert "checkId" not in body
    if url.startswith(LIST):
        shown = openemr_reads(body)
        assert isinstance(shown, list) and shown[0]["description"].startswith("CHECK FAILED: ")
    else:
        (entry,) = body["interactionTypeGroup"][0]["interactionType"]
        assert entry["kind"] == "check-failed"
        assert entry["interactionPair"][0]["severity"] == "check failed"


@pytest.mark.parametrize("url", EVERY_URL)
def test_a_database_that_cannot_be_read_is_a_503_even_before_the_key_is_known(
    client: FlaskClient, connection: Connection, url: str
) -> None:
    connection.execute(text("ALTER TABLE api_client RENAME TO api_client_unavailable"))
    response = client.get(url)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    if url.startswith(LIST):
        shown = openemr_reads(response.get_json())
        assert isinstance(shown, list) and shown[0]["description"].startswith("CHECK FAILED: ")


@pytest.mark.parametrize("url", EVERY_URL)
def test_without_a_knowledge_base_every_url_is_a_503(
    connection: Connection, database_url: str, api_key: str, url: str
) -> None:
    connection.execute(text("DELETE FROM kb_version"))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "DATABASE": Database(connection),
            "SNAPSHOTS": SnapshotCache(),
        }
    )
    response = app.test_client().get(url, headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"


# --- interaction.json -------------------------------------------------------------------------------


def test_interaction_json_has_the_shape_of_nlms_example(client: FlaskClient) -> None:
    response = client.get(f"{DRUG}?rxcui={CLONAZEPAM_ODT_SCD}")
    assert response.status_code == 200
    body = response.get_json()
    assert_nlm_shape(body, NLM_DRUG_EXAMPLE)
    assert all(isinstance(leaf, str) for leaf in leaves(body))
    (interaction_type,) = body["interactionTypeGroup"][0]["interactionType"]
    assert interaction_type["minConceptItem"] == {
        "rxcui": CLONAZEPAM_ODT_SCD,
        "name": "clonazepam 0.5 MG Disintegrating Oral Tablet",
        "tty": "SCD",
    }
    assert interaction_type["comment"] == (
        f"clonazepam 0.5 MG Disintegrating Oral Tablet ({CLONAZEPAM_ODT_SCD}) is resolved to "
        f"clonazepam ({CLONAZEPAM})"
    )
    pairs = interaction_type["interactionPair"]
    assert all(p["interactionConcept"][0]["minConceptItem"]["name"] == "clonazepam" for p in pairs)
    partners = {p["interactionConcept"][1]["minConceptItem"]["name"]: p for p in pairs}
    assert partners["oxycodone"]["description"].startswith("MAJOR: ")
    assert partners["lamotrigine"]["severity"] == "moderate"


def test_interaction_json_lists_the_most_severe_interactions_first(client: FlaskClient) -> None:
    body = client.get(f"{DRUG}?rxcui={OXYBATE}").get_json()
    pairs = body["interactionTypeGroup"][0]["interactionType"][0]["interactionPair"]
    ranks = [rank_of(p["description"]) for p in pairs]
    assert ranks[0] == 4 and ranks == sorted(ranks, reverse=True)
    assert any(p["description"].startswith("CONTRAINDICATED: Ethanol + oxybate") for p in pairs)


def test_interaction_json_is_logged(client: FlaskClient, session: Session) -> None:
    body = client.get(f"{DRUG}?rxcui={CLONAZEPAM}").get_json()
    row = session.get(AlertLog, body["checkId"])
    assert row is not None and row.channel == "rxnav"
    assert row.inputs == {
        "endpoint": "interaction/interaction.json",
        "rxcui": CLONAZEPAM,
        "sources": "",
    }
    pairs = body["interactionTypeGroup"][0]["interactionType"][0]["interactionPair"]
    assert len(pairs) == len(row.alerts) and all(a["medications"] == [0] for a in row.alerts)


def test_interaction_json_for_a_drug_no_rule_covers_says_it_was_not_checked(
    client: FlaskClient,
) -> None:
    response = client.get(f"{DRUG}?rxcui={LISINOPRIL}")
    assert response.status_code == 200
    body = response.get_json()
    assert_nlm_shape(body, NLM_DRUG_EXAMPLE)
    (pair,) = body["interactionTypeGroup"][0]["interactionType"][0]["interactionPair"]
    assert pair["severity"] == "not checked"
    assert pair["description"].startswith("NOT CHECKED: The interactions of lisinopril were NOT")


def test_interaction_json_for_an_unknown_rxcui_is_a_404_problem_and_is_logged(
    client: FlaskClient, session: Session
) -> None:
    response = client.get(f"{DRUG}?rxcui={UNKNOWN}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert "NOT" in body["detail"] and UNKNOWN in body["detail"]
    row = session.get(AlertLog, body["check_id"])
    assert row is not None and row.complete is False and row.alerts == []


@pytest.mark.parametrize("query", ["", "rxcui=", "rxcui=clonazepam", "rxcui=2598+7804"])
def test_interaction_json_needs_one_numeric_rxcui(client: FlaskClient, query: str) -> None:
    response = client.get(f"{DRUG}?{query}")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == "rxcui"


# --- rxcui.json -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "search", "found"),
    [
        ("clonazepam", None, [CLONAZEPAM]),
        ("  CLONAZEPAM ", "0", [CLONAZEPAM]),
        ("Klonopin", "0", ["202585"]),
        (
            "acetaminophen 325 MG / oxycodone hydrochloride 5 MG Oral Tablet [Percocet]",
            "0",
            [PERCOCET_5_SBD],
        ),
        ("klonopin 2 mg tablet", "0", None),
        ("klonopin 2 mg tablet", "1", ["202585"]),
        ("klonopin 2 mg tablet", "2", ["202585"]),
        ("Oxycodone HCl 5 mg tab", "2", ["82063"]),  # the salt (PIN) its name gives
        ("no such drug", "2", None),
        ("oxycodone/acetaminophen", "2", None),  # resolves to ingredients, but has no one RxCUI
    ],
)
def test_rxcui_json_finds_rxnorm_ids_by_name(
    client: FlaskClient, name: str, search: str | None, found: list[str] | None
) -> None:
    query = {"name": name} | ({"search": search} if search else {})
    response = client.get(RXCUI, query_string=query)
    assert response.status_code == 200
    group = response.get_json()["idGroup"]
    assert group["name"] == name.strip()
    if found is None:
        assert group == {"name": name.strip()}  # NLM leaves rxnormId out when nothing matches
    else:
        assert group["rxnormId"] == found


def test_rxcui_json_lookups_are_not_logged(client: FlaskClient, session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(AlertLog))
    assert client.get(f"{RXCUI}?name=clonazepam").status_code == 200
    assert session.scalar(select(func.count()).select_from(AlertLog)) == before


@pytest.mark.parametrize(
    ("query", "field"),
    [("", "name"), ("name=", "name"), ("name=" + "x" * 201, "name"), ("name=x&search=3", "search")],
)
def test_rxcui_json_rejects_bad_parameters(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"{RXCUI}?{query}")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == field


# --- known_interactions, the pure lookup behind interaction.json ------------------------------------


def recognized(kb: KbSnapshot, rxcui: str) -> Medication:
    return recognize([MedicationInput(rxcui=rxcui)], kb)[0]


@pytest.mark.parametrize("rxcui", [CLONAZEPAM, PERCOCET_5_SBD, OXYBATE])
def test_every_known_interaction_is_what_the_check_says_for_that_pair(
    seed_kb: KbSnapshot, rxcui: str
) -> None:
    result = known_interactions(recognized(seed_kb, rxcui), seed_kb)
    assert result.alerts and result.complete
    for alert in result.alerts:
        assert alert.kind is AlertKind.INTERACTION and alert.medications == (0,)
        partner = next(i for i in alert.ingredients if i not in result.medications[0].ingredients)
        pair = recognize([MedicationInput(rxcui=rxcui), MedicationInput(text=partner)], seed_kb)
        from_check = {a.id: a for a in check(pair, seed_kb, CheckContext()).alerts}
        assert from_check[alert.id].rule == alert.rule
        assert from_check[alert.id].severity == alert.severity


def test_known_interactions_are_deterministic_and_most_severe_first(
    seed_kb: KbSnapshot,
) -> None:
    first = known_interactions(recognized(seed_kb, OXYBATE), seed_kb)
    again = known_interactions(recognized(seed_kb, OXYBATE), seed_kb)
    assert first == again
    ranks = [a.severity.rank for a in first.alerts]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] == 4
    assert len({a.id for a in first.alerts}) == len(first.alerts)


def test_known_interactions_of_an_unknown_drug_are_none_and_the_result_is_incomplete(
    seed_kb: KbSnapshot,
) -> None:
    result = known_interactions(recognized(seed_kb, UNKNOWN), seed_kb)
    assert result.alerts == () and result.complete is False


def test_known_interactions_of_a_drug_outside_the_screen_say_so(seed_kb: KbSnapshot) -> None:
    result = known_interactions(recognized(seed_kb, LISINOPRIL), seed_kb)
    assert result.alerts == () and result.outside_scope == ("lisinopril",)


def test_the_description_lists_every_other_rule_that_applies(client: FlaskClient) -> None:
    body = interactions(client, CLONAZEPAM, "8134")  # phenobarbital
    (pair,) = pairs_of(body)
    assert pair["description"].startswith("MAJOR: ")
    assert "ALSO APPLIES (MODERATE, rule R14)" in pair["description"]


@pytest.mark.parametrize(
    ("rxcui", "name", "tty"),
    [
        ("2272621", "{1 (0.1 ML) (diazepam 100 MG/ML Nasal Spray) } Pack", "GPCK"),
        (
            "2272622",
            "{1 (0.1 ML) (diazepam 100 MG/ML Nasal Spray [Valtoco]) } Pack [Valtoco 10 MG Dose Kit]",
            "BPCK",
        ),
    ],
)
def test_a_pack_rxcui_of_the_rxnorm_vocabulary_is_checked_with_its_term_type(
    client: FlaskClient, rxcui: str, name: str, tty: str
) -> None:
    body = interactions(client, rxcui, OXYCODONE)
    items = body["fullInteractionTypeGroup"][0]["fullInteractionType"]
    assert items and all(not p["description"].startswith("NOT CHECKED") for p in pairs_of(body))
    assert {"rxcui": rxcui, "name": name, "tty": tty} in items[0]["minConcept"]


def test_a_branded_drug_no_rule_mentions_is_checked_not_skipped(client: FlaskClient) -> None:
    eliquis_sbd = "1364441"  # apixaban 2.5 MG Oral Tablet [Eliquis], from the RxNorm vocabulary
    body = interactions(client, eliquis_sbd, OXYCODONE)
    kinds = [item["kind"] for item in body["fullInteractionTypeGroup"][0]["fullInteractionType"]]
    # Recognised (not "not-checked" as unknown), and said to be outside the rules' scope.
    assert kinds == ["outside-scope"]
    (pair,) = pairs_of(body)
    assert "apixaban were NOT checked" in pair["description"]
