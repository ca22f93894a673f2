"""RxNav for real clients: what OpenEMR 7.x and 5.0.x actually show for our answers.

Each test calls the door as the client does and reads the answer with the client's own reading code
(replicated in ``openemr.py``, citing the PHP files). The safety rule: neither may ever print "No
interactions found" unless the drugs were checked, every alert was shown and none was found.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from service.db import clients
from service.db.models import AlertLog, ApiClient

from .openemr import NO_INTERACTIONS, Row, openemr_5_drug_drug, openemr_7_list_action

LIST = "/REST/interaction/list.json"
CLONAZEPAM, OXYCODONE, LAMOTRIGINE, LISINOPRIL, SERTRALINE = (
    "2598",
    "7804",
    "28439",
    "29046",
    "36437",
)
UNKNOWN = "99999999"
NOTICE_SEVERITIES = {"not checked", "not shown", "check failed"}
READERS = pytest.mark.parametrize(
    "read", [openemr_7_list_action, openemr_5_drug_drug], ids=["openemr-7", "openemr-5"]
)


def _client(app: Flask, session: Session, name: str, **options: Any) -> FlaskClient:
    _, key = clients.create(session, name, options.pop("min_severity", "minor"), "test", **options)
    session.commit()
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return test_client


@pytest.fixture()
def major_only(app: Flask, session: Session) -> FlaskClient:
    return _client(app, session, "major-only", min_severity="major")


@pytest.fixture()
def drops_errors(app: Flask, session: Session) -> FlaskClient:
    """An OpenEMR 5.0.x install: its operator created it with ``--rxnav-failure-status 200``."""
    return _client(app, session, "openemr-5", rxnav_failure_status=200)


def shown_by(read: Any, client: FlaskClient, url: str) -> list[Row] | str:
    response = client.get(url)
    return read(response.status_code, response.get_data(as_text=True))  # type: ignore[no-any-return]


def as_rows(shown: list[Row] | str) -> list[Row]:
    assert isinstance(shown, list), f"OpenEMR would show {shown!r}"
    return shown


# --- success, out of scope, hidden: the same on both generations ------------------------------------


@READERS
def test_openemr_shows_an_interaction_with_its_drugs_severity_and_description(
    read: Any, client: FlaskClient
) -> None:
    (row,) = as_rows(shown_by(read, client, f"{LIST}?rxcuis={CLONAZEPAM}+{OXYCODONE}"))
    assert (row.drug1, row.drug2, row.severity) == ("clonazepam", "oxycodone", "high")
    assert row.description.startswith("MAJOR: Clonazepam + oxycodone:")
    assert "Rule R1" in row.comment


@READERS
def test_openemr_says_no_interactions_only_when_all_was_checked_and_nothing_found(
    read: Any, client: FlaskClient
) -> None:
    assert shown_by(read, client, f"{LIST}?rxcuis={CLONAZEPAM}+{SERTRALINE}") == NO_INTERACTIONS


@READERS
def test_openemr_shows_which_recognised_drugs_were_outside_the_rules_scope(
    read: Any, client: FlaskClient
) -> None:
    (row,) = as_rows(shown_by(read, client, f"{LIST}?rxcuis={CLONAZEPAM}+{LISINOPRIL}"))
    assert row.severity == "not checked"
    assert row.drug1 == "lisinopril"
    assert row.description.startswith("NOT CHECKED: The interactions of lisinopril were NOT")


@READERS
def test_openemr_shows_an_unrecognised_rxcui_as_not_checked(read: Any, client: FlaskClient) -> None:
    (row,) = as_rows(shown_by(read, client, f"{LIST}?rxcuis={CLONAZEPAM}+{UNKNOWN}"))
    assert row.severity == "not checked" and UNKNOWN in row.drug1


@READERS
def test_openemr_shows_that_alerts_below_the_clients_threshold_were_hidden(
    read: Any, major_only: FlaskClient
) -> None:
    # Clonazepam with lamotrigine is moderate only (R14): all of it hidden from a major-only client.
    (row,) = as_rows(shown_by(read, major_only, f"{LIST}?rxcuis={CLONAZEPAM}+{LAMOTRIGINE}"))
    assert row.severity == "not shown"
    assert row.description.startswith(
        "NOT SHOWN: 1 alert below this client's minimum severity (major) was not shown."
    )


@READERS
def test_no_notice_uses_the_severity_na_that_clients_read_as_no_interaction(
    read: Any, major_only: FlaskClient, anonymous: FlaskClient
) -> None:
    rows = [
        *as_rows(
            shown_by(
                read,
                major_only,
                f"{LIST}?rxcuis={CLONAZEPAM}+{LAMOTRIGINE}+{LISINOPRIL}+{UNKNOWN}",
            )
        ),
        *as_rows(openemr_7_list_action(401, anonymous.get(LIST).get_data(as_text=True))),
    ]
    assert {row.severity for row in rows} == NOTICE_SEVERITIES
    assert all(row.severity != "N/A" for row in rows)


# --- failures: OpenEMR 7.x reads the body of any status; 5.0.x needs a 200 --------------------------

FAILING_URLS = {
    "invalid list": f"{LIST}?rxcuis={CLONAZEPAM}+klonopin",
    "invalid age": f"{LIST}?rxcuis={CLONAZEPAM}+{OXYCODONE}&age=seventy",
    "unserved URL": f"/REST/interaction/sources.json?rxcuis={CLONAZEPAM}+{OXYCODONE}",
    "base URL without /REST": f"/interaction/list.json?rxcuis={CLONAZEPAM}+{OXYCODONE}",
}


@pytest.mark.parametrize("url", FAILING_URLS.values(), ids=FAILING_URLS.keys())
def test_openemr_7_shows_every_failure_as_check_failed(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (400, 404)
    (row,) = as_rows(openemr_7_list_action(response.status_code, response.get_data(as_text=True)))
    assert row.severity == "check failed" and row.description.startswith("CHECK FAILED: ")


@pytest.mark.parametrize("url", FAILING_URLS.values(), ids=FAILING_URLS.keys())
def test_openemr_5_drops_a_failure_unless_its_client_asked_for_failures_as_200(
    client: FlaskClient, drops_errors: FlaskClient, url: str
) -> None:
    # The hazard the option exists for: the same failure, as 5.0.x reads it by default.
    assert shown_by(openemr_5_drug_drug, client, url) == NO_INTERACTIONS
    response = drops_errors.get(url)
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["checkFailed"]["status"] in (400, 404)  # the status it stands for
    assert response.headers["X-Check-Failed"] == str(body["checkFailed"]["status"])
    (row,) = as_rows(openemr_5_drug_drug(200, response.get_data(as_text=True)))
    assert row.severity == "check failed" and row.description.startswith("CHECK FAILED: ")


def test_a_client_answered_200_on_failure_still_sees_real_answers_unchanged(
    drops_errors: FlaskClient, client: FlaskClient
) -> None:
    url = f"{LIST}?rxcuis={CLONAZEPAM}+{OXYCODONE}"
    ours, theirs = drops_errors.get(url).get_json(), client.get(url).get_json()
    assert "checkFailed" not in ours
    assert ours["fullInteractionTypeGroup"] == theirs["fullInteractionTypeGroup"]


def test_a_database_failure_is_answered_200_to_a_client_seen_before(
    drops_errors: FlaskClient, connection: Connection
) -> None:
    url = f"{LIST}?rxcuis={CLONAZEPAM}+{OXYCODONE}"
    assert drops_errors.get(url).status_code == 200  # seen: remembered by this process
    connection.execute(text("ALTER TABLE api_client RENAME TO api_client_unavailable"))
    response = drops_errors.get(url)
    assert response.status_code == 200
    assert response.get_json()["checkFailed"]["status"] == 503
    (row,) = as_rows(openemr_5_drug_drug(200, response.get_data(as_text=True)))
    assert row.description.startswith("CHECK FAILED: ")


def test_an_unknown_key_cannot_choose_a_status_so_it_stays_401(anonymous: FlaskClient) -> None:
    response = anonymous.get(f"{LIST}?rxcuis={CLONAZEPAM}+{OXYCODONE}&apiKey=ia_{'x' * 43}")
    assert response.status_code == 401
    (row,) = as_rows(openemr_7_list_action(401, response.get_data(as_text=True)))
    assert row.severity == "check failed"


# --- URLs we do not serve ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/REST",
        "/REST/",
        "/REST/interaction/sources.json",
        "/REST/interaction/list.xml",
        "/REST/interaction",
        "/REST/version.json",
        "/REST/approximateTerm.json?term=klonopin",
        "/REST/rxcui/2598/allrelated.json",
        "/rest/interaction/list.json?rxcuis=2598+7804",
        "/interaction/list.json?rxcuis=2598+7804",
        "/interaction/interaction.json?rxcui=2598",
        "/rxcui.json?name=klonopin",
        "/approximateTerm.json?term=klonopin",
    ],
)
def test_every_other_rxnav_url_is_a_404_that_says_check_failed_in_both_shapes(
    client: FlaskClient, anonymous: FlaskClient, path: str
) -> None:
    for caller in (client, anonymous):
        response = caller.get(path)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        body = response.get_json()
        assert body["status"] == 404 and "nothing was checked" in body["detail"]
        (row,) = as_rows(openemr_7_list_action(404, response.get_data(as_text=True)))
        assert row.severity == "check failed"
        (drug_entry,) = body["interactionTypeGroup"][0]["interactionType"]
        assert drug_entry["interactionPair"][0]["description"].startswith("CHECK FAILED: ")
    if not path.startswith("/REST/"):
        assert "/REST" in body["detail"]  # names the base URL that was meant


@pytest.mark.parametrize("path", [LIST, "/REST/interaction/interaction.json", "/REST/rxcui.json"])
def test_a_post_to_a_served_url_is_405_with_allow_and_check_failed(
    client: FlaskClient, path: str
) -> None:
    response = client.post(path, data="rxcuis=2598+7804")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    (row,) = as_rows(openemr_7_list_action(405, response.get_data(as_text=True)))
    assert row.severity == "check failed" and "POST" in row.description


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_on_a_served_url_are_the_applications_405(
    client: FlaskClient, method: str
) -> None:
    # No route takes PUT, PATCH or DELETE; the application's 405 (and its Allow) is HTTP hygiene's.
    assert client.open(LIST, method=method).status_code == 405


def test_served_urls_still_answer(client: FlaskClient) -> None:
    assert client.get(f"{LIST}?rxcuis={CLONAZEPAM}+{OXYCODONE}").status_code == 200
    assert client.head(f"{LIST}?rxcuis={CLONAZEPAM}+{OXYCODONE}").status_code == 200
    assert client.get("/openapi.json").status_code == 200  # other doors' .json URLs untouched


# --- age and indication (extensions) ----------------------------------------------------------------


def cumulative_severity(body: dict[str, Any]) -> str | None:
    entries = body.get("fullInteractionTypeGroup", [{}])[0].get("fullInteractionType", [])
    found = [e for e in entries if e["kind"] == "cumulative"]
    return found[0]["interactionPair"][0]["description"].split(":")[0] if found else None


def test_age_makes_the_beers_cumulative_alert_of_an_older_adult_major(
    client: FlaskClient, session: Session
) -> None:
    # Clonazepam, zolpidem and cyclobenzaprine: three CNS depressants (C1, moderate), and three
    # Beers CNS-active drugs, which make C1 major from 65 on.
    url = f"{LIST}?rxcuis={CLONAZEPAM}+39993+21949"
    assert cumulative_severity(client.get(url).get_json()) == "MODERATE"
    assert cumulative_severity(client.get(f"{url}&age=40").get_json()) == "MODERATE"
    body = client.get(f"{url}&age=70").get_json()
    assert cumulative_severity(body) == "MAJOR"
    row = session.get(AlertLog, body["checkId"])
    assert row is not None and row.inputs["age"] == 70


def test_the_indication_is_logged_with_the_check(client: FlaskClient, session: Session) -> None:
    body = client.get(
        f"{LIST}?rxcuis={CLONAZEPAM}+{OXYCODONE}&indication=panic%20disorder"
    ).get_json()
    row = session.get(AlertLog, body["checkId"])
    assert row is not None and row.inputs["indication"] == "panic disorder"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("age=seventy", "age"),
        ("age=-1", "age"),
        ("age=131", "age"),
        ("age=70.5", "age"),
        ("age=", "age"),
        ("age=%EF%BC%97%EF%BC%90", "age"),  # full-width digits
        ("age=9999999999999999999999", "age"),
        ("indication=", "indication"),
        ("indication=" + "x" * 201, "indication"),
        ("indication=a%00b", "indication"),
    ],
)
def test_a_bad_age_or_indication_is_a_400_check_failed_never_a_500(
    client: FlaskClient, session: Session, query: str, field: str
) -> None:
    before = session.scalar(select(func.count()).select_from(AlertLog))
    response = client.get(f"{LIST}?rxcuis={CLONAZEPAM}+{OXYCODONE}&{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["errors"][0]["field"] == field
    (row,) = as_rows(openemr_7_list_action(400, response.get_data(as_text=True)))
    assert row.severity == "check failed" and field in row.description
    assert session.scalar(select(func.count()).select_from(AlertLog)) == before


# --- the operator's option --------------------------------------------------------------------------


def test_clients_create_stores_the_rxnav_failure_status(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["clients", "create", "openemr-5-0", "--rxnav-failure-status", "200"]
    )
    assert result.exit_code == 0, result.output
    assert "RxNav failures answered 200" in result.output
    stored = session.scalars(select(ApiClient).filter_by(name="openemr-5-0")).one()
    assert stored.rxnav_failure_status == 200
    assert "RxNav failures answered 200" in runner.invoke(args=["clients", "list"]).output
    refused = runner.invoke(args=["clients", "create", "x", "--rxnav-failure-status", "302"])
    assert refused.exit_code != 0
    default = runner.invoke(args=["clients", "create", "openemr-7"])
    assert default.exit_code == 0
    assert (
        session.scalars(select(ApiClient).filter_by(name="openemr-7")).one().rxnav_failure_status
        is None
    )
