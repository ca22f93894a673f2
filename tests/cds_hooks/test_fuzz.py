"""No input makes CDS Hooks answer 5xx: hostile hook requests, feedback, tokens and headers get a
4xx OperationOutcome (or the bare 401 the spec asks for), never a 500."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from ..hostile import (
    DEEP_JSON,
    FUZZ,
    hostile_headers,
    hostile_text,
    json_body,
    json_values,
    query_strings,
)
from .conftest import ISSUER, MakeToken
from .fhir_samples import coded_request, hook_request, patient, text_request

pytestmark = pytest.mark.both_databases  # hostile text reaches SQL and JSON columns

SIGN = "/cds-services/interaction-alerts-order-sign"
SELECT = "/cds-services/interaction-alerts-order-select"
FEEDBACK = f"{SIGN}/feedback"


def assert_cds_answer(response: TestResponse) -> None:
    """Below 500; a refusal is an OperationOutcome, except 401, whose body the spec leaves empty."""
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    elif response.status_code >= 400:
        assert response.get_json()["resourceType"] == "OperationOutcome"


def test_a_token_from_a_registered_issuer_and_key_with_a_bad_signature_is_a_401(
    anonymous: FlaskClient, ehr: str, make_token: MakeToken
) -> None:
    header, payload, signature = make_token(SIGN).split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for token in (
        forged,
        f"{header}.{payload}.",
        f"{header}.{payload}.!!!",
        make_token(SIGN, key=other_key),  # kid rsa-1, signed by someone else
        make_token(SIGN, alg="ES384", kid="rsa-1"),  # the RSA key's id on an EC signature
        make_token(SIGN, alg="RS384", kid="ec-1"),
    ):
        body = hook_request("order-sign", drafts=[text_request("a", "clonazepam")])
        response = anonymous.post(SIGN, json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert_cds_answer(response)


@FUZZ
@given(
    issuer=st.one_of(st.just(ISSUER), hostile_text),
    kid=st.one_of(st.sampled_from(["rsa-1", "ec-1"]), hostile_text),
    jti=st.one_of(hostile_text, json_values),
    alg=st.sampled_from(["RS384", "RS256", "PS256"]),  # the RSA key's; mismatches are tested above
)
@example(issuer=ISSUER + "\x00", kid="rsa-1", jti="j", alg="RS384")
@example(issuer=ISSUER, kid="rsa-1\x00", jti="j", alg="RS384")
@example(issuer=ISSUER, kid="rsa-1", jti="\x00" * 5, alg="RS384")
@example(issuer=ISSUER, kid="rsa-1", jti="j" * 5000, alg="RS384")
def test_no_token_claims_give_a_5xx(
    anonymous: FlaskClient,
    ehr: str,
    rsa_key: rsa.RSAPrivateKey,
    issuer: str,
    kid: str,
    jti: Any,
    alg: str,
) -> None:
    claims = {"iss": issuer, "aud": f"http://localhost{SIGN}", "iat": 1, "exp": 2, "jti": jti}
    for lifetime in ((1, 2), (None, None)):
        if lifetime[0] is None:  # a current token, so every claim is read
            now = int(time.time())
            claims |= {"iat": now, "exp": now + 60}
        token = jwt.encode(claims, rsa_key, algorithm=alg, headers={"kid": kid})
        body = hook_request("order-sign", drafts=[text_request("a", "clonazepam")])
        response = anonymous.post(SIGN, json=body, headers={"Authorization": f"Bearer {token}"})
        assert_cds_answer(response)


@pytest.mark.parametrize("raw", DEEP_JSON, ids=["nested-list", "bare-list", "nested-object"])
@pytest.mark.parametrize("path", [SIGN, FEEDBACK])
def test_deeply_nested_json_is_a_400(client: FlaskClient, path: str, raw: bytes) -> None:
    response = client.post(path, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert_cds_answer(response)


resources = st.one_of(
    st.builds(text_request, hostile_text, hostile_text, hostile_text),
    st.builds(coded_request, hostile_text, hostile_text, hostile_text),
    st.dictionaries(hostile_text, json_values, max_size=4),
    json_values,
)


@st.composite
def hook_requests(draw: st.DrawFn) -> Any:
    body = hook_request("order-sign", drafts=[text_request("a", "clonazepam")])
    body["context"]["draftOrders"]["entry"] += [
        {"resource": r} for r in draw(st.lists(resources, max_size=3))
    ]
    body["prefetch"]["activeMedications"]["entry"] = [
        {"resource": r} for r in draw(st.lists(resources, max_size=3))
    ]
    birth = draw(st.one_of(hostile_text, st.just("1950-03-01"), json_values))
    body["prefetch"]["patient"] = draw(st.sampled_from([patient(birth), {"birthDate": birth}]))
    for field in draw(
        st.lists(st.sampled_from(["hook", "hookInstance", "fhirServer"]), max_size=2)
    ):
        body[field] = draw(json_values)
    if draw(st.booleans()):
        body["context"]["patientId"] = draw(hostile_text)
    return draw(st.one_of(st.just(body), json_values)) if draw(st.booleans()) else body


@FUZZ
@given(body=hook_requests(), service=st.sampled_from([SIGN, SELECT]))
@example(body={"prefetch": {"patient": {"birthDate": "99999-01-01"}}}, service=SIGN)
def test_no_hook_request_gives_a_5xx(client: FlaskClient, body: Any, service: str) -> None:
    response = client.post(service, data=json_body(body), content_type="application/json")
    assert_cds_answer(response)


@pytest.mark.parametrize(
    "birth",
    [
        "99999-01-01",
        "1950-²-01",
        "\uff11\uff19\uff15\uff10-01-01",
        "0000-01-01",
        "1950-00-00",
        "-1950",
    ],
)
def test_an_unreadable_birth_date_is_answered_with_cards(client: FlaskClient, birth: str) -> None:
    body = hook_request("order-sign", drafts=[text_request("a", "clonazepam")])
    body["prefetch"]["patient"] = patient(birth)
    response = client.post(SIGN, json=body)
    assert_cds_answer(response)


feedback_items = st.fixed_dictionaries(
    {"card": st.one_of(st.uuids().map(str), hostile_text), "outcome": hostile_text},
    optional={
        "outcomeTimestamp": st.one_of(
            st.sampled_from(["2026-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00"]), hostile_text
        ),
        "acceptedSuggestions": json_values,
        "overrideReason": json_values,
    },
)


@FUZZ
@given(body=st.one_of(st.fixed_dictionaries({"feedback": st.lists(feedback_items)}), json_values))
@example(body={"feedback": [{"card": "\x00", "outcome": "accepted", "outcomeTimestamp": "x"}]})
@example(
    body={
        "feedback": [
            {
                "card": "a" * 300,
                "outcome": "overridden",
                "outcomeTimestamp": "0001-01-01T00:00:00-14:00",
            }
        ]
    }
)
def test_no_feedback_gives_a_5xx(client: FlaskClient, body: Any) -> None:
    response = client.post(FEEDBACK, data=json_body(body), content_type="application/json")
    assert_cds_answer(response)


@FUZZ
@given(
    path=st.sampled_from(["/cds-services", "/cds-services/", "/cds-services/nope", SIGN]),
    query=query_strings(("hook", "patientId")),
    headers=hostile_headers,
    method=st.sampled_from(["GET", "POST", "PUT", "OPTIONS"]),
)
def test_no_discovery_or_method_request_gives_a_5xx(
    anonymous: FlaskClient, path: str, query: str, headers: dict[str, str], method: str
) -> None:
    assert_cds_answer(anonymous.open(f"{path}?{query}", method=method, headers=headers))


def test_more_medications_than_any_patient_has_is_a_400_too_costly(client: FlaskClient) -> None:
    drafts = [text_request(f"d{i}", "clonazepam") for i in range(500)]
    active = [text_request(f"a{i}", "oxycodone", status="active") for i in range(501)]
    response = client.post(SIGN, json=hook_request("order-sign", drafts=drafts, active=active))
    assert response.status_code == 400
    assert response.get_json()["issue"][0]["code"] == "too-costly"
    at_the_limit = hook_request("order-sign", drafts=drafts, active=active[:500])
    assert client.post(SIGN, json=at_the_limit).status_code == 200
